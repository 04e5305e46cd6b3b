"""`archops tags plan|apply`: the project's tags on what the account holds.

    archops tags plan --regions R1,R2 --key Project --value acme [--vpc ID ...] [--name-pattern RE]
                      [--select ID ...] --out plan.json
    archops tags apply plan.json --approved-by NAME            (a dry run: what would change)
    archops tags apply plan.json --approved-by NAME --yes      (tags, and writes the audit record)

Exit status 0 when every resource was tagged (or would be), 1 when some failed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.errors import ValidationError
from core.settings import Settings

HELP = "find resources missing the project's tag, plan the tagging, dry-run it, apply it"


def _aws(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", default=None, help="an AWS-compatible endpoint (else the SDK's)")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--role-arn", default=None, help="the project's role, assumed through STS")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    plan = sub.add_parser("plan", help="scan and propose a tag plan (changes nothing)")
    plan.add_argument("--regions", default=None, help="comma-separated (default: the project's)")
    plan.add_argument("--project", default=None, help="take regions, role and tag from the project's record")
    plan.add_argument("--key", default=None, help="the tag key (default: the project's tag policy)")
    plan.add_argument("--value", default=None)
    plan.add_argument("--vpc", action="append", default=None, help="tag what sits in this VPC (repeatable)")
    plan.add_argument("--name-pattern", default=None, help="tag what is named like this regular expression")
    plan.add_argument("--select", action="append", default=None, help="tag this id or ARN (repeatable)")
    plan.add_argument("--out", required=True, help="the plan file to write (JSON)")
    _aws(plan)
    apply = sub.add_parser("apply", help="dry-run a plan, or apply it with --yes")
    apply.add_argument("plan", help="a plan file written by `archops tags plan`")
    apply.add_argument("--approved-by", required=True, help="who approved the plan (kept in the audit record)")
    apply.add_argument("--yes", action="store_true", help="apply (without it: a dry run)")
    apply.add_argument("--audit", default=None, help="where to write the audit record (JSON)")
    _aws(apply)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from scanner.inventory import Scanner
    from scanner.tags import TagPlan, apply_tags, plan_tags

    options = {"endpoint_url": args.endpoint_url, "profile": args.profile, "role_arn": args.role_arn}
    if args.action == "plan":
        from cli.scan import scope

        regions, options["role_arn"] = scope(args, settings)
        if args.project and not (args.key and args.value):
            import asyncio

            from scanner.service import load_project

            tag = asyncio.run(load_project(settings.effective_database_url, args.project)).tag
            if tag:
                args.key, args.value = args.key or tag[0], args.value or tag[1]
        if not (args.key and args.value):
            raise ValidationError("no tag to plan", hint="pass --key and --value, or --project with a tag policy")
        inventory = Scanner(regions, **options).scan()
        plan = plan_tags(inventory, args.key, args.value, vpcs=args.vpc, name_pattern=args.name_pattern,
                         select=args.select)
        Path(args.out).write_text(plan.model_dump_json(indent=2) + "\n")
        print(f"{len(plan.changes)} resource(s) to tag {args.key}={args.value} "
              f"({plan.already} carry it already); plan written to {args.out}")
        for c in plan.changes:
            print(f"  {c.kind:<18} {c.id:<40} {c.region:<12} {c.reason}")
        if inventory.partial:
            print("PARTIAL scan: " + "; ".join(m.text for m in inventory.missing))
        return 0
    plan = TagPlan.model_validate_json(Path(args.plan).read_text())
    regions = sorted({c.region for c in plan.changes if c.region != "global"}) or ["us-east-1"]
    report = apply_tags(plan, Scanner(regions, **options), dry_run=not args.yes, approved_by=args.approved_by)
    for o in report.outcomes:
        print(f"  {o.status:<9} {o.id:<40} {o.via or ''} {o.error}".rstrip())
    print(f"{'dry run: ' if report.dry_run else ''}{report.count('would tag') + report.count('tagged')} "
          f"of {len(report.outcomes)} {'would be ' if report.dry_run else ''}tagged, {report.count('failed')} failed")
    if not report.dry_run:
        audit = Path(args.audit or Path(args.plan).with_suffix(".audit.json"))
        audit.write_text(json.dumps(report.audit, indent=2) + "\n")
        print(f"audit record: {audit}")
    return 1 if report.count("failed") else 0
