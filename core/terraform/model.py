"""The typed Terraform module model: values, expressions, blocks and a module of files.

archops never pastes strings together to produce Terraform. Everything a blueprint emits is built
from these types and rendered by :mod:`core.terraform.hcl`, so the output always parses and every
literal is escaped. Expressions (references, function calls, templates, conditionals) are typed
too, which lets the combiner and the diagram see which resource refers to which.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from core.errors import ValidationError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def check_identifier(name: str, what: str = "name") -> str:
    """Refuse a name Terraform would not accept as an identifier (resource, variable...)."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise ValidationError(
            f"{what} {name!r} is not a valid Terraform identifier",
            hint="use letters, digits, '_' and '-', starting with a letter or '_'",
        )
    return name


class Expr:
    """An HCL expression (rendered without quotes)."""

    def refs(self) -> Iterator[Ref]:
        """Every reference inside this expression (for dependency and diagram edges)."""
        return iter(())


Value = Union[None, bool, int, float, str, Expr, Sequence["Value"], Mapping[str, "Value"]]  # noqa: UP007


def iter_refs(value: Any) -> Iterator[Ref]:
    """Walk a value and yield the references it contains."""
    if isinstance(value, Expr):
        yield from value.refs()
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_refs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_refs(item)


SPLAT = "*"


@dataclass(frozen=True)
class Ref(Expr):
    """A traversal: ``aws_vpc.main.id``, ``var.region``, ``aws_subnet.private[*].id``.

    Parts are attribute names; an ``int`` or an :class:`Expr` part is an index (``[0]``,
    ``[count.index]``) and ``"*"`` a splat (``[*]``).
    """

    parts: tuple[str | int | Expr, ...]

    def __init__(self, *parts: str | int | Expr) -> None:
        if not parts or not isinstance(parts[0], str) or parts[0] == SPLAT:
            raise ValidationError(f"a reference must start with a name, got {parts!r}")
        for part in parts:
            if isinstance(part, str) and part != SPLAT:
                check_identifier(part, "reference part")
        object.__setattr__(self, "parts", tuple(parts))

    def attr(self, *more: str | int | Expr) -> Ref:
        return Ref(*self.parts, *more)

    @property
    def address(self) -> str | None:
        """The resource address it points at (``aws_vpc.main``, ``data.x.y``), if any."""
        names = [p for p in self.parts if isinstance(p, str) and p != SPLAT]
        if self.parts[0] in {"var", "local", "count", "each", "path", "terraform", "self"}:
            return None
        if self.parts[0] == "data" and len(names) >= 3:
            return f"data.{names[1]}.{names[2]}"
        if self.parts[0] == "module" and len(names) >= 2:
            return f"module.{names[1]}"
        if len(names) >= 2:
            return f"{names[0]}.{names[1]}"
        return None

    def refs(self) -> Iterator[Ref]:
        yield self
        for part in self.parts:
            if isinstance(part, Expr):
                yield from part.refs()


@dataclass(frozen=True)
class Call(Expr):
    """A function call: ``cidrsubnet(var.cidr, 4, count.index)``, ``jsonencode({...})``."""

    name: str
    args: tuple[Any, ...]

    def __init__(self, name: str, *args: Any) -> None:
        check_identifier(name, "function name")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "args", tuple(args))

    def refs(self) -> Iterator[Ref]:
        for arg in self.args:
            yield from iter_refs(arg)


@dataclass(frozen=True)
class Template(Expr):
    """A string template: literal parts are escaped, expression parts become ``${...}``."""

    parts: tuple[Any, ...]

    def __init__(self, *parts: str | Expr) -> None:
        object.__setattr__(self, "parts", tuple(parts))

    def refs(self) -> Iterator[Ref]:
        for part in self.parts:
            yield from iter_refs(part)


