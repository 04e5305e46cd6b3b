"""A request's message state -> Slack Block Kit (raw dicts) and its plain-text fallback.

One archops message per request shows, in turn: the latest status, then the question (buttons
for up to five choices, a static select beyond), then the result or the error. Slack limits a
section's text to 3,000 characters, a button label to 75 and an option description to 75.

"Open in archops" links carry a capability (:mod:`core.capability`): read access to that one
conversation, signed and expiring. Anyone in the channel can see the link, so the link grants
no more than what the thread already shows, and nothing for any other conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from bot.state import loads
from bot.translate import answer_action_id

MAX_BUTTONS = 5
LINK_TTL_S = 7 * 24 * 3600

# conversation id -> the URL of its page in the web app (None: no link)
LinkMaker = Callable[[str], str | None]


class _Signer(Protocol):
    def issue(self, scope: str, subject: str, *, actions: Any = ..., ttl_s: int = ...,
              principal: str | None = ...) -> str: ...


def conversation_links(public_url: str, signer: _Signer, *, ttl_s: int = LINK_TTL_S) -> LinkMaker:
    """Links to a conversation's page, each with ``cap=`` granting read on that conversation."""
    base = public_url.rstrip("/")

    def link(conversation_id: str) -> str:
        token = signer.issue("conversation", conversation_id, actions={"read"}, ttl_s=ttl_s)
        return (f"{base}/?conversation={quote(conversation_id, safe='')}"
                f"&cap={quote(token, safe='.-_')}")

    return link
_SECTION_CHARS = 2900
_LABEL_CHARS = 75


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, _SECTION_CHARS)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, _SECTION_CHARS)}]}


def _plain(text: str, limit: int = _LABEL_CHARS) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": True}


def _choice_label(choice: dict[str, Any], default: str | None) -> str:
    label = str(choice.get("label") or choice.get("value"))
    return f"{label} (recommended)" if choice.get("value") == default else label


def question_blocks(question: dict[str, Any]) -> list[dict[str, Any]]:
    """The question with its choices: buttons (<= 5) or a static select, the default marked."""
    qid = str(question.get("id"))
    choices: list[dict[str, Any]] = list(question.get("choices") or [])
    default = question.get("default")
    blocks = [_section(f":question: {question.get('prompt') or ''}")]
    details = [
        f"• *{_choice_label(c, default)}*: {c['detail']}" for c in choices if c.get("detail")
    ]
    if details:
        blocks.append(_context("\n".join(details)))
    if 0 < len(choices) <= MAX_BUTTONS:
        buttons = []
        for index, choice in enumerate(choices):
            button: dict[str, Any] = {
                "type": "button",
                "action_id": answer_action_id(qid, index),
                "text": _plain(_choice_label(choice, default)),
                "value": str(choice.get("value")),
            }
            if choice.get("value") == default:
                button["style"] = "primary"
            buttons.append(button)
        blocks.append({"type": "actions", "block_id": f"q:{qid}"[:255], "elements": buttons})
    elif choices:
        options = []
        for choice in choices[:100]:
            option: dict[str, Any] = {
                "text": _plain(_choice_label(choice, default)),
                "value": str(choice.get("value")),
            }
            if choice.get("detail"):
                option["description"] = _plain(str(choice["detail"]))
            options.append(option)
        select: dict[str, Any] = {
            "type": "static_select",
            "action_id": answer_action_id(qid, 0),
            "placeholder": _plain("Choose…"),
            "options": options,
        }
        initial = [o for o in options if o["value"] == default]
        if initial:
            select["initial_option"] = initial[0]
        blocks.append({"type": "actions", "block_id": f"q:{qid}"[:255], "elements": [select]})
    if question.get("free_text") or not choices:
        blocks.append(_context("Or reply in this thread in your own words."))
    return blocks


def _label_of(question: dict[str, Any], value: str) -> str:
    for choice in question.get("choices") or []:
        if choice.get("value") == value:
            return str(choice.get("label") or value)
    return value


def render(state: dict[str, str], links: LinkMaker | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of a request's message in its current state."""
    phase = state.get("phase") or "working"
    blocks: list[dict[str, Any]] = []
    if state.get("asked"):
        blocks.append(_section(f"<@{state.get('user', '')}> asked: {state['asked']}"))
    question = loads(state.get("question"), {})
    if phase == "working":
        text = f":hourglass_flowing_sand: {state.get('status') or 'Working on it…'}"
        blocks.append(_section(text))
        if state.get("steps"):
            blocks.append(_context(f"step {state['steps']}"))
    elif phase == "question":
        text = f":question: {question.get('prompt') or state.get('final') or ''}"
        blocks.extend(question_blocks(question))
    elif phase == "answered":
        who = f"<@{state.get('answered_by', '')}>"
        if state.get("answer"):
            text = f":white_check_mark: {who} chose *{_label_of(question, state['answer'])}*"
        else:
            text = f":speech_balloon: {who} answered in the thread"
        blocks.append(_section(f":question: {question.get('prompt') or ''}"))
        blocks.append(_context(text))
    elif phase == "error":
        text = f":warning: {state.get('final') or 'The request failed.'}"
        if state.get("hint"):
            text += f"\n_{state['hint']}_"
        blocks.append(_section(text))
    else:  # done
        text = f":white_check_mark: {state.get('final') or 'Done.'}"
        blocks.append(_section(text))
        files = loads(state.get("files"), [])
        if files:
            listed = ", ".join(f"`{name}`" for name in files[:40])
            more = f" and {len(files) - 40} more" if len(files) > 40 else ""
            blocks.append(_context(f"Files: {listed}{more}"))
    if links and state.get("conversation_id") and phase in {"done", "error", "question"}:
        link = links(state["conversation_id"])
        if link:
            blocks.append(_context(f"<{link}|Open in archops>"))
    return _cut(text, _SECTION_CHARS), blocks
