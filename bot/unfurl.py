"""Unfurls of archops links (a live stream, a diagram) for people allowed to see them.

Slack sends ``link_shared`` when someone posts a link of archops' domain (the app's manifest
lists ``ARCHOPS_PUBLIC_URL``'s host). A link is unfurled only when the person who shared it may
see its conversation: its owner or an approver, or someone holding a valid capability for that
very conversation in the link itself (which the web app would let them open anyway). The unfurl
shows what the card's header shows (what was asked, its state, the design's header) and nothing
of the conversation's content beyond it; a link to anything else is left alone.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot import blocks as bk
from bot import limits
from bot.access import Access
from bot.card import result_header
from bot.commands.status import state_of
from bot.links import ArchopsLink, parse
from bot.payloads import LinkSharedCallback
from bot.state import SlackState, loads
from bot.translate import team_of
from core.errors import Forbidden


class Verifier(Protocol):
    def verify(self, token: str, *, scope: str, subject: str, action: str = ...) -> Any: ...


def unfurl_blocks(link: ArchopsLink, card: dict[str, str]) -> list[dict[str, Any]]:
    result = loads(card.get("result"), {})
    what = "Diagram" if link.kind == "diagram" else "Live stream"
    text = f"*archops · {what}*: _{limits.cut(card.get('asked') or '', 300)}_\n{state_of(card)}"
    found = [bk.section(text)]
    if result:
        found.append(bk.context(result_header(result)))
    return found


async def allowed(link: ArchopsLink, user: str, team: str, state: SlackState, access: Access,
                  verifier: Verifier | None) -> dict[str, str] | None:
    """The card of the link's conversation when ``user`` may see it, else None."""
    conv = await state.conversation(link.conversation_id)
    card = await state.card(link.conversation_id)
    if not conv or not card or (conv.get("team") or team) != team:
        return None
    if link.cap is not None:
        if verifier is None:
            return None
        try:
            verifier.verify(link.cap, scope="conversation", subject=link.conversation_id)
        except Forbidden:
            return None  # a forged or expired link: nothing is shown
        return card
    decision = await access.decide(user, conv.get("owner"), team, conv.get("channel") or "")
    return card if decision.allowed else None


async def unfurls(payload: LinkSharedCallback, public_url: str | None, state: SlackState,
                  access: Access, verifier: Verifier | None) -> dict[str, Any]:
    """url -> its unfurl, for the links of this event that may be shown."""
    event, team = payload.event, team_of(payload)
    found: dict[str, Any] = {}
    for shared in event.links:
        link = parse(shared.url, public_url)
        if link is None:
            continue
        card = await allowed(link, event.user, team, state, access, verifier)
        if card is not None:
            found[shared.url] = {"blocks": unfurl_blocks(link, card)}
    return found