@dataclass(frozen=True)
class Op(Expr):
    """A binary operation: ``var.count > 1``, ``var.env == "prod"``."""

    left: Any
    op: str
    right: Any

    _OPS = frozenset({"==", "!=", "<", ">", "<=", ">=", "&&", "||", "+", "-", "*", "/", "%"})

    def __post_init__(self) -> None:
        if self.op not in self._OPS:
            raise ValidationError(f"unsupported operator {self.op!r}")

    def refs(self) -> Iterator[Ref]:
        yield from iter_refs(self.left)
        yield from iter_refs(self.right)


@dataclass(frozen=True)
class Cond(Expr):
    """A conditional: ``cond ? a : b``."""

    cond: Any
    then: Any
    otherwise: Any

    def refs(self) -> Iterator[Ref]:
        for value in (self.cond, self.then, self.otherwise):
            yield from iter_refs(value)


@dataclass(frozen=True)
class ForMap(Expr):
    """A for expression building an object: ``{ for x in coll : key => value }``."""

    name: str
    collection: Any
    key: Any
    value: Any

    def __post_init__(self) -> None:
        check_identifier(self.name, "for variable")

    def refs(self) -> Iterator[Ref]:
        for item in (self.collection, self.key, self.value):
            for ref in iter_refs(item):
                if ref.parts[0] != self.name:
                    yield ref


@dataclass(frozen=True)
class ForList(Expr):
    """A for expression building a list: ``[for r in aws_route53_record.v : r.fqdn]`` (what a
    splat cannot do over a ``for_each`` resource, whose instances form a map)."""

    name: str
    collection: Any
    value: Any

    def __post_init__(self) -> None:
        check_identifier(self.name, "for variable")

    def refs(self) -> Iterator[Ref]:
        for item in (self.collection, self.value):
            for ref in iter_refs(item):
                if ref.parts[0] != self.name:
                    yield ref


@dataclass(frozen=True)
class Keyword(Expr):
    """A bare keyword where Terraform wants one (``create_before_destroy`` values aside)."""

    word: str

    def __post_init__(self) -> None:
        check_identifier(self.word, "keyword")


def var(name: str) -> Ref:
    return Ref("var", name)


def local(name: str) -> Ref:
    return Ref("local", name)


def jsonencode(value: Value) -> Call:
    """A policy document as ``jsonencode({...})``: typed, escaped, no heredocs."""
    return Call("jsonencode", value)


