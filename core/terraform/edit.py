"""Small, exact text edits to HCL files: the repairs' only way of changing a module.

Edits work on the spans :mod:`core.terraform.structure` recorded, so a repair changes one value or
adds one line and keeps everything else, comments and skips included.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.terraform.parse import Item
from core.terraform.structure import Attribute, Block


@dataclass(frozen=True)
class Edit:
    file: str
    start: int
    end: int
    text: str


def _indent_of(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    return text[line_start:offset] if text[line_start:offset].strip() == "" else ""


def set_value(item: Item, attr: Attribute, value: str) -> Edit:
    """Replace an attribute's value expression."""
    return Edit(item.file, attr.value_start, attr.value_end, value)


def add_attribute(item: Item, block: Block, name: str, value: str, text: str) -> Edit:
    """Insert ``name = value`` as the last line of ``block`` (fmt aligns it later)."""
    indent = _indent_of(text, block.start) + "  "
    close = block.body_end
    line_start = text.rfind("\n", 0, close) + 1
    if text[line_start:close].strip():  # a one-line block: `x {}` or `x { a = 1 }`
        inner = text[text.index("{", block.start) + 1 : close].strip()
        body = f"\n{indent}{inner}" if inner else ""
        outer = _indent_of(text, block.start)
        return Edit(item.file, text.index("{", block.start) + 1, close,
                    f"{body}\n{indent}{name} = {value}\n{outer}")
    return Edit(item.file, line_start, line_start, f"{indent}{name} = {value}\n")


def set_or_add(item: Item, block: Block, name: str, value: str, text: str) -> Edit:
    attr = block.attrs.get(name)
    return set_value(item, attr, value) if attr else add_attribute(item, block, name, value, text)


def remove_attribute(item: Item, attr: Attribute, text: str) -> Edit:
    """Delete an attribute with its whole line(s)."""
    start = text.rfind("\n", 0, attr.start) + 1
    end = text.find("\n", attr.value_end)
    return Edit(item.file, start, len(text) if end < 0 else end + 1, "")


def append_text(file: str, text: str, addition: str) -> Edit:
    sep = "" if text.endswith("\n\n") or not text else ("\n" if text.endswith("\n") else "\n\n")
    return Edit(file, len(text), len(text), sep + addition)


def apply_edits(files: dict[str, str], edits: list[Edit]) -> dict[str, str]:
    """Apply edits; of overlapping replacements the first listed wins (the next round sees the
    rest); insertions at one point all apply."""
    out = dict(files)
    by_file: dict[str, list[Edit]] = {}
    for edit in edits:
        by_file.setdefault(edit.file, []).append(edit)
    for name, group in by_file.items():
        text = out.get(name, "")
        kept: list[Edit] = []
        for edit in group:
            if any(edit.start < k.end and k.start < edit.end for k in kept):
                continue
            kept.append(edit)
        for edit in sorted(kept, key=lambda e: (e.start, e.end), reverse=True):
            text = text[: edit.start] + edit.text + text[edit.end :]
        out[name] = text
    return out


def add_block(item: Item, block: Block, name: str, body: dict[str, str], text: str) -> Edit:
    """Insert a nested block ``name { k = v ... }`` as the last child of ``block``."""
    indent = _indent_of(text, block.start) + "  "
    lines = [f"{indent}{name} {{"] + [f"{indent}  {k} = {v}" for k, v in body.items()]
    close = block.body_end
    line_start = text.rfind("\n", 0, close) + 1
    snippet = "\n".join(lines + [f"{indent}}}"]) + "\n"
    if text[line_start:close].strip():
        return Edit(item.file, close, close, "\n" + snippet)
    return Edit(item.file, line_start, line_start, snippet)
