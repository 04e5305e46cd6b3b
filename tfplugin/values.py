"""Terraform values on the wire (cty's msgpack encoding) and walks over them with a schema.

Terraform sends and expects every value as msgpack of the schema's implied type:

- an unknown value is the extension ``ExtType(0, ...)``;
- a set travels as an array; an object or map as a map with string keys;
- a value of a ``dynamic`` attribute travels as ``[type JSON (bytes), value]`` when known.

A decoded value is plain Python (``None``, str, int/float, bool, list, dict) with :data:`UNKNOWN`
in place of unknowns, and encodes back to the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack

UNKNOWN = msgpack.ExtType(0, b"\x00")


def is_unknown(value: Any) -> bool:
    return isinstance(value, msgpack.ExtType) and value.code in (0, 0x0C)


def decode(data: bytes) -> Any:
    if not data:
        return None
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def encode(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


def type_json(cty: Any) -> bytes:
    return json.dumps(cty, separators=(",", ":")).encode()


def wholly_known(value: Any) -> bool:
    if is_unknown(value):
        return False
    if isinstance(value, dict):
        return all(wholly_known(v) for v in value.values())
    if isinstance(value, list):
        return all(wholly_known(v) for v in value)
    return True


def dynamic(cty: Any, value: Any) -> list[Any]:
    """A known value of a ``dynamic`` attribute, as cty encodes it."""
    return [type_json(cty), value]


def empty_block(block: dict[str, Any]) -> dict[str, Any]:
    """An object of the block's type with every attribute null and every nested block empty."""
    out: dict[str, Any] = {name: None for name in block.get("attributes", {})}
    for name, nested in block.get("block_types", {}).items():
        out[name] = None if nested["nesting"] == "single" else ([] if nested["nesting"] != "map" else {})
    return out


def nested_items(nested: dict[str, Any], value: Any) -> list[Any]:
    """The objects a nested block's value holds (none when null or unknown)."""
    if value is None or is_unknown(value):
        return []
    if nested["nesting"] == "single":
        return [value]
    if isinstance(value, dict):
        return list(value.values())
    return list(value)
