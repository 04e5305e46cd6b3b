"""Modals for what buttons cannot say: a free-text answer, a change to a design. Pure.

A modal carries in ``private_metadata`` only which conversation (and question) it is about; what
it may do is decided again from the card when it is submitted. A submission that cannot be taken
is answered with ``response_action: errors``: the modal stays open with the reason under the
field, and nothing is queued.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot import blocks as bk
from bot import limits, messages

ANSWER_CALLBACK = "archops:answer"
CHANGE_CALLBACK = "archops:change"
ANSWER_BLOCK = "answer"
CHANGE_BLOCK = "change"
MAX_ANSWER_CHARS = 2000  # core.envelope.Action.value
# a host name as people type it (the worker checks its own list of top-level domains)
_HOSTNAME = re.compile(r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def metadata(**fields: str) -> str:
    return json.dumps(fields, separators=(",", ":"))


def read_metadata(text: str) -> dict[str, str]:
    try:
        found = json.loads(text or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in found.items() if isinstance(v, str)} if isinstance(found, dict) else {}


def answer_modal(conversation_id: str, question: dict[str, Any], question_key: str) -> dict[str, Any]:
    prompt = str(question.get("prompt") or "Your answer")
    choices = [str(c.get("label") or c.get("value")) for c in question.get("choices") or []
               if isinstance(c, dict)]
    hint = ("Or pick on the card: " + ", ".join(choices)) if choices else None
    example = "app.example.com" if question.get("id") == "domain" else None
    return bk.modal(ANSWER_CALLBACK, "Answer archops", [
        bk.section(f":question: *{prompt}*"),
        bk.text_input(ANSWER_BLOCK, "Your answer", "value", placeholder=example,
                      hint=hint and limits.cut(hint, limits.INPUT_HINT),
                      max_length=MAX_ANSWER_CHARS),
    ], submit="Answer", private_metadata=metadata(c=conversation_id, k=question_key))


def change_modal(conversation_id: str, current: str) -> dict[str, Any]:
    return bk.modal(CHANGE_CALLBACK, "Request a change", [
        bk.section(f"Current design: {current}" if current else "What should change?"),
        bk.text_input(CHANGE_BLOCK, "What should change?", "value", multiline=True,
                      placeholder="e.g. add a Redis cache, or make it run in two regions",
                      max_length=MAX_ANSWER_CHARS),
    ], submit="Request", private_metadata=metadata(c=conversation_id))


def submitted(view: Any, block_id: str) -> str:
    """The text typed into ``block_id`` of a submitted view ("" when empty)."""
    values = view.state.values.get(block_id) or {}
    for value in values.values():
        if value.value is not None:
            return str(value.value).strip()
        if value.selected_option is not None:
            return value.selected_option.value
    return ""


def check_answer(question: dict[str, Any], text: str) -> str | None:
    """Why ``text`` cannot answer ``question`` (None: it can go to the worker)."""
    if not text:
        return messages.EMPTY_ANSWER
    if len(text) > MAX_ANSWER_CHARS:
        return messages.ANSWER_TOO_LONG.format(limit=MAX_ANSWER_CHARS, count=len(text))
    values = {str(c.get("value")).lower(): str(c.get("value"))
              for c in question.get("choices") or [] if isinstance(c, dict)}
    labels = {str(c.get("label")).lower(): str(c.get("value"))
              for c in question.get("choices") or [] if isinstance(c, dict)}
    if text.lower() in values or text.lower() in labels:
        return None
    if not question.get("free_text"):
        return "Pick one of: " + ", ".join(str(c.get("label") or c.get("value"))
                                          for c in question.get("choices") or [])
    if question.get("id") == "domain" and not _HOSTNAME.fullmatch(text.lower()):
        return messages.NOT_A_DOMAIN.format(value=text[:100])
    return None


def answer_value(question: dict[str, Any], text: str) -> tuple[str, str]:
    """(value, label) of a typed answer: a choice's value when it names one."""
    for choice in question.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        value, label = str(choice.get("value")), str(choice.get("label") or choice.get("value"))
        if text.lower() in {value.lower(), label.lower()}:
            return value, label
    return text, text
