"""`archops doctor`: tell the user what is configured, what is missing and how to fix it."""

from __future__ import annotations

import argparse

from core.settings import Settings

HELP = "check settings, database, Redis and integrations; say how to fix what is missing"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when `archops up` can run (optional integrations may be absent), 1 otherwise."""
    from core.doctor import render_json, render_text, run_checks, scrub, secret_values

    report = run_checks(settings)
    text = render_json(report) if args.json else render_text(report)
    print(scrub(text, secret_values(settings)))
    return 0 if report.ok else 1
