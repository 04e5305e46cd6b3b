"""The review of a Terraform module: every check, one verdict, and the bounded fixer loop.

    review_module(files, checks=None) -> Review       files: name -> HCL text
    review_dir(path) -> Review
    repair(files, review) -> (files, fixed)           (from core.terraform.repair)
    fix_until_clean(files, max_rounds=3) -> (files, Review, fixed)

Checks: ``parse`` (Terraform's parser, always first: nothing else runs on a module that does not
parse), ``schema`` (the real AWS provider schema), ``references`` (every reference resolves, no
cycles), ``plan`` (Terraform core plans a private copy offline against archops' schema-only
provider plugins), ``deploy`` (what AWS enforces at apply time, judged on what Terraform
planned), ``policy`` (archops' Well-Architected rules), ``checkov``, ``cost``. ``plan``
and ``checkov`` run at the same time: each waits on a helper process. A check whose tool is
missing (schema not derived, checkov not installed, no provider plugin) reports a failing notice
that says how to set it up: a review never passes silently.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError, ValidationError
from core.terraform.checkov_scan import check_checkov
from core.terraform.cost import estimate
from core.terraform.deploy import check_deploy
from core.terraform.findings import SEVERITIES, Finding, Review
from core.terraform.parse import parse_module
from core.terraform.paths import SETUP_HINT
from core.terraform.plan_check import check_plan
from core.terraform.policy import check_policy
from core.terraform.references import check_references
from core.terraform.repair import repair
from core.terraform.schema import ProviderSchema, load_schema
from core.terraform.schema_check import check_schema
from core.terraform.source import read_dir

CHECKS: tuple[str, ...] = (
    "parse", "schema", "references", "plan", "deploy", "policy", "checkov", "cost",
)
# checks that wait on a helper process, started together and collected in CHECKS order
_CONCURRENT = ("plan", "checkov")
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="archops-review")

__all__ = ["CHECKS", "fix_until_clean", "read_dir", "repair", "review_dir", "review_module"]


def _schema_or_notice() -> tuple[ProviderSchema | None, list[Finding]]:
    try:
        return load_schema(), []
    except ConfigurationError as exc:
        return None, [Finding(check_id="schema_unavailable", severity="high",
                              pillar="operational_excellence", message=exc.message,
                              fix=SETUP_HINT)]


def _order(finding: Finding) -> tuple[int, str, int]:
    return (SEVERITIES.index(finding.severity), finding.file, finding.line)


def review_module(
    files: dict[str, str], checks: set[str] | None = None, *, strict: bool = False
) -> Review:
    """Review one module; ``checks`` picks a subset of :data:`CHECKS` (None: all of them).

    ``strict`` also fails the checkov checks archops waives by default (core.terraform.baseline).
    """
    wanted = set(CHECKS) if checks is None else set(checks)
    unknown = wanted - set(CHECKS)
    if unknown:
        raise ValidationError(f"unknown check(s): {', '.join(sorted(unknown))}",
                              hint=f"choose from {', '.join(CHECKS)}")
    if not any(name.endswith(".tf") for name in files):
        raise ValidationError("the module has no .tf file", hint="pass a mapping of file name -> HCL text")
    review = Review()
    started = time.perf_counter()
    module = parse_module(files)
    review.timings["parse"] = round(time.perf_counter() - started, 4)
    review.checks_run.append("parse")
    if not module.ok:
        review.findings = module.diagnostics
        return review
    schema: ProviderSchema | None = None
    if wanted & {"schema", "references"}:
        schema, notices = _schema_or_notice()
        review.findings += notices

    planned: dict[str, Any] = {}

    def plan() -> list[Finding]:
        result = check_plan(module)
        review.plan = result.summary if result.planned else None
        planned["show"] = result.show if result.planned else None
        return result.findings if "plan" in wanted else []

    steps: dict[str, Any] = {
        "schema": lambda: check_schema(module, schema) if schema else [],
        "references": lambda: check_references(module, schema),
        "plan": plan,
        # what AWS enforces at apply time, judged on what Terraform planned (after "plan")
        "deploy": lambda: check_deploy(planned.get("show"), module),
        "policy": lambda: check_policy(module),
        "checkov": lambda: check_checkov(module.files, module, strict),
    }

    def timed(name: str) -> tuple[list[Finding], float]:
        t0 = time.perf_counter()
        found = steps[name]()
        return found, time.perf_counter() - t0

    background = set(_CONCURRENT) & (wanted | ({"plan"} if "deploy" in wanted else set()))
    started_in_background: dict[str, Future[tuple[list[Finding], float]]] = {
        name: _POOL.submit(timed, name) for name in _CONCURRENT if name in background
    }
    for name in CHECKS:
        if name == "plan" and name not in wanted and name in started_in_background:
            started_in_background[name].result()  # the deploy check reads what it planned
            continue
        if name not in wanted or name == "parse":
            continue
        if name in started_in_background:
            found, took = started_in_background[name].result()
            review.findings += found
        elif name == "cost":
            t0 = time.perf_counter()
            review.cost = estimate(module)
            took = time.perf_counter() - t0
        else:
            found, took = timed(name)
            review.findings += found
        review.timings[name] = round(took, 4)
        review.checks_run.append(name)
    review.findings.sort(key=_order)
    return review


def review_dir(path: str | Path, checks: set[str] | None = None, *, strict: bool = False) -> Review:
    return review_module(read_dir(path), checks, strict=strict)


def fix_until_clean(
    files: dict[str, str], max_rounds: int = 3, checks: set[str] | None = None, *, strict: bool = False
) -> tuple[dict[str, str], Review, list[str]]:
    """Review, repair what is known, review again: at most ``max_rounds`` repairs.

    Returns the final files, the final review (what remains is in its findings) and every
    repair made, in order.
    """
    fixed: list[str] = []
    current = dict(files)
    review = review_module(current, checks, strict=strict)
    for _ in range(max_rounds):
        if review.passed:
            break
        current, done = repair(current, review)
        if not done:
            break
        fixed += done
        review = review_module(current, checks, strict=strict)
    return current, review, fixed
