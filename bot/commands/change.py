"""`/archops change <what should change>`: a change to your latest design in this channel."""

from __future__ import annotations

from bot import messages
from bot.commands.base import Command, Reply, Request
from bot.state import loads


async def latest_design(request: Request) -> str | None:
    """The person's most recent conversation in this channel that has a design."""
    state = request.deps.state
    ids = await state.conversations_of(request.team, request.user, limit=50)
    for cid, card in zip(ids, await state.cards(ids), strict=True):
        conv = await state.conversation(cid)
        if conv.get("channel") == request.channel and loads(card.get("result"), {}):
            return cid
    return None


async def run(request: Request) -> Reply:
    if not request.args:
        return Reply(messages.SAY_WHAT.format(name="change", example="add a Redis cache"))
    conversation = await latest_design(request)
    if conversation is None:
        return Reply(messages.NO_DESIGN_HERE)
    decision, _conv = await request.deps.ingress.decide(request.user, conversation)
    if not decision.allowed:
        return Reply(messages.ONLY_THEY_CAN_ASK.format(who=decision.who))
    result = await request.deps.ingress.follow_up(
        conversation, user=request.user, text=request.args,
        key=f"slack:command:{request.trigger}")
    return Reply(messages.CHANGE_ACCEPTED if result.accepted else messages.DUPLICATE)


COMMAND = Command("change", "change <what should change>",
                  "change your latest design in this channel, e.g. `/archops change add a cache`",
                  run)
