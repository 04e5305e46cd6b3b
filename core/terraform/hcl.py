"""The HCL writer: renders the typed module model as `terraform fmt`-style HCL.

Every literal string is escaped (quotes, backslashes, control characters, and ``${``/``%{`` so a
user's text can never become an interpolation). Consecutive one-line attributes align their
``=`` as ``terraform fmt`` does; multi-line values break the alignment group, as there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import ValidationError
from core.terraform.model import (
    SPLAT,
    Block,
    Call,
    Cond,
    Expr,
    ForList,
    ForMap,
    Keyword,
    Op,
    Ref,
    Template,
    TypeExpr,
)

INDENT = "  "
_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_RESERVED_KEYS = {"true", "false", "null", "for", "in", "if"}
_INLINE_LIST_MAX = 90


def escape(text: str) -> str:
    """Escape a literal for a quoted HCL string (no interpolation survives)."""
    out: list[str] = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out).replace("${", "$${").replace("%{", "%%{")


def quote(text: str) -> str:
    return f'"{escape(text)}"'


def render_key(key: str) -> str:
    if not isinstance(key, str):
        raise ValidationError(f"object keys must be strings, got {key!r}")
    if _BARE_KEY.match(key) and key not in _RESERVED_KEYS:
        return key
    return quote(key)


def render_value(value: Any, indent: int = 0) -> str:
    """Render a value; continuation lines carry absolute indentation for ``indent``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{value!r} cannot be written as an HCL number")
        return repr(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Expr):
        return render_expr(value, indent)
    if isinstance(value, Mapping):
        return _render_object(value, indent)
    if isinstance(value, Sequence):
        return _render_list(value, indent)
    raise ValidationError(f"cannot write a {type(value).__name__} as HCL")


def _render_list(items: Sequence[Any], indent: int) -> str:
    if not items:
        return "[]"
    rendered = [render_value(item, indent + 1) for item in items]
    inline = "[" + ", ".join(rendered) + "]"
    if all("\n" not in r for r in rendered) and len(inline) <= _INLINE_LIST_MAX:
        return inline
    pad = INDENT * (indent + 1)
    lines = [f"{pad}{r}," for r in rendered]
    return "[\n" + "\n".join(lines) + "\n" + INDENT * indent + "]"


def _render_object(mapping: Mapping[str, Any], indent: int) -> str:
    if not mapping:
        return "{}"
    pairs = [(render_key(k), render_value(v, indent + 1)) for k, v in mapping.items()]
    body = _aligned(pairs, indent + 1)
    return "{\n" + "\n".join(body) + "\n" + INDENT * indent + "}"


def _aligned(pairs: list[tuple[str, str]], indent: int) -> list[str]:
    """``key = value`` lines, aligning ``=`` within runs of one-line values."""
    pad = INDENT * indent
    lines: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(k) for k, _ in run), default=0)
        lines.extend(f"{pad}{k.ljust(width)} = {v}" for k, v in run)
        run.clear()

    for key, text in pairs:
        if "\n" in text:
            flush()
            lines.append(f"{pad}{key} = {text}")
        else:
            run.append((key, text))
    flush()
    return lines


def render_expr(expr: Expr, indent: int = 0) -> str:
    if isinstance(expr, Ref):
        return _render_ref(expr, indent)
    if isinstance(expr, Call):
        args = [render_value(arg, indent) for arg in expr.args]
        return f"{expr.name}(" + ", ".join(args) + ")"
    if isinstance(expr, Template):
        return _render_template(expr, indent)
    if isinstance(expr, Op):
        return f"{_operand(expr.left, indent)} {expr.op} {_operand(expr.right, indent)}"
    if isinstance(expr, Cond):
        return (
            f"{_operand(expr.cond, indent)} ? {_operand(expr.then, indent)}"
            f" : {_operand(expr.otherwise, indent)}"
        )
    if isinstance(expr, ForMap):
        head = f"for {expr.name} in {render_value(expr.collection, indent)} :"
        key = render_value(expr.key, indent + 1)
        value = render_value(expr.value, indent + 1)
        return "{\n" + INDENT * (indent + 1) + f"{head} {key} => {value}\n" + INDENT * indent + "}"
    if isinstance(expr, ForList):
        head = f"for {expr.name} in {render_value(expr.collection, indent)} :"
        return f"[{head} {render_value(expr.value, indent + 1)}]"
    if isinstance(expr, Keyword):
        return expr.word
    if isinstance(expr, TypeExpr):
        return expr.text
    raise ValidationError(f"cannot write expression {expr!r}")


def _operand(value: Any, indent: int) -> str:
    text = render_value(value, indent)
    return f"({text})" if isinstance(value, (Op, Cond)) else text


def _render_ref(ref: Ref, indent: int) -> str:
    out = [str(ref.parts[0])]
    for part in ref.parts[1:]:
        if part == SPLAT:
            out.append("[*]")
        elif isinstance(part, bool):
            raise ValidationError("a boolean cannot index a reference")
        elif isinstance(part, int):
            out.append(f"[{part}]")
        elif isinstance(part, Expr):
            out.append(f"[{render_expr(part, indent)}]")
        else:
            out.append(f".{part}")
    return "".join(out)


def _render_template(tpl: Template, indent: int) -> str:
    out: list[str] = []
    for part in tpl.parts:
        if isinstance(part, str):
            out.append(escape(part))
        else:
            inner = render_value(part, indent)
            if "\n" in inner:
                raise ValidationError("a template interpolation must fit on one line")
            out.append("${" + inner + "}")
    return '"' + "".join(out) + '"'


def render_block(item: Block, indent: int = 0) -> str:
    pad = INDENT * indent
    head = " ".join([item.type, *(quote(label) for label in item.labels)])
    lines: list[str] = []
    if item.comment:
        lines.extend(f"{pad}# {line}".rstrip() for line in item.comment.splitlines())
    if not item.attrs and not item.blocks and not item.skips:
        lines.append(f"{pad}{head} {{}}")
        return "\n".join(lines)
    lines.append(f"{pad}{head} {{")
    lines.extend(f"{pad}{INDENT}#checkov:skip={check}:{reason}" for check, reason in item.skips.items())
    attrs = dict(item.attrs)
    tail = {k: attrs.pop(k) for k in ("depends_on",) if k in attrs}
    meta = {k: attrs.pop(k) for k in ("count", "for_each", "provider") if k in attrs}
    sections: list[list[str]] = []
    if meta:
        sections.append(_aligned([(k, render_value(v, indent + 1)) for k, v in meta.items()], indent + 1))
    if attrs:
        sections.append(_aligned([(k, render_value(v, indent + 1)) for k, v in attrs.items()], indent + 1))
    sections.extend([render_block(child, indent + 1)] for child in item.blocks)
    if tail:
        sections.append(_aligned([(k, render_value(v, indent + 1)) for k, v in tail.items()], indent + 1))
    for i, section in enumerate(sections):
        if i:
            lines.append("")
        lines.extend(section)
    lines.append(f"{pad}}}")
    return "\n".join(lines)


def render_file(blocks: Sequence[Block]) -> str:
    """One ``.tf`` file: top-level blocks separated by a blank line, ending in a newline."""
    return "\n\n".join(render_block(b) for b in blocks) + "\n"
