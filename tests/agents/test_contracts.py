"""Each blueprint's contract: rendered with what it needs, in every environment and in a region
opened before 2022 (us-east-1: the regional ELB account, CloudFront standard logs) and one
opened after it (ap-southeast-4: the log delivery service, no CloudFront standard logs), it
passes the whole review: parse, schema, references, policy, Terraform's offline plan, the
deploy check and checkov.

A blueprint is built with the smallest set of others it fits with (its ``requires``, plus what
its facts need: CloudFront an origin, a load balancer servers, a certificate a domain), found
by search, so a new blueprint needs nothing here. The expensive checks run batched: one plan
per region for every blueprint and environment (each module a child module of one root,
``check_plan_many``), and one warm checkov for all.
"""

from __future__ import annotations

import itertools
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from agents import planner
from agents.catalog import CATALOG, BuildContext
from agents.combiner import combine, fragment_data
from agents.planner import _levels
from agents.requirements import Requirements
from agents.state import Plan, PlanItem
from core.terraform.checkov_scan import check_checkov_many, checkov_available
from core.terraform.deploy import check_deploy
from core.terraform.parse import parse_module
from core.terraform.plan_check import check_plan_many
from core.terraform.review import review_module

pytestmark = pytest.mark.timeout(1800)
ENVIRONMENTS = ("dev", "staging", "production")
REGIONS = ("us-east-1", "ap-southeast-4")
IN_PROCESS = {"parse", "schema", "references", "policy"}


def context(bid: str, environment: str, region: str) -> tuple[Requirements, frozenset[str]]:
    """The requirements and the blueprints ``bid`` is shown with: what the environment's designs
    hold (every one the key, the log bucket, alarms and budget; production its audit trail,
    threat detection, WAF and backups), its dependencies and what it implies, plus the fewest
    others (and, if it needs one, a domain) with which every one of them fits."""
    base = Requirements(project="contract", environment=environment, region=region, workload="custom")
    others = sorted(set(CATALOG) - {bid})
    for req in (base, base.model_copy(update={"domain": "contract.example.com"})):
        for size in range(3):
            for extra in itertools.combinations(others, size):
                present = planner.grow(req, {bid, *extra})
                if planner.fitting(req, present):
                    return req, frozenset(present)
    raise AssertionError(f"{bid} fits with no two other blueprints")


def render(bid: str, environment: str, region: str) -> dict[str, str]:
    req, present = context(bid, environment, region)
    graph = {b: {d for d in (*CATALOG[b].requires, *CATALOG[b].after) if d in present and d != b} for b in present}
    levels = _levels(graph)
    plan = Plan(items=[PlanItem(id=b, title=CATALOG[b].title, why=CATALOG[b].why, file=CATALOG[b].concern)
                       for level in levels for b in level], levels=levels)
    parts = {b: fragment_data(CATALOG[b].fragment(BuildContext(req, present))) for b in present}
    return combine(req, plan, parts).files


Key = tuple[str, str, str]


def as_dev(files: dict[str, str]) -> dict[str, str]:
    """A staging module as it would read in dev: the environment's name is the only difference
    the two environments may have (neither is production)."""
    return {name: re.sub(r"\bstaging\b", "dev", text) for name, text in files.items()}


