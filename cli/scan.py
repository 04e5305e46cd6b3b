"""`archops scan --regions R1,R2 --out DIR`: an AWS account as Terraform with import blocks.

Writes the module (with imports.tf and a README), inventory.json and diagram.json into DIR,
records the scan in the system of record and prints a summary. With ``--project`` the project's
record gives the regions, the role (and its external id); a scan of it that was interrupted or
partial resumes from its checkpoint (``--fresh`` starts over). Credentials and endpoints are
the AWS SDK's (profiles, AWS_ENDPOINT_URL...). Exit status 0 when the account was read whole and
the module passed the review, 1 when the review failed, 3 when part of the account could not be
read (the summary names the permissions).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from core.settings import Settings

HELP = "scan an AWS account into Terraform (import blocks), inventory.json and diagram.json"
PRINCIPAL = "local"  # the CLI acts as the installation's owner (as its token does on the web)


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", default=None,
                        help="an AWS-compatible endpoint (else the SDK's: AWS_ENDPOINT_URL...)")
    parser.add_argument("--profile", default=None, help="an AWS profile (else the SDK's default chain)")
    parser.add_argument("--role-arn", default=None, help="a role to assume through STS (default: the project's)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--regions", default=None,
                        help="comma-separated regions, e.g. us-east-1,eu-west-1 (default: the project's)")
    parser.add_argument("--project", default=None,
                        help="a project of the system of record: its regions and role are scanned")
    parser.add_argument("--out", required=True, help="the directory to write the module into")
    add_aws_arguments(parser)
    parser.add_argument("--checkpoint", default=None,
                        help="a file that keeps what was read: a second run resumes an interrupted scan "
                             "(a project's scans keep theirs in the data folder)")
    parser.add_argument("--fresh", action="store_true", help="do not resume the project's interrupted scan")
    parser.add_argument("--no-review", action="store_true", help="write the module without reviewing it")
    parser.add_argument("--sequential", action="store_true", help="one API call at a time")


def regions_of(args: argparse.Namespace) -> list[str] | None:
    return [r.strip() for r in (args.regions or "").split(",") if r.strip()] or None


def aws_options(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in {"endpoint_url": args.endpoint_url, "profile": args.profile}.items() if v}


def run(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from core.store.store import Store
    from scanner.adopt import summary
    from scanner.service import scan_project

    store = await Store.open(settings.effective_database_url)
    try:
        options = aws_options(args)
        if args.checkpoint:
            options["checkpoint"] = args.checkpoint
        outcome = await scan_project(
            store, args.project, principal=PRINCIPAL, source="cli", data_dir=settings.data_dir,
            regions=regions_of(args), role_arn=args.role_arn, out_dir=args.out, review=not args.no_review,
            resume=not args.fresh, concurrent=not args.sequential, **options)
    finally:
        await store.close()
    assert outcome.result is not None
    sys.stdout.write(summary(outcome.result) + "\n")
    sys.stdout.write(f"recorded as {outcome.scan.id}" + (" (resumed from its checkpoint)" if outcome.resumed
                                                        else "") + "\n")
    if outcome.result.passed is False:
        return 1
    return 3 if outcome.result.inventory.partial else 0
