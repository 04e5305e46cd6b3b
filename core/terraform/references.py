"""Every reference resolves, nothing depends on itself, count and for_each are used consistently.

Terraform would refuse these at plan time; catching them here lets the fixer repair them and
tells the user which argument of which resource is wrong.
"""

from __future__ import annotations

import re

from core.terraform.findings import Finding
from core.terraform.parse import Item, ParsedModule, Reference, mask_literals
from core.terraform.schema import ProviderSchema, nearest

_COUNT_INDEX = re.compile(r"(?<![\w.])count\.index\b")
_EACH = re.compile(r"(?<![\w.])each\.(key|value)\b")
_NUMBER_INDEX = re.compile(r"\[\s*\d+\s*\]")
_STRING_INDEX = re.compile(r'\[\s*"[^"]*"\s*\]')


def _finding(item: Item, ref: Reference | None, check: str, message: str, fix: str,
             argument: str = "", line: int = 0) -> Finding:
    return Finding(
        check_id=check,
        severity="high",
        pillar="reliability",
        address=item.address,
        argument=ref.argument if ref else argument,
        file=item.file,
        line=ref.line if ref else line or item.line,
        message=message,
        fix=fix,
    )


def _declared(module: ParsedModule) -> dict[str, Item]:
    return {item.address: item for item in module.items}


def _is_resource_root(target: str, declared: dict[str, Item], schema: ProviderSchema | None) -> bool:
    """Whether ``x_y.z`` names a resource (and not a for-expression's iteration variable)."""
    rtype = target.split(".", 1)[0]
    if any(a.startswith(rtype + ".") for a in declared):
        return True
    if schema is not None and rtype in schema.resources:
        return True
    return rtype.startswith("aws_")


def _repeated(item: Item) -> bool:
    return "count" in item.block.attrs or "for_each" in item.block.attrs


def _check_ref(item: Item, ref: Reference, declared: dict[str, Item],
               schema: ProviderSchema | None) -> list[Finding]:
    target = ref.target
    kind = target.split(".", 1)[0]
    if kind not in ("var", "local", "module", "data") and not _is_resource_root(target, declared, schema):
        return []
    if target not in declared:
        same = [a for a in declared if a.split(".")[0] == kind or kind not in ("var", "local", "module", "data")]
        hint = nearest(target, same)
        what = {"var": "variable", "local": "local value", "module": "module", "data": "data source"}
        return [_finding(item, ref, "reference_dangling",
                         f"{ref.argument} refers to {what.get(kind, 'resource')} {target}, "
                         "which is not declared in this module",
                         f"use {hint}" if hint else f"declare {target} or remove the reference")]
    other = declared[target]
    out: list[Finding] = []
    if other.kind in ("resource", "data") and ref.argument != "depends_on":
        if _repeated(other) and ref.attribute and not ref.indexed:
            out.append(_finding(item, ref, "reference_missing_index",
                                f"{target} uses count or for_each, so {target}.{ref.attribute} "
                                "needs an instance key",
                                f"write {target}[0].{ref.attribute}, {target}[*].{ref.attribute} "
                                "or iterate over it"))
        elif not _repeated(other) and ref.indexed:
            out.append(_finding(item, ref, "reference_unexpected_index",
                                f"{target} has neither count nor for_each, so it takes no index",
                                f"write {target}.{ref.attribute or 'id'} without the index"))
        elif "for_each" in other.block.attrs and _NUMBER_INDEX.fullmatch(ref.index):
            out.append(_finding(item, ref, "reference_wrong_index",
                                f"{target} uses for_each: its instances are keyed by string, not {ref.index}",
                                f'write {target}["<key>"] or iterate with values({target})'))
        elif "count" in other.block.attrs and _STRING_INDEX.fullmatch(ref.index):
            out.append(_finding(item, ref, "reference_wrong_index",
                                f"{target} uses count: its instances are numbered, not {ref.index}",
                                f"write {target}[0] (or use for_each for named instances)"))
        rschema = schema.resource(other.type, other.kind == "data") if schema else None
        if rschema and ref.attribute and ref.attribute not in rschema.attributes:
            hint = nearest(ref.attribute, rschema.attributes)
            out.append(_finding(item, ref, "reference_unknown_attribute",
                                f'{other.type} exports no attribute "{ref.attribute}"',
                                f"use {target}.{hint}" if hint else "use an exported attribute"))
    return out


def _meta_usage(item: Item) -> list[Finding]:
    out: list[Finding] = []
    for attr in _all_attrs(item):
        masked = mask_literals(attr.text)
        if _COUNT_INDEX.search(masked) and "count" not in item.block.attrs:
            out.append(_finding(item, None, "reference_count_without_count",
                                "count.index is used but the resource sets no count",
                                "set count, or stop using count.index", attr.name, attr.line))
        if _EACH.search(masked) and "for_each" not in item.block.attrs:
            out.append(_finding(item, None, "reference_each_without_for_each",
                                "each.key/each.value is used but the resource sets no for_each",
                                "set for_each, or stop using each", attr.name, attr.line))
    return out


def _all_attrs(item: Item) -> list:
    out, stack = [], [item.block]
    while stack:
        block = stack.pop()
        if block.type == "dynamic":
            continue  # a dynamic block's iterator is its own
        out += list(block.attrs.values())
        stack += block.blocks
    return out


def find_cycles(module: ParsedModule) -> list[list[str]]:
    """Strongly connected components of more than one item, or an item referring to itself."""
    declared = _declared(module)
    graph = {
        item.address: sorted({r.target for r in item.references if r.target in declared})
        for item in module.items
        if item.kind not in ("output", "variable")
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan; modules are small, recursion depth is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            comp = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                comp.append(top)
                if top == node:
                    break
            if len(comp) > 1 or node in graph.get(node, []):
                cycles.append(sorted(comp))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def check_references(module: ParsedModule, schema: ProviderSchema | None) -> list[Finding]:
    declared = _declared(module)
    out: list[Finding] = []
    for item in module.items:
        for ref in item.references:
            if item.kind == "variable" and ref.target == item.address:
                continue  # a variable's validation reads the variable itself
            out += _check_ref(item, ref, declared, schema)
        if item.kind in ("resource", "data", "module"):
            out += _meta_usage(item)
    for cycle in find_cycles(module):
        first = declared[cycle[0]]
        cyclic = next((r for r in first.references if r.target in cycle), None)
        chain = " -> ".join(cycle + [cycle[0]])
        out.append(_finding(first, cyclic, "reference_cycle",
                            f"dependency cycle: {chain}",
                            "break the cycle: move the shared rule into its own resource "
                            "(e.g. aws_security_group_rule) or drop one reference"))
    return out