@dataclass
class Block:
    """A block: ``type "label" "label" { attributes... nested blocks... }``.

    ``attrs`` keep their insertion order; ``blocks`` render after them. ``tail`` holds
    attributes and blocks that convention puts last (``lifecycle``, ``depends_on``).
    """

    type: str
    labels: tuple[str, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    comment: str | None = None
    # policy checks waived for this block: check id -> the written reason shown to users
    skips: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_identifier(self.type, "block type")
        self.labels = tuple(self.labels)
        for name in self.attrs:
            check_identifier(name, f"argument of {self.type}")

    def set(self, name: str, value: Any) -> Block:
        check_identifier(name, f"argument of {self.type}")
        self.attrs[name] = value
        return self

    def add(self, *blocks: Block) -> Block:
        self.blocks.extend(blocks)
        return self

    def skip(self, check_id: str, reason: str) -> Block:
        """Waive a policy check here, with the reason a reviewer will read."""
        if not re.match(r"^[A-Za-z0-9_.-]+$", check_id) or not reason.strip() or "\n" in reason:
            raise ValidationError(f"a skip needs a check id and a one-line reason, got {check_id!r}")
        self.skips[check_id] = reason.strip()
        return self

    def refs(self) -> Iterator[Ref]:
        yield from iter_refs(self.attrs)
        for block in self.blocks:
            yield from block.refs()


def block(type_: str, /, *labels: str, **attrs: Any) -> Block:
    """A nested block (``ingress { ... }``) or a top-level one with labels."""
    return Block(type_, labels, dict(attrs))


def resource(rtype: str, name: str, /, *children: Block, **attrs: Any) -> Block:
    """A ``resource "type" "name"`` block; ``depends_on``/``lifecycle`` go last as convention says."""
    check_identifier(rtype, "resource type")
    check_identifier(name, "resource name")
    meta: dict[str, Any] = {k: attrs.pop(k) for k in ("count", "for_each", "provider") if k in attrs}
    depends_on = attrs.pop("depends_on", None)
    merged: dict[str, Any] = {**meta, **attrs}
    out = Block("resource", (rtype, name), merged, list(children))
    if depends_on:
        out.attrs["depends_on"] = list(depends_on)
    return out


def data(dtype: str, name: str, /, *children: Block, **attrs: Any) -> Block:
    check_identifier(dtype, "data source type")
    check_identifier(name, "data source name")
    return Block("data", (dtype, name), dict(attrs), list(children))


def variable(
    name: str,
    type_: str,
    description: str,
    default: Any = ...,
    *,
    sensitive: bool = False,
    validation: tuple[Expr, str] | None = None,
) -> Block:
    """A ``variable`` block; ``type_`` is a type constraint such as ``string`` or ``list(string)``."""
    attrs: dict[str, Any] = {"description": description, "type": TypeExpr(type_)}
    if default is not ...:
        attrs["default"] = default
    if sensitive:
        attrs["sensitive"] = True
    out = Block("variable", (check_identifier(name, "variable name"),), attrs)
    if validation is not None:
        condition, message = validation
        out.add(block("validation", condition=condition, error_message=message))
    return out


def output(name: str, value: Any, description: str, *, sensitive: bool = False) -> Block:
    attrs: dict[str, Any] = {"description": description, "value": value}
    if sensitive:
        attrs["sensitive"] = True
    return Block("output", (check_identifier(name, "output name"),), attrs)


_TYPE = re.compile(r"^(string|number|bool|any|(list|set|map)\((string|number|bool|any)\))$")


@dataclass(frozen=True)
class TypeExpr(Expr):
    """A type constraint (``string``, ``list(string)``, ``map(string)``)."""

    text: str

    def __post_init__(self) -> None:
        if not _TYPE.match(self.text):
            raise ValidationError(f"unsupported type constraint {self.text!r}")


@dataclass
class Module:
    """A root module: file name -> blocks, rendered file by file."""

    files: dict[str, list[Block]] = field(default_factory=dict)

    def add(self, file: str, *blocks: Block) -> None:
        if not file.endswith(".tf") or "/" in file:
            raise ValidationError(f"module file {file!r} must be a plain '*.tf' name")
        self.files.setdefault(file, []).extend(blocks)

    def blocks(self) -> Iterator[tuple[str, Block]]:
        for file, blocks in self.files.items():
            for item in blocks:
                yield file, item

    def addresses(self) -> dict[str, Block]:
        """Every resource and data source by address (``aws_vpc.main``, ``data.x.y``)."""
        out: dict[str, Block] = {}
        for _file, item in self.blocks():
            if item.type == "resource":
                address = ".".join(item.labels)
            elif item.type == "data":
                address = "data." + ".".join(item.labels)
            else:
                continue
            if address in out:
                raise ValidationError(f"{address} is defined twice in the module")
            out[address] = item
        return out

    def render(self) -> dict[str, str]:
        from core.terraform.hcl import render_file

        return {name: render_file(blocks) for name, blocks in sorted(self.files.items()) if blocks}


# -- blocks as plain data (a checkpoint holds them; they rebuild into the same typed blocks) ----
_EXPR = "$expr"


def value_to_data(value: Any) -> Any:
    """A value as JSON-able data: literals as they are, each expression as ``{"$expr": kind, ...}``
    (a mapping that itself holds the key ``$expr`` is wrapped, so nothing is ambiguous)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Ref):
        return {_EXPR: "ref", "parts": [value_to_data(p) for p in value.parts]}
    if isinstance(value, Call):
        return {_EXPR: "call", "name": value.name, "args": [value_to_data(a) for a in value.args]}
    if isinstance(value, Template):
        return {_EXPR: "template", "parts": [value_to_data(p) for p in value.parts]}
    if isinstance(value, Op):
        return {_EXPR: "op", "left": value_to_data(value.left), "op": value.op, "right": value_to_data(value.right)}
    if isinstance(value, Cond):
        return {_EXPR: "cond", "cond": value_to_data(value.cond), "then": value_to_data(value.then),
                "otherwise": value_to_data(value.otherwise)}
    if isinstance(value, ForMap):
        return {_EXPR: "for_map", "name": value.name, "collection": value_to_data(value.collection),
                "key": value_to_data(value.key), "value": value_to_data(value.value)}
    if isinstance(value, ForList):
        return {_EXPR: "for_list", "name": value.name, "collection": value_to_data(value.collection),
                "value": value_to_data(value.value)}
    if isinstance(value, Keyword):
        return {_EXPR: "keyword", "word": value.word}
    if isinstance(value, TypeExpr):
        return {_EXPR: "type", "text": value.text}
    if isinstance(value, Mapping):
        items = {str(k): value_to_data(v) for k, v in value.items()}
        return {_EXPR: "map", "items": items} if _EXPR in items else items
    if isinstance(value, (list, tuple)):
        return [value_to_data(v) for v in value]
    raise ValidationError(f"cannot keep a {type(value).__name__} as data")


def value_from_data(data: Any) -> Any:
    """The value :func:`value_to_data` made ``data`` from."""
    if isinstance(data, list):
        return [value_from_data(v) for v in data]
    if not isinstance(data, dict):
        return data
    kind = data.get(_EXPR)
    if kind is None:
        return {k: value_from_data(v) for k, v in data.items()}
    build = _DECODERS.get(kind)
    if build is None:
        raise ValidationError(f"unknown expression kind {kind!r} in stored data")
    return build(data)


_DECODERS: dict[str, Any] = {
    "ref": lambda d: Ref(*[value_from_data(p) for p in d["parts"]]),
    "call": lambda d: Call(d["name"], *[value_from_data(a) for a in d["args"]]),
    "template": lambda d: Template(*[value_from_data(p) for p in d["parts"]]),
    "op": lambda d: Op(value_from_data(d["left"]), d["op"], value_from_data(d["right"])),
    "cond": lambda d: Cond(value_from_data(d["cond"]), value_from_data(d["then"]), value_from_data(d["otherwise"])),
    "for_map": lambda d: ForMap(d["name"], value_from_data(d["collection"]), value_from_data(d["key"]), value_from_data(d["value"])),
    "for_list": lambda d: ForList(d["name"], value_from_data(d["collection"]), value_from_data(d["value"])),
    "keyword": lambda d: Keyword(d["word"]),
    "type": lambda d: TypeExpr(d["text"]),
    "map": lambda d: {k: value_from_data(v) for k, v in d["items"].items()},
}


def block_to_data(item: Block) -> dict[str, Any]:
    """A block as JSON-able data (:func:`block_from_data` rebuilds it)."""
    return {
        "type": item.type,
        "labels": list(item.labels),
        "attrs": {k: value_to_data(v) for k, v in item.attrs.items()},
        "blocks": [block_to_data(b) for b in item.blocks],
        "comment": item.comment,
        "skips": dict(item.skips),
    }


def block_from_data(data: Mapping[str, Any]) -> Block:
    out = Block(
        data["type"], tuple(data.get("labels", ())),
        {k: value_from_data(v) for k, v in data.get("attrs", {}).items()},
        [block_from_data(b) for b in data.get("blocks", [])],
        data.get("comment"),
    )
    for check, reason in data.get("skips", {}).items():
        out.skip(check, reason)
    return out
