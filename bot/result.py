"""A design's module artifact -> what its Slack card shows, and the change between two versions.

The worker emits one ``artifact`` event of kind ``module`` per design version (agents.nodes:
files, diagram, plan, findings, cost, not_built, version, assumed). The card keeps a compact
summary of it (:func:`summarise`: no file contents, so it fits in the card's Redis record); the
files themselves stay in the conversation's event stream, found again by the event's entry id
when the zip is uploaded. :func:`change` compares a version's summary with the previous one's.
Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

# Well-Architected pillars in the order archops reports them (core.terraform.findings.PILLARS)
PILLARS: tuple[tuple[str, str], ...] = (
    ("security", "Security"),
    ("reliability", "Reliability"),
    ("performance_efficiency", "Performance efficiency"),
    ("cost_optimisation", "Cost optimisation"),
    ("operational_excellence", "Operational excellence"),
    ("sustainability", "Sustainability"),
)
SEVERITIES = ("critical", "high", "medium", "low", "info")
FAILING = frozenset({"critical", "high", "medium", "low"})
TOP_FINDINGS = 3  # per pillar, the worst ones are named
_VARIABLE_DEFAULT = r'variable\s+"{name}"\s*\{{[^}}]*?default\s*=\s*"([^"\n]{{1,100}})"'


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _money(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _variable(files: dict[str, Any], name: str) -> str | None:
    """A string variable's default in the module (``variable "environment" { default = ... }``)."""
    pattern = re.compile(_VARIABLE_DEFAULT.format(name=re.escape(name)), re.S)
    for file_name in ("variables.tf", *sorted(files)):
        text = files.get(file_name)
        if isinstance(text, str) and (match := pattern.search(text)):
            return match.group(1)
    return None


def resources(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The design's resources: its diagram's components with their monthly cost, then the
    priced resources no component stands for."""
    cost = _dict(data.get("cost"))
    priced: dict[str, float] = {}
    for item in cost.get("items") or []:
        if isinstance(item, dict) and isinstance(item.get("address"), str):
            priced[item["address"]] = _money(item.get("monthly_usd")) or 0.0
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    diagram = _dict(data.get("diagram"))
    for node in diagram.get("nodes") or []:
        if not isinstance(node, dict) or not isinstance(node.get("id"), str) or node["id"] in seen:
            continue
        seen.add(node["id"])
        rows.append({"address": node["id"], "label": str(node.get("label") or node["id"]),
                     "kind": str(node.get("kind") or ""), "monthly": priced.get(node["id"])})
    for address, monthly in priced.items():
        if address not in seen:
            seen.add(address)
            kind = address.split(".")[0].removeprefix("aws_").replace("_", " ")
            rows.append({"address": address, "label": kind,
                         "kind": "", "monthly": monthly})
    if not rows:  # no diagram, no prices: the plan's blueprints
        plan = _dict(data.get("plan"))
        for item in plan.get("items") or []:
            if isinstance(item, dict) and item.get("id"):
                rows.append({"address": str(item.get("file") or item["id"]),
                             "label": str(item.get("title") or item["id"]), "kind": "",
                             "monthly": None})
    return rows


def findings_by_pillar(findings: list[Any]) -> list[dict[str, Any]]:
    """Per pillar: open and waived counts, counts by severity, the worst open findings."""
    out: list[dict[str, Any]] = []
    known = {key for key, _ in PILLARS}
    pillars = [*PILLARS, *((p, p.replace("_", " ").capitalize()) for p in sorted(
        {str(f.get("pillar")) for f in findings if isinstance(f, dict)} - known))]
    for key, label in pillars:
        mine = [f for f in findings if isinstance(f, dict) and str(f.get("pillar")) == key]
        if not mine:
            continue
        open_ = [f for f in mine if not f.get("skip_reason")]
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        open_.sort(key=lambda f: rank.get(str(f.get("severity")), len(SEVERITIES)))
        severities: dict[str, int] = {}
        for f in open_:
            severities[str(f.get("severity"))] = severities.get(str(f.get("severity")), 0) + 1
        out.append({
            "pillar": key, "label": label, "open": len(open_), "waived": len(mine) - len(open_),
            "failing": sum(1 for f in open_ if str(f.get("severity")) in FAILING),
            "severities": severities,
            "top": [{"severity": str(f.get("severity") or ""), "address": str(f.get("address") or ""),
                     "message": str(f.get("message") or "")[:300]} for f in open_[:TOP_FINDINGS]],
        })
    return out


def summarise(data: dict[str, Any], entry_id: str | None = None) -> dict[str, Any]:
    """The card's summary of one module artifact."""
    files = _dict(data.get("files"))
    cost = _dict(data.get("cost"))
    assumed = _dict(data.get("assumed"))
    findings = [f for f in data.get("findings") or [] if isinstance(f, dict)]
    not_built = [{"what": str(n.get("what") or ""), "why": str(n.get("why") or "")}
                 for n in data.get("not_built") or [] if isinstance(n, dict)]
    version = data.get("version")
    return {
        "version": version if isinstance(version, int) and not isinstance(version, bool) else 0,
        "environment": _variable(files, "environment") or assumed.get("environment"),
        "region": cost.get("region") or _variable(files, "region") or assumed.get("region"),
        "project": _variable(files, "project") or assumed.get("project"),
        "monthly": _money(cost.get("monthly_total")),
        "currency": str(cost.get("currency") or "USD"),
        "resources": resources(data),
        "findings": findings_by_pillar(findings),
        "repairs": len(data.get("repairs") or []),
        "not_built": not_built,
        "files": sorted(str(name) for name in files),
        "entry_id": entry_id,
    }


def change(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any] | None:
    """What ``current`` added, removed and changed against ``previous``, and the cost delta;
    None when there is no previous version to compare with."""
    if not previous:
        return None
    before = {r["address"]: r for r in previous.get("resources") or []}
    after = {r["address"]: r for r in current.get("resources") or []}
    changed = [
        address for address, row in after.items()
        if address in before and (
            (before[address].get("label"), before[address].get("kind"), before[address].get("monthly"))
            != (row.get("label"), row.get("kind"), row.get("monthly")))
    ]
    old, new = previous.get("monthly"), current.get("monthly")
    return {
        "against": previous.get("version"),
        "added": [after[a]["label"] + f" `{a}`" for a in after if a not in before],
        "removed": [before[a]["label"] + f" `{a}`" for a in before if a not in after],
        "changed": [after[a]["label"] + f" `{a}`" for a in changed],
        "cost_before": old,
        "cost_after": new,
        "cost_delta": (new - old) if isinstance(new, float) and isinstance(old, float) else None,
    }
