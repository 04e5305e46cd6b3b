"""`/archops new <what you need>`: a design, answered in a new thread in this channel."""

from __future__ import annotations

from bot import messages
from bot.commands.base import Command, Reply, Request


async def run(request: Request) -> Reply:
    if not request.args:
        return Reply(messages.SAY_WHAT.format(name="new", example="a web app with Postgres in eu-west-1"))
    result = await request.deps.ingress.start(
        team=request.team, channel=request.channel, user=request.user, text=request.args,
        key=request.trigger)
    return Reply(messages.COMMAND_ACCEPTED if result.accepted else messages.DUPLICATE)


COMMAND = Command("new", "new <what you need>",
                  "start a design, e.g. `/archops new a web app with Postgres in eu-west-1`", run)
