"""Small Block Kit builders (raw dicts): every text and id fitted to its limit (:mod:`bot.limits`).

Action ids name what a click does; the card resolves the rest from its own record (which
question is open, what each choice's value is), so a click cannot smuggle in a value the card
did not offer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import limits

# what each interactive element does: the prefix of its action id
ANSWER = "archops:answer:"  # archops:answer:{question key}:{choice index}
FREE_TEXT = "archops:freetext:"  # archops:freetext:{question key}: opens the answer modal
CHANGE = "archops:change"  # opens the "Request a change" modal
REGENERATE = "archops:regenerate"
PULL_REQUEST = "archops:pr"  # no pull request yet: says what to configure
LINK = "archops:link:"  # URL buttons: Slack sends a click for them too (acknowledged only)
NEEDS_SETUP = "archops:setup:"  # a button whose feature is not configured: says what to set
PROJECT_EDIT = "archops:project:edit"


def plain(text: str, limit: int = limits.BUTTON_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": limits.cut(text or " ", limit), "emoji": True}


def mrkdwn(text: str, limit: int = limits.SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": limits.cut(text or " ", limit)}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text)]}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, limits.HEADER_TEXT)}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(text: str, action_id: str, *, value: str | None = None, url: str | None = None,
           style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text),
                               "action_id": action_id[: limits.ACTION_ID]}
    if value is not None:
        element["value"] = value[: limits.BUTTON_VALUE]
    if url is not None and len(url) <= limits.URL:
        element["url"] = url
    if style:
        element["style"] = style
    return element


def actions(elements: list[dict[str, Any]], block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "actions", "elements": elements[: limits.ACTIONS_ELEMENTS]}
    if block_id:
        block["block_id"] = block_id[: limits.BLOCK_ID]
    return block


def option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"text": plain(text, limits.OPTION_TEXT),
                             "value": value[: limits.OPTION_VALUE]}
    if description:
        found["description"] = plain(description, limits.OPTION_DESCRIPTION)
    return found


def text_input(block_id: str, label: str, action_id: str, *, multiline: bool = False,
               initial: str | None = None, placeholder: str | None = None,
               optional: bool = False, hint: str | None = None,
               max_length: int | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id,
                               "multiline": multiline}
    if initial:
        element["initial_value"] = initial[: limits.INPUT_MAX_LENGTH]
    if placeholder:
        element["placeholder"] = plain(placeholder, limits.PLACEHOLDER)
    if max_length:
        element["max_length"] = min(max_length, limits.INPUT_MAX_LENGTH)
    block: dict[str, Any] = {"type": "input", "block_id": block_id,
                             "label": plain(label, limits.INPUT_LABEL), "element": element,
                             "optional": optional}
    if hint:
        block["hint"] = plain(hint, limits.INPUT_HINT)
    return block


def modal(callback_id: str, title: str, blocks: list[dict[str, Any]], *, submit: str = "Submit",
          private_metadata: str = "") -> dict[str, Any]:
    return limits.enforce_view({
        "type": "modal", "callback_id": callback_id, "title": plain(title, limits.VIEW_TITLE),
        "submit": plain(submit, limits.VIEW_TITLE), "close": plain("Cancel", limits.VIEW_TITLE),
        "private_metadata": private_metadata, "blocks": blocks,
    })


def conversation_links(public_url: str, signer: Any, *, ttl_s: int = 7 * 24 * 3600
                       ) -> Callable[[str], str]:
    """conversation id -> the chat page opened on it (``/?conversation=ID&cap=...``)."""
    from bot.links import Links

    return Links(public_url, signer, ttl_s=ttl_s).conversation
