"""`/archops metrics`: the monitor's insights for this channel's project."""

from __future__ import annotations

from bot import limits, messages
from bot.commands.base import Command, Reply, Request
from bot.commands.scan import scope_of
from core.errors import NotFound


async def run(request: Request) -> Reply:
    hook = request.deps.hooks.metrics
    if hook is None:
        return Reply(messages.METRICS_NOT_CONFIGURED)
    scope = await scope_of(request, request.args)
    try:
        summary = await hook(scope)
    except NotFound as exc:  # not bound, or not watched: what to do about it
        return Reply(f"No metrics yet: {messages.reason_of(exc)}.")
    return Reply(f"```\n{limits.cut(summary, limits.SECTION_TEXT - 8)}\n```")


COMMAND = Command("metrics", "metrics", "the monitor's insights on this project's metrics", run)
