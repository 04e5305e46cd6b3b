"""Block Kit's limits, enforced by the renderer itself: nothing archops sends can exceed them.

Slack refuses a message or view that breaks a limit (``invalid_blocks``), so every block the
Slack edge builds goes through :func:`enforce` on its way out. Content that is a list (resources,
findings, files, choices) is fitted by :func:`listing`, which stops before a limit and says how
many items were left out ("…and 12 more"), so that nothing disappears silently; :func:`enforce`
is the last guard (a cut text ends with "…", a message over 50 blocks keeps its buttons and says
how many blocks were left out).

The figures are Slack's documented limits (api.slack.com/reference/block-kit).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100  # modals and App Home
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
BLOCK_ID = 255
URL = 3000
OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
PLACEHOLDER = 150
INPUT_LABEL = 2000
INPUT_HINT = 2000
VIEW_TITLE = 24
PRIVATE_METADATA = 3000
CALLBACK_ID = 255
MESSAGE_TEXT = 40_000  # the top-level fallback text
INPUT_MAX_LENGTH = 3000

_ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, ending with "…" when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


def more(count: int) -> str:
    return f"…and {count} more"


def listing(lines: Iterable[str], limit: int, *, max_items: int | None = None,
            sep: str = "\n", fence: bool = False) -> str:
    """As many of ``lines`` as fit in ``limit`` characters (and ``max_items``), then
    "…and N more" for the rest. With ``fence`` the lines sit in a ``` block (a table)."""
    items = list(lines)
    total = len(items)
    opening, closing = ("```\n", "\n```") if fence else ("", "")
    joiner = "\n" if fence else sep

    def size(kept: int, body: int) -> int:
        rest = total - kept
        frame = len(opening) + len(closing) if kept and fence else 0
        note = len(more(rest)) + (len(joiner) if kept else 0) if rest else 0
        return frame + body + note

    def render(kept: list[str]) -> str:
        rest = total - len(kept)
        text = sep.join(kept)
        if fence and kept:
            text = f"{opening}{text}{closing}"
        if not rest:
            return text
        return f"{text}{joiner}{more(rest)}" if kept else more(rest)

    cap = total if max_items is None else min(total, max_items)
    body = 0
    kept = 0
    for index in range(cap):
        grown = body + len(items[index]) + (len(sep) if index else 0)
        if size(index + 1, grown) > limit:
            break
        body, kept = grown, index + 1
    if kept == 0 and cap > 0:  # the first line alone is too long: show it cut
        room = limit - size(1, 0)
        if room > 1:
            return render([cut(items[0], room)])
    return render(items[:kept])


# -- the last guard ---------------------------------------------------------------------------
def _text(obj: Any, limit: int) -> None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        obj["text"] = cut(obj["text"], limit)


def _option(option: dict[str, Any]) -> None:
    _text(option.get("text"), OPTION_TEXT)
    if isinstance(option.get("value"), str):
        option["value"] = option["value"][:OPTION_VALUE]
    _text(option.get("description"), OPTION_DESCRIPTION)


def _element(element: dict[str, Any]) -> None:
    kind = element.get("type")
    if isinstance(element.get("action_id"), str):
        element["action_id"] = element["action_id"][:ACTION_ID]
    if kind == "button":
        _text(element.get("text"), BUTTON_TEXT)
        if isinstance(element.get("value"), str):
            element["value"] = element["value"][:BUTTON_VALUE]
        if isinstance(element.get("url"), str) and len(element["url"]) > URL:
            del element["url"]  # a cut URL would lead nowhere: the button stays without it
    elif kind in {"static_select", "multi_static_select", "radio_buttons", "checkboxes"}:
        options = element.get("options") or []
        element["options"] = options[:OPTIONS]
        for option in element["options"]:
            _option(option)
        if isinstance(element.get("initial_option"), dict):
            _option(element["initial_option"])
        _text(element.get("placeholder"), PLACEHOLDER)
    elif kind == "plain_text_input":
        _text(element.get("placeholder"), PLACEHOLDER)
    elif kind == "image":
        if isinstance(element.get("alt_text"), str):
            element["alt_text"] = cut(element["alt_text"], 2000)


def _block(block: dict[str, Any]) -> None:
    kind = block.get("type")
    if isinstance(block.get("block_id"), str):
        block["block_id"] = block["block_id"][:BLOCK_ID]
    if kind == "section":
        _text(block.get("text"), SECTION_TEXT)
        fields = block.get("fields")
        if isinstance(fields, list):
            block["fields"] = fields[:SECTION_FIELDS]
            for field in block["fields"]:
                _text(field, FIELD_TEXT)
        if isinstance(block.get("accessory"), dict):
            _element(block["accessory"])
    elif kind == "header":
        _text(block.get("text"), HEADER_TEXT)
    elif kind == "context":
        elements = block.get("elements") or []
        block["elements"] = elements[:CONTEXT_ELEMENTS]
        for element in block["elements"]:
            _text(element, SECTION_TEXT)
    elif kind == "actions":
        elements = block.get("elements") or []
        block["elements"] = elements[:ACTIONS_ELEMENTS]
        for element in block["elements"]:
            _element(element)
    elif kind == "input":
        _text(block.get("label"), INPUT_LABEL)
        _text(block.get("hint"), INPUT_HINT)
        if isinstance(block.get("element"), dict):
            _element(block["element"])


def enforce(blocks: list[dict[str, Any]], max_blocks: int = MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """``blocks`` within every limit (in place and returned). Over ``max_blocks``, the trailing
    actions block (the buttons) is kept and a context says how many blocks were left out."""
    for block in blocks:
        _block(block)
    if len(blocks) <= max_blocks:
        return blocks
    tail = [blocks[-1]] if blocks[-1].get("type") == "actions" else []
    room = max_blocks - 1 - len(tail)
    dropped = len(blocks) - room - len(tail)
    note = {"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"{more(dropped)} section(s): open the live stream for all of it"}]}
    blocks[:] = [*blocks[:room], note, *tail]
    return blocks


def enforce_view(view: dict[str, Any]) -> dict[str, Any]:
    """A modal or App Home view within its limits."""
    for key in ("title", "submit", "close"):
        _text(view.get(key), VIEW_TITLE)
    if isinstance(view.get("private_metadata"), str) and len(view["private_metadata"]) > PRIVATE_METADATA:
        raise ValueError("private_metadata over 3,000 characters: keep state server-side")
    if isinstance(view.get("callback_id"), str):
        view["callback_id"] = view["callback_id"][:CALLBACK_ID]
    view["blocks"] = enforce(list(view.get("blocks") or []), VIEW_BLOCKS)
    return view
