"""What a follow-up changed: the final module compared with the conversation's previous one.

After each review the fixer keeps a :func:`snapshot` of the design it delivered (every resource
and data source with its arguments as written, the variables' defaults, the blueprints, the
settings the requirements chose, the cost). The next design in the conversation is compared with
it: resources added, removed and changed (which arguments, old -> new when short), settings
changed (region, environment...), and the monthly cost before and after. When nothing changed,
:func:`explain` says why: what the message named is already in the design, the design is already
at its cheapest for its environment, or the message named nothing archops can change.
"""

from __future__ import annotations

import re
from typing import Any

from agents.messages import has, t
from agents.requirements import Requirements
from core.terraform.structure import Block, scan

# the requirements whose change the summary names (region: "us-east-1 -> ap-northeast-2")
SETTINGS = ("region", "environment", "availability", "nat", "database", "compute", "domain", "internal", "lambda_runtime")
_SHORT = 40


def _flatten(block: Block, prefix: str = "") -> dict[str, str]:
    out = {f"{prefix}{name}": " ".join(attr.text.split()) for name, attr in block.attrs.items()}
    seen: dict[str, int] = {}
    for child in block.blocks:
        index = seen.get(child.type, 0)
        seen[child.type] = index + 1
        label = f"{child.type}[{index}]" if index else child.type
        out.update(_flatten(child, f"{prefix}{label}."))
    return out


def snapshot(req: Requirements, plan: dict[str, Any], files: dict[str, str], cost: dict[str, Any] | None) -> dict[str, Any]:
    """The design as delivered, in plain JSON (it is kept in the conversation's checkpoint)."""
    blocks: dict[str, dict[str, str]] = {}
    for name, body in sorted(files.items()):
        if not name.endswith(".tf"):
            continue
        for block in scan(body):
            if block.type in {"resource", "data"} and len(block.labels) == 2:
                prefix = "data." if block.type == "data" else ""
                blocks[f"{prefix}{block.labels[0]}.{block.labels[1]}"] = _flatten(block)
            elif block.type == "variable" and block.labels and "default" in block.attrs:
                blocks[f"var.{block.labels[0]}"] = {"default": " ".join(block.attrs["default"].text.split())}
    return {
        "blocks": blocks,
        "blueprints": sorted(item["id"] for item in plan.get("items", [])),
        "settings": _settings(req, {item["id"] for item in plan.get("items", [])}),
        "components": sorted(c for c in req.components if c not in req.removed),
        "monthly_total": (cost or {}).get("monthly_total"),
    }