@pytest.fixture(scope="module")
def contracts(request: pytest.FixtureRequest) -> dict[Key, list[tuple[str, str, str]]]:
    """Every failing finding of every blueprint's module, by (blueprint, environment, region).

    Modules with the same files are reviewed once (the shared blueprints alone make one); a
    staging module must be its dev module but for the environment's name, so the plan, deploy
    and checkov results of the one stand for the other.
    """
    request.getfixturevalue("plan_ready")
    modules = {(bid, env, region): render(bid, env, region)
               for bid in sorted(CATALOG) for env in ENVIRONMENTS for region in REGIONS}
    failing: dict[Key, list[tuple[str, str, str]]] = {key: [] for key in modules}
    same: dict[Key, Key] = {}  # module -> the one whose review stands for it
    first: dict[str, Key] = {}
    for key, files in modules.items():
        bid, env, region = key
        if env == "staging":
            assert as_dev(files) == modules[(bid, "dev", region)], f"{bid}: staging differs from dev beyond its name"
            same[key] = same.get((bid, "dev", region), (bid, "dev", region))
            continue
        fingerprint = repr(sorted(files.items()))
        same[key] = first.setdefault(fingerprint, key)
    reviewed = sorted({same[key] for key in modules})

    def keep(key: Key, findings: Any) -> None:
        failing[key] += [(f.check_id, f.address, f.message[:160]) for f in findings if f.failing]

    parsed = {key: parse_module(modules[key]) for key in reviewed}

    def plans() -> dict[Key, Any]:
        return {key: result for region in REGIONS
                for key, result in check_plan_many({k: parsed[k] for k in reviewed if k[2] == region}, region).items()}

    def checkov() -> dict[str, Any]:
        return check_checkov_many({"|".join(key): modules[key] for key in reviewed}) if checkov_available() else {}

    # Terraform and checkov each wait on a helper process of their own: both run while the
    # in-process checks do
    with ThreadPoolExecutor(max_workers=2) as pool:
        planned, scanned = pool.submit(plans), pool.submit(checkov)
        for key, files in modules.items():
            keep(key, review_module(files, IN_PROCESS).findings)
        for key, result in planned.result().items():
            keep(key, result.findings)
            if not result.planned:
                failing[key].append(("plan", "", result.summary))
            keep(key, check_deploy(result.show, parsed[key]))
        for joined, findings in scanned.result().items():
            keep(tuple(joined.split("|")), findings)  # type: ignore[arg-type]
    for key, stands in same.items():
        if stands != key:
            failing[key] += [f for f in failing[stands] if f not in failing[key]]
    return failing


@pytest.fixture(scope="session")
def plan_ready() -> None:
    from core.terraform.plugin import toolchain
    from core.terraform.schema import schema_available

    if "aws" not in toolchain.available_providers() or not schema_available():
        pytest.fail("the provider schemas for the offline plan are missing: run scripts/setup-validation")


@pytest.mark.parametrize("bid", sorted(CATALOG))
def test_each_blueprint_passes_the_whole_review_in_every_environment_and_region(
        contracts: dict[Key, list[tuple[str, str, str]]], bid: str) -> None:
    found = {key: failing for key, failing in contracts.items() if key[0] == bid and failing}
    assert found == {}, found


def test_every_blueprint_declares_what_plans_readmes_and_diagrams_show() -> None:
    for bid, bp in CATALOG.items():
        assert bp.title and bp.why and bp.concern.endswith(".tf"), bid
        req, present = context(bid, "production", "us-east-1")
        fragment = CATALOG[bid].fragment(BuildContext(req, present))
        addresses = {".".join(b.labels) if b.type == "resource" else "data." + ".".join(b.labels)
                     for _f, b in fragment.blocks if b.type in {"resource", "data"}}
        groups = {"global", "account", "region"} | {g.id for p in present for g in CATALOG[p].groups}
        for node in fragment.nodes:
            # each node is a resource the blueprint makes, drawn in a group that exists
            assert node["id"] in addresses, (bid, node)
            assert node["group"] in groups, (bid, node)


def test_the_contract_context_is_the_smallest_that_fits() -> None:
    every = {"kms", "logs_bucket", "alarms", "budget"}
    assert context("kms", "dev", "us-east-1")[1] == every
    assert context("cloudfront", "dev", "us-east-1")[1] == every | {"cloudfront", "site"}
    # a load balancer gets servers, and the CloudFront in front of it (no domain)
    alb = context("alb", "dev", "us-east-1")[1]
    assert {"alb", "vpc", "cloudfront"} <= alb and alb & {"ecs", "asg", "ec2"}
    # production brings what production designs hold
    assert {"cloudtrail", "guardduty", "config", "waf"} <= context("alb", "production", "us-east-1")[1]
    req, present = context("acm", "dev", "us-east-1")
    assert req.domain and {"acm", "route53"} <= present and present & {"alb", "cloudfront"}


def test_every_fragment_rebuilds_from_the_data_a_checkpoint_keeps() -> None:
    import json

    from core.terraform.hcl import render_block
    from core.terraform.model import block_from_data

    for bid in sorted(CATALOG):
        req, present = context(bid, "production", "us-east-1")
        fragment = CATALOG[bid].fragment(BuildContext(req, present))
        data = json.loads(json.dumps(fragment_data(fragment)))
        rebuilt = [(file, render_block(block_from_data(b))) for file, b in data["blocks"]]
        assert rebuilt == [(file, render_block(b)) for file, b in fragment.blocks], bid
