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
    # a blueprint that brings a whole stack (WordPress, GPU serving) is no blueprint's company
    others = sorted(b for b in set(CATALOG) - {bid} if CATALOG[b].program is None)
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
    and checkov results of the one stand for the other. The checks that read only the text
    (parse, schema, references, policy, checkov: none knows what a region name means) also run
    once for modules that differ in nothing but the region's name; Terraform's plan and the
    deploy check run in every region (the data sources answer per region: zones, the ELB
    account, which log writers exist).
    """
    request.getfixturevalue("plan_ready")
    modules = {(bid, env, region): render(bid, env, region)
               for bid in sorted(CATALOG) for env in ENVIRONMENTS for region in REGIONS}
    same: dict[Key, Key] = {}  # module -> the one whose plan stands for it
    alike: dict[Key, Key] = {}  # module -> the one whose text checks stand for it
    first: dict[str, Key] = {}
    first_text: dict[str, Key] = {}
    for key, files in modules.items():
        bid, env, region = key
        if env == "staging":
            assert as_dev(files) == modules[(bid, "dev", region)], f"{bid}: staging differs from dev beyond its name"
            same[key] = same.get((bid, "dev", region), (bid, "dev", region))
            alike[key] = alike.get((bid, "dev", region), (bid, "dev", region))
            continue
        same[key] = first.setdefault(repr(sorted(files.items())), key)
        text = repr(sorted(files.items()))
        for name in REGIONS:
            text = text.replace(name, "<region>")
        alike[key] = first_text.setdefault(text, key)
    planned_keys = sorted(set(same.values()))
    text_keys = sorted(set(alike.values()))
    by_plan: dict[Key, list[tuple[str, str, str]]] = {key: [] for key in planned_keys}
    by_text: dict[Key, list[tuple[str, str, str]]] = {key: [] for key in text_keys}

    def failing_of(findings: Any) -> list[tuple[str, str, str]]:
        return [(f.check_id, f.address, f.message[:160]) for f in findings if f.failing]

    parsed = {key: parse_module(modules[key]) for key in planned_keys}

    def plans() -> dict[Key, Any]:
        return {key: result for region in REGIONS
                for key, result in check_plan_many({k: parsed[k] for k in planned_keys if k[2] == region}, region).items()}

    def checkov() -> dict[str, Any]:
        return check_checkov_many({"|".join(key): modules[key] for key in text_keys}) if checkov_available() else {}

    # Terraform and checkov each wait on a helper process of their own: both run while the
    # in-process checks do
    with ThreadPoolExecutor(max_workers=2) as pool:
        planned, scanned = pool.submit(plans), pool.submit(checkov)
        for key in text_keys:
            by_text[key] += failing_of(review_module(modules[key], IN_PROCESS).findings)
        for key, result in planned.result().items():
            by_plan[key] += failing_of(result.findings)
            if not result.planned:
                by_plan[key].append(("plan", "", result.summary))
            by_plan[key] += failing_of(check_deploy(result.show, parsed[key]))
        for joined, findings in scanned.result().items():
            by_text[tuple(joined.split("|"))] += failing_of(findings)  # type: ignore[index]
    return {key: [*by_text[alike[key]], *(f for f in by_plan[same[key]] if f not in by_text[alike[key]])]
            for key in modules}


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
