"""`archops project create|set|show`: projects in the system of record (as the CLI's owner).

    archops project create shop --name Shop --account 123456789012 \\
        --role-arn arn:aws:iam::123456789012:role/archops --regions eu-west-1,us-east-1 \\
        --repository acme/infra --path infra --tag-key Project --tag-value shop \\
        --channel C0123 --approvers U01,U02
    archops project set shop --regions eu-west-1
    archops project show [shop] [--json]

A wrong field is refused with its reason (all of them at once) and nothing is saved; exit 65.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from core.settings import Settings

HELP = "create, change and show projects (AWS account, regions, repository, tag, approvers)"
FLAGS = {  # flag -> the project's field
    "name": "name", "channel": "slack_channel", "account": "aws_account_id",
    "role_arn": "aws_role_arn", "regions": "aws_regions", "repository": "repository",
    "path": "path", "tag_key": "tag_key", "tag_value": "tag_value", "approvers": "approvers",
}


def _fields(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="what people call it")
    parser.add_argument("--channel", help="the Slack channel (id) whose messages are about it")
    parser.add_argument("--account", help="the AWS account id (12 digits)")
    parser.add_argument("--role-arn", help="the IAM role archops assumes in that account")
    parser.add_argument("--regions", help="comma-separated AWS regions")
    parser.add_argument("--repository", help="owner/name on GitHub ('' for the project's own "
                                             "local repository in the data folder)")
    parser.add_argument("--path", help="the module's folder in the repository (default infra)")
    parser.add_argument("--tag-key", help="the tag that marks the project's resources")
    parser.add_argument("--tag-value")
    parser.add_argument("--approvers", help="comma-separated Slack user ids")
    parser.add_argument("--json", action="store_true", help="print the project as JSON")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a project")
    create.add_argument("id", help="letters, digits, '.', '_' or '-'")
    _fields(create)
    change = sub.add_parser("set", help="change fields of a project")
    change.add_argument("id")
    _fields(change)
    show = sub.add_parser("show", help="show a project (or list them)")
    show.add_argument("id", nargs="?")
    show.add_argument("--json", action="store_true")


def _print(view: dict[str, Any]) -> None:
    tag = f"{view['tag_key']}={view['tag_value']}" if view.get("tag_key") else "-"
    where = view["repository"] or f"local: git clone {view['clone_url']}"
    rows = [("project", f"{view['id']} ({view['name']})"),
            ("Slack channel", view["slack_channel"] or "-"),
            ("AWS account", view["aws_account_id"] or "-"), ("role", view["aws_role_arn"] or "-"),
            ("regions", ", ".join(view["aws_regions"]) or "-"),
            ("repository", f"{where}, folder {view['path'] or '/'}"), ("tag", tag),
            ("approvers", ", ".join(view["approvers"]) or "-")]
    for label, value in rows:
        print(f"{label:<14} {value}")


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from core.codehost.hosts import Hosts
    from core.projects import OWNER, ProjectInvalid, Projects
    from core.store import Store

    store = await Store.open(settings.effective_database_url)
    try:
        projects = Projects(store, Hosts(settings, store))
        if args.action == "show":
            found = [await projects.get(args.id)] if args.id else await projects.list()
            views = [projects.view(p) for p in found]
            if args.json:
                print(json.dumps(views[0] if args.id else views, indent=2))
            elif not views:
                print("no project yet: archops project create ID ...")
            for i, view in enumerate([] if args.json else views):
                if i:
                    print()
                _print(view)
            return 0
        given = {FLAGS[k]: v for k, v in vars(args).items() if k in FLAGS and v is not None}
        try:
            if args.action == "create":
                project = await projects.create(args.id, given, OWNER)
            else:
                project = await projects.update(args.id, given, OWNER)
        except ProjectInvalid as exc:
            print(f"archops: project {args.id!r} was not saved:", file=sys.stderr)
            flags = {field: "--" + flag.replace("_", "-") for flag, field in FLAGS.items()}
            for name, reason in exc.errors.items():
                print(f"  {flags.get(name, name)}: {reason}", file=sys.stderr)
            return exc.exit_code
        view = projects.view(project)
        if args.json:
            print(json.dumps(view, indent=2))
        else:
            print(f"project {project.id} {'created' if args.action == 'create' else 'saved'}")
            _print(view)
        return 0
    finally:
        await store.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))
