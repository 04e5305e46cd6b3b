"""Arguments, blocks and literal values checked against the real AWS provider schema.

What ``terraform validate`` would say with the provider installed: unknown resource types,
unknown arguments and blocks, missing required ones, and literal values of the wrong type, each
with the nearest valid name as a hint. Values that are expressions are left to Terraform's
plan (they are unknown until then).
"""

from __future__ import annotations

from typing import Any

from core.terraform.findings import Finding
from core.terraform.parse import META_ARGUMENTS, Item, ParsedModule
from core.terraform.schema import BlockSchema, ProviderSchema, nearest
from core.terraform.structure import Block

_BOOL_STRINGS = {"true", "false"}


def _finding(item: Item, check: str, argument: str, line: int, message: str, fix: str) -> Finding:
    return Finding(
        check_id=check,
        severity="high",
        pillar="operational_excellence",
        address=item.address,
        argument=argument,
        file=item.file,
        line=line,
        message=message,
        fix=fix,
    )


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def type_error(value: Any, expected: str) -> str | None:
    """Why a literal cannot convert to a Terraform type, or None when it can (or is unknown)."""
    if value is None or is_expression(value) or expected in ("any", "object"):
        return None
    if expected == "string":
        return None if not isinstance(value, list | dict) else f"a {_kind(value)} is not a string"
    if expected == "number":
        if isinstance(value, bool) or isinstance(value, list | dict):
            return f"a {_kind(value)} is not a number"
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return f'"{value}" is not a number'
        return None
    if expected == "bool":
        if isinstance(value, bool):
            return None
        if isinstance(value, str) and value in _BOOL_STRINGS:
            return None
        return f"{_show(value)} is not a bool (true or false)"
    inner = expected[expected.index("(") + 1 : -1] if "(" in expected else "any"
    if expected.startswith("list"):
        if not isinstance(value, list):
            return f"{_show(value)} is not a list"
        return next((e for e in (type_error(v, inner) for v in value) if e), None)
    if expected.startswith("map"):
        if not isinstance(value, dict):
            return f"{_show(value)} is not a map"
        return next((e for e in (type_error(v, inner) for v in value.values()) if e), None)
    return None


def _kind(value: Any) -> str:
    return {list: "list", dict: "map", bool: "bool", str: "string"}.get(type(value), "number")


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else f"a {_kind(value)}"


def _check_body(
    item: Item, block: Block, values: dict[str, Any], schema: BlockSchema, path: str
) -> list[Finding]:
    if schema.open:
        return []
    out: list[Finding] = []
    known = list(schema.arguments) + list(schema.blocks)
    top = path == ""
    for name, attr in block.attrs.items():
        if top and name in META_ARGUMENTS:
            continue
        arg = f"{path}{name}"
        if name in schema.arguments:
            problem = type_error(values.get(name), schema.arguments[name][0])
            if problem:
                out.append(_finding(item, "schema_wrong_type", arg, attr.line,
                                    f"{arg}: {problem}; expected {schema.arguments[name][0]}",
                                    f"give {arg} a {schema.arguments[name][0]} value"))
        elif name not in schema.blocks:
            hint = nearest(name, known)
            out.append(_finding(item, "schema_unknown_argument", arg, attr.line,
                                f'{item.type} has no argument "{arg}"',
                                f'did you mean "{hint}"?' if hint else "remove it"))
    present = set(block.attrs)
    for child in block.blocks:
        name = child.labels[0] if child.type == "dynamic" and child.labels else child.type
        present.add(name)
        if top and name in ("lifecycle", "provisioner", "connection"):
            continue
        nested = schema.block(name)
        if nested is None and schema.arguments.get(name, [""])[0] == "any":
            continue  # a block the provider leaves untyped (WAF statements): not checked inside
        if nested is None:
            hint = nearest(name, known)
            out.append(_finding(item, "schema_unknown_block", f"{path}{name}", child.line,
                                f'{item.type} has no block "{path}{name}"',
                                f'did you mean "{hint}"?' if hint else "remove the block"))
            continue
        if child.type == "dynamic":
            continue
        siblings = [c for c in block.blocks if c.type == name]
        raw = values.get(name)
        idx = siblings.index(child)
        sub = raw[idx] if isinstance(raw, list) and idx < len(raw) and isinstance(raw[idx], dict) else {}
        out += _check_body(item, child, sub, nested[2], f"{path}{name}.")
    for name, (_type, required) in schema.arguments.items():
        if required and name not in present:
            out.append(_finding(item, "schema_missing_required", f"{path}{name}", block.line,
                                f"{item.type} requires the argument {path}{name}",
                                f"set {path}{name} ({_type})"))
    for name, entry in schema.blocks.items():
        if entry[1] and name not in present:
            out.append(_finding(item, "schema_missing_required", f"{path}{name}", block.line,
                                f"{item.type} requires a {path}{name} block",
                                f"add a {path}{name} {{ ... }} block"))
    return out


def check_schema(module: ParsedModule, schema: ProviderSchema) -> list[Finding]:
    """Every resource and data source of the module against the provider schema."""
    out: list[Finding] = []
    for item in module.items:
        if item.kind not in ("resource", "data"):
            continue
        if not item.type.startswith("aws_"):
            continue  # other providers (random, tls, archive) are not in this schema
        rschema = schema.resource(item.type, data=item.kind == "data")
        if rschema is None:
            hint = schema.nearest_type(item.type, data=item.kind == "data")
            what = "data source" if item.kind == "data" else "resource type"
            out.append(_finding(item, "schema_unknown_resource_type", "", item.line,
                                f'hashicorp/aws {schema.version} has no {what} "{item.type}"',
                                f'did you mean "{hint}"?' if hint else "use a type the provider has"))
            continue
        out += _check_body(item, item.block, item.values, rschema, "")
    return out
