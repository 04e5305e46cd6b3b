"""`/archops metrics`: the monitor's insights for this channel's project."""

from __future__ import annotations

from bot import limits, messages
from bot.commands.base import Command, Reply, Request
from bot.commands.scan import scope_of


async def run(request: Request) -> Reply:
    hook = request.deps.hooks.metrics
    if hook is None:
        return Reply(messages.METRICS_NOT_CONFIGURED)
    scope = await scope_of(request, request.args)
    return Reply(limits.cut(await hook(scope), limits.SECTION_TEXT))


COMMAND = Command("metrics", "metrics", "the monitor's insights on this project's metrics", run)
