"""A review rendered for people (text, by pillar), for programs (JSON) and for code hosts (SARIF).

SARIF 2.1.0 is what GitHub code scanning reads: each finding becomes a result on its file and
line, and a written skip becomes an in-source suppression carrying its reason.
"""

from __future__ import annotations

import json
from typing import Any

from core.terraform.findings import PILLARS, Finding, Review

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def _line(f: Finding) -> str:
    mark = "skip" if f.skip_reason else f.severity
    text = f"  [{mark}] {f.check_id} {f.where()}: {f.message}"
    if f.skip_reason:
        return text + f"\n      skipped on purpose: {f.skip_reason}"
    return text + (f"\n      fix: {f.fix}" if f.fix else "")


def render_text(review: Review, title: str = "") -> str:
    """Findings grouped by Well-Architected pillar, the skips with their reasons, the cost."""
    out: list[str] = [title] if title else []
    for pillar in PILLARS:
        group = [f for f in review.findings if f.pillar == pillar]
        if group:
            out.append(f"{pillar.replace('_', ' ')} ({len(group)})")
            out += [_line(f) for f in group]
    if review.cost is not None:
        cost = review.cost
        out.append(f"cost: about ${cost.monthly_total:,.2f}/month in {cost.region} "
                   f"(prices: {cost.price_date}, on-demand list)")
        out += [f"  {i.address:<48} ${i.monthly_usd:>9,.2f}  {i.detail}" for i in cost.items]
        out += [f"  assumes: {a}" for a in cost.assumptions]
    if review.plan:
        out.append(review.plan)
    failing, skipped = len(review.failing), len(review.skipped)
    verdict = "PASSED" if review.passed else "FAILED"
    out.append(f"{verdict}: {failing} failing finding(s), {skipped} skipped with a reason; "
               f"checks: {', '.join(review.checks_run)}")
    return "\n".join(out)


def render_json(review: Review) -> str:
    return review.model_dump_json(indent=2)


def _rule(f: Finding) -> dict[str, Any]:
    return {
        "id": f.check_id,
        "shortDescription": {"text": f.message[:120]},
        "help": {"text": f.fix or f.message},
        "properties": {"pillar": f.pillar, "severity": f.severity, "source": f.source},
    }


def _result(f: Finding, base: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.check_id,
        "level": _LEVEL[f.severity],
        "message": {"text": f"{f.where()}: {f.message}. Fix: {f.fix}" if f.fix else f.message},
        "properties": {"pillar": f.pillar, "severity": f.severity, "address": f.address,
                       "argument": f.argument},
    }
    if f.file:
        result["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": f"{base}{f.file}"},
            "region": {"startLine": max(f.line, 1)},
        }}]
    if f.skip_reason:
        result["suppressions"] = [{"kind": "inSource", "justification": f.skip_reason}]
    return result


def render_sarif(review: Review, base: str = "") -> str:
    """SARIF 2.1.0; ``base`` is prefixed to file names (the module's path in the repository)."""
    rules: dict[str, dict[str, Any]] = {}
    for f in review.findings:
        rules.setdefault(f.check_id, _rule(f))
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "archops", "rules": list(rules.values())}},
            "results": [_result(f, base) for f in review.findings],
        }],
    }
    return json.dumps(doc, indent=2)
