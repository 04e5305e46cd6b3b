"""`archops scan --regions R1,R2 --out DIR`: an AWS account as Terraform with import blocks.

Writes the module (with imports.tf and a README), inventory.json and diagram.json into DIR and
prints a summary. Credentials and endpoints are the AWS SDK's (profiles, AWS_ENDPOINT_URL...).
Exit status 0 when the account was read whole and the module passed the review, 1 when the review
failed, 3 when part of the account could not be read (the summary names the permissions).
"""

from __future__ import annotations

import argparse
import sys

from core.errors import ValidationError
from core.settings import Settings

HELP = "scan an AWS account into Terraform (import blocks), inventory.json and diagram.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--regions", default=None,
                        help="comma-separated regions, e.g. us-east-1,eu-west-1 (default: the project's)")
    parser.add_argument("--project", default=None,
                        help="a project of the system of record: its regions and role are scanned")
    parser.add_argument("--out", required=True, help="the directory to write the module into")
    parser.add_argument("--endpoint-url", default=None,
                        help="an AWS-compatible endpoint (else the SDK's: AWS_ENDPOINT_URL...)")
    parser.add_argument("--profile", default=None, help="an AWS profile (else the SDK's default chain)")
    parser.add_argument("--role-arn", default=None, help="the project's role, assumed through STS")
    parser.add_argument("--checkpoint", default=None,
                        help="a file that keeps what was read: a second run resumes an interrupted scan")
    parser.add_argument("--no-review", action="store_true", help="write the module without reviewing it")
    parser.add_argument("--sequential", action="store_true", help="one API call at a time")


def scope(args: argparse.Namespace, settings: Settings) -> tuple[list[str], str | None]:
    """Regions and role: the flags, else the project's record."""
    regions = [r.strip() for r in (args.regions or "").split(",") if r.strip()]
    role = args.role_arn
    if args.project:
        import asyncio

        from scanner.service import load_project

        project = asyncio.run(load_project(settings.effective_database_url, args.project))
        regions = regions or project.regions
        role = role or project.role_arn
    if not regions:
        raise ValidationError("no region to scan", hint="pass --regions, or --project with regions in its record")
    return regions, role


def run(args: argparse.Namespace, settings: Settings) -> int:
    from scanner.service import scan_to_dir, summary

    regions, role = scope(args, settings)
    result = scan_to_dir(regions, args.out, review=not args.no_review, endpoint_url=args.endpoint_url,
                         profile=args.profile, role_arn=role, checkpoint=args.checkpoint, concurrent=not args.sequential)
    sys.stdout.write(summary(result) + "\n")
    if result.passed is False:
        return 1
    return 3 if result.inventory.partial else 0
