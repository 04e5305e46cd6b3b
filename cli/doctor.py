"""`archops doctor`: tell the user what is configured, what is missing and how to fix it."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from core.doctor import Report, run_checks, scrub, secret_values
from core.settings import Settings

HELP = "check settings, database, Redis and integrations; say how to fix what is missing"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when `archops up` can run (optional integrations may be absent), 1 otherwise."""
    report = run_checks(settings)
    text = render_json(report) if args.json else render_text(report)
    print(scrub(text, secret_values(settings)))
    return 0 if report.ok else 1


def render_text(report: Report) -> str:
    marks = {"ok": "ok     ", "missing": "missing", "error": "error  "}
    lines = []
    for check in report.checks:
        need = " (required)" if check.required and check.status != "ok" else ""
        lines.append(f"{marks[check.status]}  {check.name:<12} {check.detail}{need}")
        if check.fix and check.status != "ok":
            lines.append(f"{'':9}  {'':<12} fix: {check.fix}")
    lines.append("")
    lines.append(
        "archops up can run."
        if report.ok
        else "archops up cannot run until the required items are fixed."
    )
    return "\n".join(lines)


def render_json(report: Report) -> str:
    return json.dumps(
        {"ok": report.ok, "checks": [asdict(c) for c in report.checks]}, indent=2, default=str
    )
