"""An account adopted into a folder: read it, write the module, inventory and diagram, review.

    result = scan_to_dir(regions, out_dir, endpoint_url=..., profile=...)
    print(summary(result))

What exists is also judged against archops' Well-Architected rules (the review's ``policy``
check): those findings describe the account as it is (a public bucket, an open security group, a
single-AZ database) and are reported by pillar; they do not fail the adoption, which the review's
parse, schema, references and offline plan verdict decides.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.terraform.findings import SEVERITIES
from scanner.diagram import to_diagram
from scanner.inventory import Scanner
from scanner.models import Inventory
from scanner.terraform import Built, to_terraform

VERDICT_CHECKS = {"parse", "schema", "references", "plan"}


@dataclass
class ScanResult:
    inventory: Inventory
    built: Built
    diagram: dict[str, Any]
    out_dir: Path
    review: Any = None  # core.terraform.findings.Review, when reviewed
    findings: list[Any] = field(default_factory=list)  # what exists, against the policy rules

    @property
    def passed(self) -> bool | None:
        return None if self.review is None else bool(self.review.passed)


def scan_to_dir(regions: list[str], out_dir: str | Path, *, review: bool | set[str] = True,
                scanner: Scanner | None = None, **options: Any) -> ScanResult:
    """Read (with ``scanner``, or one built from ``options``), write into ``out_dir``, review
    (``True``: parse, schema, references and the offline plan; or the checks named), and judge
    what exists with the policy rules."""
    inventory = (scanner or Scanner(regions, **options)).scan()
    built = to_terraform(inventory)
    diagram = to_diagram(inventory)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = built.files()
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    (out / "inventory.json").write_text(inventory.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (out / "diagram.json").write_text(json.dumps(diagram, indent=2) + "\n", encoding="utf-8")
    result = ScanResult(inventory, built, diagram, out)
    if review:
        from core.terraform.review import review_module

        result.review = review_module(files, VERDICT_CHECKS if review is True else set(review))
        policy = review_module(files, {"parse", "policy"})
        result.findings = [f for f in policy.findings if f.check_id not in ("parse",)]
    return result


def summary(result: ScanResult) -> str:
    inv = result.inventory
    adopted = sum(1 for r in inv.resources if not r.aws_default)
    lines = [f"archops scan of {', '.join(inv.regions)}: {len(inv.resources)} resources "
             f"({adopted} made by the account, {len(inv.resources) - adopted} created by AWS) in {inv.seconds:.1f} s, "
             f"{sum(inv.api_calls.values())} API calls ({inv.throttled} throttled and retried)"]
    lines += [f"  {kind:<22} {n}" for kind, n in inv.counts().items()]
    if inv.partial:
        lines.append(f"PARTIAL: {len(inv.missing)} part(s) of the account could not be read:")
        lines += [f"  - {m.text}" for m in inv.missing]
        actions = sorted({m.action for m in inv.missing})
        lines.append(f"  grant {', '.join(actions)} (scanner/policy.json lists every action the scan needs)")
    for s in inv.skipped:
        lines.append(f"skipped: {s}")
    lines.append(f"module: {len(result.built.imports)} resources with import blocks, written to {result.out_dir} "
                 "(with inventory.json and diagram.json)")
    lines.append(f"diagram: {len(result.diagram['nodes'])} nodes, {len(result.diagram['edges'])} edges, "
                 f"{len(result.diagram['groups'])} groups")
    if result.review is not None:
        failing = [f for f in result.review.findings if f.failing]
        verdict = "passed" if result.review.passed else f"FAILED ({len(failing)} finding(s))"
        lines.append(f"review ({', '.join(result.review.checks_run)}): {verdict}; {result.review.plan or 'Plan: not computed'}")
        lines += [f"  - {f.where()} {f.message[:300]}" for f in failing[:20]]
        if result.review.plan:
            lines.append(f"  ({len(result.built.imports)} to import: the offline plan reads no account, so Terraform "
                         "lists each import as a change until `terraform plan` runs against it)")
    if result.findings:
        by = Counter((f.pillar, f.severity) for f in result.findings if f.failing)
        lines.append(f"what exists, by Well-Architected pillar ({sum(by.values())} finding(s)):")
        for pillar in sorted({p for p, _ in by}):
            counts = ", ".join(f"{n} {sev}" for (p, sev), n in sorted(by.items()) if p == pillar)
            lines.append(f"  {pillar}: {counts}")
        worst = sorted((f for f in result.findings if f.failing), key=lambda f: SEVERITIES.index(f.severity))
        lines += [f"  - [{f.severity}] {f.address}: {f.message[:160]}" for f in worst[:10]]
    return "\n".join(lines)


def record_of(result: ScanResult) -> dict[str, Any]:
    """What the system of record keeps of a scan (core.store.scans.Scan's summary fields)."""
    inv = result.inventory
    review = None
    if result.review is not None:
        review = {"passed": bool(result.review.passed), "checks_run": list(result.review.checks_run),
                  "plan": result.review.plan,
                  "failing": [_finding(f) for f in result.review.findings if f.failing][:200]}
    return {
        "resources": len(inv.resources), "adopted": sum(1 for r in inv.resources if not r.aws_default),
        "counts": inv.counts(), "missing": [{**m.model_dump(), "text": m.text} for m in inv.missing],
        "findings": [_finding(f) for f in result.findings if f.failing][:1000], "review": review,
        "api_calls": inv.api_calls, "throttled": inv.throttled, "seconds": inv.seconds,
        "imports": len(result.built.imports),
    }


def _finding(f: Any) -> dict[str, Any]:
    return {"check_id": f.check_id, "severity": f.severity, "pillar": f.pillar, "address": f.address,
            "message": f.message[:500], "fix": f.fix[:300], "file": f.file}
