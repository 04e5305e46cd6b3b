"""`/archops status`: where each of your conversations is (asked, working, waiting, done)."""

from __future__ import annotations

from typing import Any

from bot import limits, messages
from bot.card import result_header
from bot.commands.base import Command, Reply, Request
from bot.state import loads

SHOWN = 10


def state_of(card: dict[str, str]) -> str:
    """One line about a card: what it waits for, or what it became."""
    phase = card.get("phase") or "accepted"
    result = loads(card.get("result"), {})
    if phase == "accepted":
        return "queued"
    if phase in {"working", "answered"}:
        step = card.get("step")
        where = f"step {step} of {card.get('steps')}: " if step and step != "0" else ""
        return f"working ({where}{card.get('step_name') or 'on it'})"
    if phase == "question":
        return f"waiting for an answer: {loads(card.get('question'), {}).get('prompt', '')}"
    if phase == "error":
        return f"failed: {card.get('error', '')}"
    return f"done: {result_header(result)}" if result else "done"


def line(conversation: str, card: dict[str, str], conv: dict[str, str], links: Any) -> str:
    asked = limits.cut(card.get("asked") or "", 80)
    where = f"<#{conv['channel']}>" if conv.get("channel", "").startswith(("C", "G")) else "a DM"
    link = f" · <{links.stream(conversation)}|live stream>" if links is not None else ""
    return f"• _{asked}_ in {where}: {state_of(card)}{link}"


async def run(request: Request) -> Reply:
    state = request.deps.state
    ids = await state.conversations_of(request.team, request.user, limit=SHOWN)
    if not ids:
        return Reply(messages.NOTHING_YET)
    cards = await state.cards(ids)
    lines = []
    for cid, card in zip(ids, cards, strict=True):
        if card:
            conv = await state.conversation(cid)
            lines.append(line(cid, card, conv, request.deps.render_context.links))
    head = f"*Your conversations with archops* (the latest {len(lines)}):\n"
    return Reply(head + limits.listing(lines, limits.SECTION_TEXT - len(head)))


COMMAND = Command("status", "status", "where each of your designs is", run)
