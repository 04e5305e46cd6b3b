"""`archops tags plan|apply|show`: the project's tags on what the account holds.

    archops tags plan --project acme [--vpc ID ...] [--name-pattern RE] [--select ID ...]
    archops tags plan --regions R1,R2 --key Project --value acme ...      (no project: scans now)
    archops tags apply PLAN_ID           a dry run: what would change, recorded (always first)
    archops tags apply PLAN_ID --yes     approve it as the installation's owner, and tag
    archops tags show PLAN_ID            the plan, its dry run, approval and every apply's audit

Plans, dry runs, approvals and applications are recorded in the system of record. Exit status
0 when every resource was tagged (or would be), 1 when some failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from cli.scan import PRINCIPAL, add_aws_arguments, aws_options, regions_of
from core.errors import ValidationError
from core.settings import Settings

HELP = "find resources missing the project's tag, plan the tagging, dry-run it, apply it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    plan = sub.add_parser("plan", help="propose a tag plan from the project's last scan (changes nothing)")
    plan.add_argument("--project", default=None, help="the project: its tag policy, regions, role, last scan")
    plan.add_argument("--regions", default=None, help="comma-separated (without a project: scanned now)")
    plan.add_argument("--key", default=None, help="the tag key (default: the project's tag policy)")
    plan.add_argument("--value", default=None)
    plan.add_argument("--vpc", action="append", default=None, help="tag what sits in this VPC (repeatable)")
    plan.add_argument("--name-pattern", default=None, help="tag what is named like this regular expression")
    plan.add_argument("--select", action="append", default=None, help="tag this id or ARN (repeatable)")
    plan.add_argument("--scan", default=None, help="plan from this scan (default: the project's last)")
    plan.add_argument("--out", default=None, help="also write the plan as JSON to this file")
    add_aws_arguments(plan)
    apply = sub.add_parser("apply", help="dry-run a plan, or approve and apply it with --yes")
    apply.add_argument("plan", help="a plan id printed by `archops tags plan`")
    apply.add_argument("--yes", action="store_true", help="approve and apply (after its dry run)")
    add_aws_arguments(apply)
    show = sub.add_parser("show", help="a plan and its audit trail")
    show.add_argument("plan")


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from core.store.store import Store

    store = await Store.open(settings.effective_database_url)
    try:
        if args.action == "plan":
            return await _plan(store, args, settings)
        if args.action == "apply":
            return await _apply(store, args)
        return await _show(store, args)
    finally:
        await store.close()


async def _plan(store: object, args: argparse.Namespace, settings: Settings) -> int:
    from scanner.inventory import Scanner
    from scanner.service import plan_project_tags, plan_text

    inventory = None
    if args.project is None:
        regions = regions_of(args)
        if not regions or not (args.key and args.value):
            raise ValidationError("without a project, give --regions, --key and --value")
        options = {**aws_options(args), "role_arn": args.role_arn}
        inventory = await asyncio.to_thread(lambda: Scanner(regions, **options).scan())
    plan = await plan_project_tags(
        store, args.project, principal=PRINCIPAL, source="cli", data_dir=settings.data_dir, key=args.key,
        value=args.value, vpcs=args.vpc, name_pattern=args.name_pattern, select=args.select,
        scan_id=args.scan, inventory=inventory, **aws_options(args))
    print(plan_text(plan, limit=1000))
    print(f"dry-run it: archops tags apply {plan.id}")
    if inventory is not None and inventory.partial:
        print("PARTIAL scan: " + "; ".join(m.text for m in inventory.missing))
    if args.out:
        text = json.dumps({"id": plan.id, "key": plan.key, "value": plan.value, "changes": plan.changes}, indent=2)
        await asyncio.to_thread(Path(args.out).write_text, text + "\n")
    return 0


async def _apply(store: object, args: argparse.Namespace) -> int:
    from scanner.service import application_text, apply_project_tags, approve_tags, dry_run_tags

    options = {**aws_options(args), **({"role_arn": args.role_arn} if args.role_arn else {})}
    if not args.yes:
        plan = await dry_run_tags(store, args.plan, principal=PRINCIPAL, source="cli")
        for o in (plan.dry_run or {}).get("outcomes", []):
            print(f"  would tag {o['id']:<40} {o['region']:<12} {_tags(o['before'])} -> {_tags(o['after'])}")
        print(f"dry run: {len(plan.changes)} of {len(plan.changes)} would be tagged {plan.key}={plan.value}; "
              f"apply with: archops tags apply {plan.id} --yes")
        return 0
    plan = await approve_tags(store, args.plan, principal=PRINCIPAL, source="cli")
    app = await apply_project_tags(store, plan.id, principal=PRINCIPAL, source="cli", **options)
    for o in app.outcomes:
        print(f"  {o['status']:<9} {o['id']:<40} {o['via'] or ''} {o['error'] or ''}".rstrip())
    print(application_text(app, limit=0))
    print(f"audit record: {app.id} (archops tags show {plan.id})")
    return 1 if any(o["status"] == "failed" for o in app.outcomes) else 0


async def _show(store: object, args: argparse.Namespace) -> int:
    from scanner.service import get_tag_plan, plan_text, tag_applications

    plan = await get_tag_plan(store, args.plan, principal=PRINCIPAL)
    print(plan_text(plan, limit=1000))
    if plan.dry_run_at:
        print(f"dry run by {plan.dry_run_by} at {plan.dry_run_at:%Y-%m-%d %H:%M:%S} UTC")
    if plan.approved_at:
        print(f"approved by {plan.approved_by} via {plan.approved_via} at {plan.approved_at:%Y-%m-%d %H:%M:%S} UTC")
    for app in await tag_applications(store, plan.id, principal=PRINCIPAL):
        print(f"applied by {app.applied_by} via {app.source} at {app.created_at:%Y-%m-%d %H:%M:%S} UTC: {app.status}")
        for o in app.outcomes:
            print(f"  {o['status']:<7} {o['id']:<40} {_tags(o['before'])} -> {_tags(o['after'])} {o['via']}")
    return 0


def _tags(tags: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) + "}"
