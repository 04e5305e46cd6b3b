"""`/archops tags [Key=Value] [regions]`: what lacks the project's tag, as a tag plan.

Nothing is tagged from Slack: the plan (and its dry run) is posted; an approver applies it with
`archops tags apply PLAN --approved-by NAME --yes`, which writes the audit record.
"""

from __future__ import annotations

from bot import limits, messages
from bot.commands.base import Command, Reply, Request
from bot.commands.scan import scope_of
from bot.hooks import Scope, TagReport
from core.errors import ArchopsError
from core.logging import get_logger

log = get_logger("archops.bot.tags")


async def plan_and_post(request: Request, scope: Scope, key: str, value: str) -> None:
    hook = request.deps.hooks.tags
    assert hook is not None
    client = request.deps.client
    title = f"Tag plan `{key}={value}` for {', '.join(scope.regions)} (<@{request.user}>)"
    try:
        report = await hook(scope, key, value)
    except ArchopsError as exc:
        report = TagReport(summary=f"The tag plan failed: {messages.reason_of(exc)}")
    except Exception as exc:
        log.exception("tag plan failed", error=repr(exc))
        report = TagReport(summary="The tag plan failed on archops' side (it is logged).")
    root = await client.chat_postMessage(channel=request.channel, text=title, unfurl_links=False)
    body = limits.cut(report.summary, limits.SECTION_TEXT - 8)
    await client.chat_postMessage(channel=request.channel, thread_ts=root["ts"], text=title,
                                  blocks=[{"type": "section", "text": {
                                      "type": "mrkdwn", "text": f"```\n{body}\n```"}}])
    if report.plan_json:
        await client.files_upload_v2(
            channel=request.channel, thread_ts=root["ts"], content=report.plan_json,
            filename="tag-plan.json", title="tag-plan.json",
            initial_comment="Apply it with `archops tags apply tag-plan.json --approved-by NAME --yes`")


async def run(request: Request) -> Reply:
    deps = request.deps
    if deps.hooks.tags is None:
        return Reply(messages.SCAN_UNAVAILABLE)
    decision = await deps.access.may_manage(request.user, request.team, request.channel)
    if not decision.allowed:
        return Reply(messages.ONLY_APPROVERS.format(who=decision.who, what="plan this project's tags"))
    words = request.args.split()
    pair = next((w for w in words if "=" in w), None)
    scope = await scope_of(request, " ".join(w for w in words if w != pair))
    key, _, value = (pair or "").partition("=")
    if not (key and value):
        if scope.tag is None:
            return Reply(messages.TAGS_NEEDS_TAG)
        key, value = scope.tag
    if not scope.regions:
        return Reply(messages.SCAN_NEEDS_REGIONS)
    deps.ingress.later(plan_and_post(request, scope, key, value))
    return Reply(messages.TAGS_STARTED.format(key=key, value=value, regions=", ".join(scope.regions)))


COMMAND = Command("tags", "tags [Key=Value] [regions]",
                  "what in the account lacks the project's tag, as a plan to apply", run)