def _settings(req: Requirements, blueprints: set[str]) -> dict[str, Any]:
    """The settings as the design applies them: NAT only where there is a VPC, availability
    only where something runs in more than one AZ, the runtime only with a function."""
    out: dict[str, Any] = {field: getattr(req, field) for field in SETTINGS}
    out["nat"] = (req.nat or ("per_az" if req.production else "single")) if "vpc" in blueprints else None
    out["availability"] = ("multi_az" if req.multi_az else "single_az") if blueprints & {"rds", "aurora", "redis", "ecs", "asg"} else None
    out["lambda_runtime"] = req.lambda_runtime if "lambda" in blueprints else None
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Added, removed and changed blocks, changed settings, and the cost before and after."""
    old, new = before.get("blocks", {}), after.get("blocks", {})
    changed: dict[str, list[dict[str, str | None]]] = {}
    for address in sorted(set(old) & set(new)):
        if old[address] == new[address]:
            continue
        names = sorted(set(old[address]) | set(new[address]))
        changed[address] = [{"argument": n, "before": old[address].get(n), "after": new[address].get(n)}
                            for n in names if old[address].get(n) != new[address].get(n)]
    settings = {field: [before.get("settings", {}).get(field), value] for field, value in after.get("settings", {}).items()
                if before.get("settings", {}).get(field) != value}
    return {
        "added": sorted(a for a in set(new) - set(old) if not a.startswith("var.")),
        "removed": sorted(a for a in set(old) - set(new) if not a.startswith("var.")),
        "changed": changed,
        "settings": settings,
        "cost": [before.get("monthly_total"), after.get("monthly_total")],
    }


def empty(changes: dict[str, Any]) -> bool:
    return not (changes["added"] or changes["removed"] or changes["changed"] or changes["settings"])


def explain(changes: dict[str, Any], before: dict[str, Any], req: Requirements, named: set[str], cheaper: bool) -> list[str]:
    """Why a follow-up changed nothing (or less than it named), in the conversation's language:
    each component the message named that the previous design already had, a request for less
    cost when the design is already at its cheapest, or that the message named nothing to change."""
    lang = req.language
    out: list[str] = []
    already = sorted(c for c in named if c in before.get("blueprints", []) or c in before.get("components", []))
    if already:
        out.append(t("chg.already", lang, what=", ".join(component_name(c, lang) for c in already)))
    old_cost, new_cost = changes["cost"]
    if cheaper and not (old_cost is not None and new_cost is not None and new_cost < old_cost):
        out.append(t("chg.cheapest", lang, environment=t(f"env.{req.environment or 'production'}", lang)))
    if empty(changes) and not out:
        out.append(t("chg.nothing_named", lang))
    return out


def component_name(component: str, lang: str) -> str:
    key = f"cap.{ {'cloudfront': 'cdn'}.get(component, component)}"
    return t(key, lang) if has(key) else component


def _value(text: str | None) -> str:
    if text is None:
        return "—"
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def render(changes: dict[str, Any], notes: list[str], lang: str, version: int) -> str:
    """The change list as the reply shows it (an empty string when there was no earlier design)."""
    lines = [t("chg.head", lang, before=version - 1, after=version)]
    if empty(changes):
        lines = [t("chg.none", lang, version=version - 1)]
    for field, (old, new) in sorted(changes["settings"].items()):
        name = t(f"field.{field}", lang) if has(f"field.{field}") else field
        lines.append(t("chg.setting", lang, field=name, before=_value(_label(field, old, lang)), after=_value(_label(field, new, lang))))
    if changes["added"]:
        lines.append(t("chg.added", lang, count=len(changes["added"]), items=_list(changes["added"])))
    if changes["removed"]:
        lines.append(t("chg.removed", lang, count=len(changes["removed"]), items=_list(changes["removed"])))
    if changes["changed"]:
        parts = []
        for address, diffs in changes["changed"].items():
            shown = [f"{d['argument']}: {_value(d['before'])} → {_value(d['after'])}" for d in diffs[:3]]
            more = f", +{len(diffs) - 3}" if len(diffs) > 3 else ""
            parts.append(f"{address} ({'; '.join(shown)}{more})")
        lines.append(t("chg.changed", lang, count=len(changes["changed"]), items=_list(parts, 6)))
    old_cost, new_cost = changes["cost"]
    if old_cost is not None and new_cost is not None and round(old_cost) == round(new_cost):
        lines.append(t("chg.cost_same", lang, total=f"{new_cost:,.0f}"))
    elif old_cost is not None and new_cost is not None:
        lines.append(t("chg.cost", lang, before=f"{old_cost:,.0f}", after=f"{new_cost:,.0f}", delta=_delta(new_cost - old_cost)))
    lines.extend(f"- {note}" for note in notes)
    return "\n".join(lines)


def _label(field: str, value: Any, lang: str) -> str | None:
    """A setting's value as the questions name it ("One NAT gateway", "운영")."""
    key = {"nat": f"q.nat.{value}", "environment": f"env.{value}"}.get(field, "")
    return t(key, lang) if key and has(key) else _str(value)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _delta(amount: float) -> str:
    return f"{'+' if amount >= 0 else '−'}${abs(amount):,.0f}"


def _list(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … (+{len(items) - limit})" if len(items) > limit else "")


# the message asks for less cost ("make it cheaper", "reduce the cost", "더 싸게")
CHEAPER_RE = re.compile(
    r"\bcheap(?:er|est)?\b|\bless expensive\b|\b(?:reduce|lower|cut|save on|minimi[sz]e)\s+(?:the\s+|our\s+)?(?:cost|costs|bill|spend)|"
    r"\bsave (?:some )?money\b|저렴|싸게|비용[을를]?\s*(?:줄|낮|아끼|절감)|절약",
    re.IGNORECASE,
)
