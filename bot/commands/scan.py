"""`/archops scan [regions]`: the project's AWS account as Terraform with import blocks.

The scan runs after the answer (it takes a while); its summary, findings and the module as a
zip follow in a thread of their own in the channel.
"""

from __future__ import annotations

import re

from bot import limits, messages
from bot.commands.base import Command, Reply, Request
from bot.hooks import ScanReport, Scope
from bot.uploads import module_zip
from core.errors import ArchopsError
from core.logging import get_logger

log = get_logger("archops.bot.scan")


async def scope_of(request: Request, args: str) -> Scope:
    """The regions the command names, else the channel's project's; its role and tag."""
    regions = [r for r in re.split(r"[,\s]+", args) if r]
    project = None
    if request.deps.projects is not None:
        project = await request.deps.projects.of_channel(request.channel)
    tag = getattr(project, "tag", None) if project is not None else None
    return Scope(regions=regions or list(getattr(project, "aws_regions", None) or []),
                 role_arn=getattr(project, "aws_role_arn", None),
                 account_id=getattr(project, "aws_account_id", None),
                 project_id=getattr(project, "id", None), tag=tag)


async def post_report(request: Request, title: str, report: ScanReport) -> None:
    client = request.deps.client
    root = await client.chat_postMessage(channel=request.channel, text=title, unfurl_links=False)
    body = limits.cut(report.summary, limits.SECTION_TEXT - 8)
    await client.chat_postMessage(channel=request.channel, thread_ts=root["ts"],
                                  text=title, blocks=[{"type": "section", "text": {
                                      "type": "mrkdwn", "text": f"```\n{body}\n```"}}])
    if report.files:
        name = "archops-scan.zip"
        await client.files_upload_v2(channel=request.channel, thread_ts=root["ts"],
                                     file=module_zip(report.files, "archops-scan"),
                                     filename=name, title=name,
                                     initial_comment="The account as Terraform, with import blocks")


async def scan_and_post(request: Request, scope: Scope) -> None:
    hook = request.deps.hooks.scan
    assert hook is not None
    title = f"Scan of {', '.join(scope.regions)} for <@{request.user}>"
    try:
        report = await hook(scope)
    except ArchopsError as exc:
        report = ScanReport(summary=f"The scan failed: {messages.reason_of(exc)}")
    except Exception as exc:  # logged; the person is told in the thread
        log.exception("scan failed", error=repr(exc))
        report = ScanReport(summary="The scan failed on archops' side (it is logged).")
    await post_report(request, title, report)


async def run(request: Request) -> Reply:
    deps = request.deps
    if deps.hooks.scan is None:
        return Reply(messages.SCAN_UNAVAILABLE)
    decision = await deps.access.may_manage(request.user, request.team, request.channel)
    if not decision.allowed:
        return Reply(messages.ONLY_APPROVERS.format(who=decision.who, what="scan this project's account"))
    scope = await scope_of(request, request.args)
    if not scope.regions:
        return Reply(messages.SCAN_NEEDS_REGIONS)
    deps.ingress.later(scan_and_post(request, scope))
    return Reply(messages.SCAN_STARTED.format(regions=", ".join(scope.regions),
                                              account=scope.account_id or "(the default credentials')"))


COMMAND = Command("scan", "scan [regions]",
                  "read the project's AWS account into Terraform with import blocks, a diagram "
                  "and its findings", run)
