"""What a policy rule is: where it hits, its metadata, and the small helpers rules share.

Rules read literal values only: a value that is an expression (a variable, a reference) is
trusted, since it cannot be known before plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.terraform.edit import Edit, set_or_add
from core.terraform.findings import Pillar, Severity
from core.terraform.parse import Item, ParsedModule
from core.terraform.schema_check import is_expression
from core.terraform.structure import Block


@dataclass
class Hit:
    """Where a rule found its problem; ``block`` is the (nested) block holding ``argument``."""

    item: Item
    argument: str
    line: int
    message: str
    block: Block | None = None


Repair = Callable[[Hit, ParsedModule], list[Edit]]


@dataclass(frozen=True)
class Rule:
    id: str
    pillar: Pillar
    severity: Severity
    fix: str
    evaluate: Callable[[ParsedModule], list[Hit]]
    repair: Repair | None = None
    checkov: tuple[str, ...] = field(default_factory=tuple)
    # False: a written skip in the module does not waive it (execution and exfiltration rules:
    # the author of a module under review must not be the one who decides its commands are fine)
    waivable: bool = True


def is_true(value: Any) -> bool:
    return value is True or value == "true"


def literal(values: dict[str, Any], name: str) -> Any:
    value = values.get(name)
    return None if is_expression(value) else value


def text_of(module: ParsedModule, item: Item) -> str:
    return module.files[item.file]


def typed(types: tuple[str, ...], check: Callable[[Item], Hit | None]) -> Callable[[ParsedModule], list[Hit]]:
    def evaluate(module: ParsedModule) -> list[Hit]:
        return [h for h in (check(i) for i in module.resources if i.type in types) if h]
    return evaluate


def want_true(arg: str, message: str) -> Callable[[Item], Hit | None]:
    def check(item: Item) -> Hit | None:
        value = item.values.get(arg)
        if is_true(value) or is_expression(value):
            return None
        return Hit(item, arg, item.arg_line(arg), message, item.block)
    return check


def set_arg(arg: str, value: str) -> Repair:
    def repair(hit: Hit, module: ParsedModule) -> list[Edit]:
        return [set_or_add(hit.item, hit.item.block, arg, value, text_of(module, hit.item))]
    return repair
