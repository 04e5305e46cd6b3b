"""Block Kit's documented limits, as Slack checks them when a message or view arrives.

Written from Slack's reference (api.slack.com/reference/block-kit), apart from the renderer's own
:mod:`bot.limits`, so that the stand-in refuses what Slack would refuse (``invalid_blocks``),
whatever the renderer believes.
"""

from __future__ import annotations

from typing import Any

SURFACE_BLOCKS = {"message": 50, "modal": 100, "home": 100, "attachment": 50}
TEXT_TYPES = {"plain_text", "mrkdwn"}


def _text(obj: Any, where: str, limit: int, out: list[str], *, plain: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        out.append(f"{where}: a text object is required")
        return
    if plain and obj.get("type") != "plain_text":
        out.append(f"{where}: must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        out.append(f"{where}: text must be a non-empty string")
    elif len(text) > limit:
        out.append(f"{where}: {len(text)} characters, more than {limit}")


def _id(value: Any, where: str, out: list[str], limit: int = 255) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        out.append(f"{where}: longer than {limit} characters")


def _option(option: Any, where: str, out: list[str]) -> None:
    if not isinstance(option, dict):
        out.append(f"{where}: must be an option object")
        return
    _text(option.get("text"), f"{where}.text", 75, out)
    value = option.get("value")
    if not isinstance(value, str) or len(value) > 150:
        out.append(f"{where}.value: required, at most 150 characters")
    if "description" in option:
        _text(option["description"], f"{where}.description", 75, out, plain=True)


def _element(element: Any, where: str, out: list[str]) -> None:
    if not isinstance(element, dict):
        out.append(f"{where}: must be an element object")
        return
    kind = element.get("type")
    _id(element.get("action_id"), f"{where}.action_id", out)
    if kind == "button":
        _text(element.get("text"), f"{where}.text", 75, out, plain=True)
        if "value" in element and (not isinstance(element["value"], str) or len(element["value"]) > 2000):
            out.append(f"{where}.value: at most 2000 characters")
        if "url" in element and (not isinstance(element["url"], str) or len(element["url"]) > 3000):
            out.append(f"{where}.url: at most 3000 characters")
        if element.get("style") not in (None, "primary", "danger"):
            out.append(f"{where}.style: primary or danger")
    elif kind == "static_select":
        options = element.get("options")
        if not isinstance(options, list) or not 1 <= len(options) <= 100:
            out.append(f"{where}.options: 1 to 100 options")
        else:
            for i, option in enumerate(options):
                _option(option, f"{where}.options[{i}]", out)
        if "placeholder" in element:
            _text(element["placeholder"], f"{where}.placeholder", 150, out, plain=True)
        if "initial_option" in element:
            _option(element["initial_option"], f"{where}.initial_option", out)
    elif kind == "plain_text_input":
        if "placeholder" in element:
            _text(element["placeholder"], f"{where}.placeholder", 150, out, plain=True)
        for key in ("min_length", "max_length"):
            if key in element and not (isinstance(element[key], int) and 0 <= element[key] <= 3000):
                out.append(f"{where}.{key}: 0 to 3000")
    elif kind == "image":
        if not isinstance(element.get("alt_text"), str):
            out.append(f"{where}.alt_text: required")
    else:
        out.append(f"{where}: unsupported element type {kind!r}")


def block_problems(blocks: Any, surface: str = "message") -> list[str]:
    """What Slack would refuse in ``blocks`` on ``surface`` (empty: it takes them)."""
    out: list[str] = []
    if not isinstance(blocks, list):
        return ["blocks: must be an array"]
    limit = SURFACE_BLOCKS[surface]
    if len(blocks) > limit:
        out.append(f"blocks: {len(blocks)} blocks, more than {limit}")
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, dict):
            out.append(f"{where}: must be a block object")
            continue
        _id(block.get("block_id"), f"{where}.block_id", out)
        kind = block.get("type")
        if kind == "section":
            if "text" not in block and "fields" not in block:
                out.append(f"{where}: text or fields required")
            if "text" in block:
                _text(block["text"], f"{where}.text", 3000, out)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list) or len(fields) > 10:
                    out.append(f"{where}.fields: at most 10")
                else:
                    for i, item in enumerate(fields):
                        _text(item, f"{where}.fields[{i}]", 2000, out)
            if "accessory" in block:
                _element(block["accessory"], f"{where}.accessory", out)
        elif kind == "header":
            _text(block.get("text"), f"{where}.text", 150, out, plain=True)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                out.append(f"{where}.elements: 1 to 10 elements")
            else:
                for i, element in enumerate(elements):
                    if isinstance(element, dict) and element.get("type") == "image":
                        continue
                    _text(element, f"{where}.elements[{i}]", 3000, out)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                out.append(f"{where}.elements: 1 to 25 elements")
            else:
                ids = [e.get("action_id") for e in elements if isinstance(e, dict) and e.get("action_id")]
                if len(ids) != len(set(ids)):
                    out.append(f"{where}: action_id must be unique in the block")
                for i, element in enumerate(elements):
                    _element(element, f"{where}.elements[{i}]", out)
        elif kind == "input":
            if surface != "modal":
                out.append(f"{where}: input blocks belong in modals")
            _text(block.get("label"), f"{where}.label", 2000, out, plain=True)
            if "hint" in block:
                _text(block["hint"], f"{where}.hint", 2000, out, plain=True)
            _element(block.get("element"), f"{where}.element", out)
        elif kind == "divider":
            pass
        elif kind == "image":
            if not isinstance(block.get("image_url"), str) or len(block["image_url"]) > 3000:
                out.append(f"{where}.image_url: required, at most 3000 characters")
        else:
            out.append(f"{where}: unsupported block type {kind!r}")
    return out


def view_problems(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["view: must be an object"]
    out: list[str] = []
    kind = view.get("type")
    if kind not in {"modal", "home"}:
        out.append("view.type: modal or home")
        return out
    if kind == "modal":
        _text(view.get("title"), "view.title", 24, out, plain=True)
        for key in ("submit", "close"):
            if key in view:
                _text(view[key], f"view.{key}", 24, out, plain=True)
    meta = view.get("private_metadata")
    if meta is not None and (not isinstance(meta, str) or len(meta) > 3000):
        out.append("view.private_metadata: at most 3000 characters")
    _id(view.get("callback_id"), "view.callback_id", out)
    out += block_problems(view.get("blocks"), "modal" if kind == "modal" else "home")
    return out
