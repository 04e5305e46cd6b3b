"""Slack payloads -> archops envelopes: pure functions, no I/O.

A conversation is a Slack thread: its id is derived from the team, the channel and the thread's
root ts, so every reply in that thread continues it. The idempotency key is what Slack repeats
on a retry (the Events API ``event_id``, an interaction's ``trigger_id``), so a retry is accepted
once.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from bot.payloads import Body, MessageEvent, Ref
from core.envelope import MAX_TEXT_CHARS, Action, Envelope
from core.errors import ValidationError

# message subtypes that carry a person's own words; every other subtype is ignored
USER_TEXT_SUBTYPES = frozenset({None, "", "file_share", "thread_broadcast"})
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


def conversation_id(team: str, channel: str, root_ts: str) -> str:
    return f"slack:{team}:{channel}:{root_ts}"


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """The text without the mention(s) of archops' bot user, whitespace collapsed at the ends."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def mentions(text: str, bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and any(m == bot_user_id for m in _MENTION.findall(text or ""))


def is_user_text(event: MessageEvent) -> bool:
    """True for a person's message; False for bot messages, edits, joins, deletions."""
    if event.bot_id or event.subtype == "bot_message":
        return False
    return event.subtype in USER_TEXT_SUBTYPES and bool(event.user)


def ref_id(ref: str | Ref | None) -> str | None:
    """The id of a team, user or channel that Slack gives as a string or as an object."""
    return ref if isinstance(ref, str) or ref is None else ref.id


def team_of(payload: Body) -> str:
    event = payload.event
    user_team = payload.user.team_id if isinstance(payload.user, Ref) else None
    team = payload.team_id or (event.team if event else None) or ref_id(payload.team) or user_team
    return team or "-"


def text_envelope(
    *, conversation: str, user: str, text: str, idempotency_key: str, channel: str,
    thread_ts: str | None, team: str,
) -> Envelope:
    """A request in words, answered in ``channel`` (in the thread ``thread_ts`` when given)."""
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError(
            f"the message has {len(text)} characters; the limit is {MAX_TEXT_CHARS}",
            hint="shorten it or split it into several messages",
        )
    return _envelope(conversation_id=conversation, user=user, text=text,
                     idempotency_key=idempotency_key, reply_to=_reply_to(channel, thread_ts, team))


def action_envelope(
    *, conversation: str, user: str, question_id: str, value: str, idempotency_key: str,
    channel: str, thread_ts: str | None, team: str,
) -> Envelope:
    try:
        action = Action(question_id=question_id, value=value)
    except PydanticValidationError as exc:
        raise ValidationError(f"the answer is not valid: {exc.errors()[0]['msg']}") from exc
    return _envelope(conversation_id=conversation, user=user, action=action,
                     idempotency_key=idempotency_key, reply_to=_reply_to(channel, thread_ts, team))


def _reply_to(channel: str, thread_ts: str | None, team: str) -> dict[str, str]:
    reply_to = {"channel": channel, "team": team}
    if thread_ts:
        reply_to["thread_ts"] = thread_ts
    return reply_to


def _envelope(**fields: Any) -> Envelope:
    """An envelope from Slack; what Slack sent that archops cannot carry is a ValidationError."""
    try:
        return Envelope(source="slack", **fields)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        raise ValidationError(f"the message cannot be taken: {where}: {first['msg']}") from exc
