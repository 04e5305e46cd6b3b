"""`archops validate DIR`: the whole review of any Terraform root module.

Exit status 0 only for a clean module (written skips aside), 1 when a check fails, 4 for a
missing directory, 65 for files that cannot be reviewed (over the size limits, not UTF-8, a link
out of the directory, not a regular file: core.terraform.source) and for unknown checks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.errors import ValidationError
from core.settings import Settings

HELP = "review a Terraform directory: parser, AWS schema, references, policy, checkov, cost"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", help="the Terraform root module to review")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument("--checks", default="",
                        help="comma-separated subset of parse,schema,references,policy,checkov,cost")
    parser.add_argument("--skip", default="", help="comma-separated checks to leave out (e.g. checkov)")
    parser.add_argument("--fix", action="store_true",
                        help="apply archops' deterministic repairs in place (bounded rounds)")
    parser.add_argument("--strict", action="store_true",
                        help="also fail the checkov checks archops waives by default (with reasons)")
    parser.add_argument("--output", "-o", help="write the report to this file instead of stdout")


def _checks(args: argparse.Namespace) -> set[str] | None:
    from core.terraform.review import CHECKS

    wanted = {c.strip() for c in args.checks.split(",") if c.strip()} or set(CHECKS)
    wanted -= {c.strip() for c in args.skip.split(",") if c.strip()}
    unknown = wanted - set(CHECKS)
    if unknown:
        raise ValidationError(f"unknown check(s): {', '.join(sorted(unknown))}",
                              hint=f"choose from {', '.join(CHECKS)}")
    return wanted


def _child_findings(tree: dict[str, dict[str, str]], checks: set[str] | None) -> list[Any]:
    """Local modules the root calls: Terraform runs them too, so each is parsed and checked for
    execution and exfiltration constructs (the rest of the review is the root module's)."""
    from core.terraform.policy import EXEC_RULES
    from core.terraform.review import review_module

    wanted = {"parse", "policy"} & (checks if checks is not None else {"parse", "policy"})
    exec_ids = {rule.id for rule in EXEC_RULES}
    out: list[Any] = []
    for rel, child in sorted(tree.items()):
        if not rel or not wanted:
            continue
        review = review_module(child, wanted | {"parse"})
        for finding in review.findings:
            if finding.check_id not in exec_ids and not finding.check_id.startswith("terraform_"):
                continue
            if finding.check_id == "ARCHOPS_MODULE_SOURCE" and _stays_inside(rel, child, finding):
                continue  # ../sibling from modules/a is still inside the directory
            out.append(finding.model_copy(update={"file": f"{rel}/{finding.file}" if finding.file else rel}))
    return out


def _stays_inside(rel: str, files: dict[str, str], finding: Any) -> bool:
    import os.path
    import re

    lines = files.get(finding.file, "").splitlines()
    line = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
    match = re.search(r'\bsource\s*=\s*"(\.\.?/[^"]*)"', line)
    if not match:
        return False
    target = os.path.normpath(os.path.join(rel, match.group(1)))
    return target != ".." and not target.startswith("../")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from core.terraform.findings import SEVERITIES
    from core.terraform.policy_exec import Allowances, allowing
    from core.terraform.report import render_json, render_sarif, render_text
    from core.terraform.review import fix_until_clean, review_module
    from core.terraform.source import read_module_tree

    checks = _checks(args)
    directory = Path(args.directory)
    tree = read_module_tree(directory, max_file_bytes=settings.validate_max_file_bytes,
                            max_total_bytes=settings.validate_max_total_bytes)
    files = tree[""]
    fixed: list[str] = []
    with allowing(Allowances.from_settings(settings)):
        if args.fix:
            new_files, review, fixed = fix_until_clean(files, checks=checks, strict=args.strict)
            for name, text in new_files.items():
                if files.get(name) != text:
                    (directory / name).write_text(text, encoding="utf-8")
        else:
            review = review_module(files, checks, strict=args.strict)
        review.findings += _child_findings(tree, checks)
    review.findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.file, f.line))
    if args.format == "json":
        report = render_json(review)
    elif args.format == "sarif":
        report = render_sarif(review, base=f"{args.directory.rstrip('/')}/")
    else:
        lines = [f"fixed: {what}" for what in fixed]
        report = "\n".join(lines + [render_text(review, f"archops review of {directory}")])
    if args.output:
        Path(args.output).write_text(report + "\n")
    else:
        sys.stdout.write(report + "\n")
    return 0 if review.passed else 1
