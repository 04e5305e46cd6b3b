"""The terraform_fixer's review: ``core.terraform.review.fix_until_clean``, as a plain report.

The review (Terraform's parser, the schema, references, the offline plan, the deploy check,
policy, checkov, cost) and its bounded repair loop live in :mod:`core.terraform.review`; this
module only turns its result into the data the graph checkpoints and the events carry, and
batches checkov across the requests a worker runs at once. What remains is reported, never
hidden.
"""

from __future__ import annotations

from typing import Any

from core.logging import get_logger
from core.terraform.findings import FAILING, SEVERITIES, Review
from core.terraform.review import CHECKS, fix_until_clean

log = get_logger(__name__)


def check_and_repair(
    files: dict[str, str], rounds: int = 3, checks: set[str] | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Review, repair what the review knows how to, review again (at most ``rounds`` repairs):
    the final files and the report. The ``parse`` check always runs."""
    wanted = None if checks is None else set(checks) | {"parse"}
    try:
        fixed, review, repairs = fix_until_clean(files, rounds, wanted)
    except Exception as exc:  # noqa: BLE001 - a broken reviewer must not lose the module
        log.warning("review_failed", error=str(exc))
        unavailable = {"check_id": "review_unavailable", "severity": "high", "pillar": "operational_excellence",
                       "message": f"the review could not run: {str(exc)[:300]}", "fix": "run `archops doctor`"}
        return files, {"passed": False, "findings": [unavailable], "repairs": [], "cost": None, "plan": None,
                       "checks": sorted(wanted) if wanted else ["all"]}
    return fixed, report_of(review, repairs, wanted)


def report_of(review: Review, repairs: list[str], checks: set[str] | None) -> dict[str, Any]:
    """A review as the plain data the graph keeps (findings as dicts, cost as a dict)."""
    return {
        "passed": bool(review.passed),
        "findings": [f.model_dump() for f in review.findings],
        "repairs": repairs,
        "cost": review.cost.model_dump() if review.cost is not None else None,
        "plan": review.plan,  # Terraform's own "Plan: N to add, ..." when the plan check ran
        "timings": dict(review.timings),  # seconds per check of the last round
        "checks": sorted(checks) if checks else ["all"],
    }


def review_checks() -> tuple[str, ...]:
    """Every check of the review."""
    return CHECKS


def checkov_many(modules: list[dict[str, str]]) -> list[list[dict[str, Any]]]:
    """checkov over several modules in one run (one start-up); each module's findings, in order."""
    from core.terraform.checkov_scan import check_checkov_many

    found = check_checkov_many({str(i): files for i, files in enumerate(modules)})
    return [[f.model_dump() for f in found[str(i)]] for i in range(len(modules))]


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
