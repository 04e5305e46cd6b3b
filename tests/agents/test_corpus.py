"""The scenario corpus: plain-English requests of startups and what each must yield.

Every design must parse (Terraform's parser and python-hcl2) and pass the schema and reference
checks of the review, and all of them together plan with Terraform (offline, one plan per
region: ``check_plan_many``) with no error and no finding of the deploy check; refusals must
say why. Scenarios live in ``corpus/scenarios.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hcl2
import pytest
from langgraph.checkpoint.memory import MemorySaver

from agents.handler import AgentHandler
from core.settings import Settings
from tests.agents.conftest import Recorder, text
from tests.agents.deploy_facts import deploy_defects, read_hcl, variables

SCENARIOS: list[dict[str, Any]] = json.loads((Path(__file__).parent / "corpus" / "scenarios.json").read_text())
CORPUS_CHECKS = {"parse", "schema", "references"}


OPTS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


def resources(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every resource of the module by address, with its parsed arguments."""
    out: dict[str, dict[str, Any]] = {}
    for name, body in files.items():
        if name.endswith(".tf"):
            for item in read_hcl(body).get("resource", []):
                for rtype, named in item.items():
                    for rname, attrs in named.items():
                        out[f"{rtype}.{rname}"] = attrs
    return out


def no_execution(files: dict[str, str]) -> list[str]:
    """The execution and exfiltration findings of a design: there must be none."""
    from core.terraform.parse import parse_module
    from core.terraform.policy import EXEC_RULES

    module = parse_module(files)
    return [f"{rule.id} {hit.item.address}: {hit.message}" for rule in EXEC_RULES
            for hit in rule.evaluate(module)]


async def run_scenario(scenario: dict[str, Any]) -> Recorder:
    handler = AgentHandler(MemorySaver(), Settings(), review_checks=CORPUS_CHECKS)
    turns = scenario.get("turns") or [scenario["request"]]
    ctx = None
    for turn in turns:
        if not turn.strip():
            from core.envelope import Envelope

            env = Envelope(conversation_id=scenario["id"], source="cli", user="u", text=turn, non_interactive=True)
        else:
            env = text(scenario["id"], turn, non_interactive=True)
        ctx = Recorder(env)
        await handler(ctx)
    assert ctx is not None
    return ctx


@pytest.fixture(scope="module")
def corpus() -> dict[str, Recorder]:
    """Every scenario run once through the workflow (the tests below read the results)."""
    import asyncio

    async def run_all() -> dict[str, Recorder]:
        return {scenario["id"]: await run_scenario(scenario) for scenario in SCENARIOS}

    return asyncio.run(run_all())


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_scenario(corpus: dict[str, Recorder], scenario: dict[str, Any]) -> None:
    ctx = corpus[scenario["id"]]
    kind, message, data = ctx.last
    if "refused" in scenario:
        assert kind == "error" and data.get("refused"), message
        assert scenario["refused"].lower() in (message or "").lower()
        return
    if "error" in scenario:
        assert kind == "error" and scenario["error"] in (message or "")
        return
    assert kind == "done", message
    module = ctx.module()
    files = module["files"]
    failing = [f for f in module["findings"] if f.get("severity") in {"error", "critical", "high"} and not f.get("skip_reason")]
    assert failing == [], failing[:3]
    assert no_execution(files) == []
    assert deploy_defects(files) == []
    parsed = resources(files)
    found = {address.split(".")[0] for address in parsed}
    missing = set(scenario.get("expect", [])) - found
    assert not missing, f"missing {sorted(missing)}"
    unwanted = set(scenario.get("absent", [])) & found
    assert not unwanted, f"unexpected {sorted(unwanted)}"
    for address, expected in scenario.get("values", {}).items():
        actual = {k: parsed[address].get(k) for k in expected}
        assert actual == expected, address
    for file, needles in scenario.get("contains", {}).items():
        for needle in needles:
            assert needle in files.get(file, ""), f"{needle!r} not in {file}"


def test_every_design_plans_with_terraform_and_has_no_deploy_finding(corpus: dict[str, Recorder]) -> None:
    from core.terraform.deploy import check_deploy
    from core.terraform.parse import parse_module
    from core.terraform.plan_check import check_plan_many
    from core.terraform.plugin import toolchain

    if "aws" not in toolchain.available_providers():
        pytest.fail("the provider plugin schemas are missing: run scripts/setup-validation")
    designs = {sid: ctx.module()["files"] for sid, ctx in corpus.items() if ctx.last[0] == "done"}
    assert len(designs) >= 30
    by_region: dict[str, dict[str, Any]] = {}
    for sid, files in designs.items():
        by_region.setdefault(variables(files)["region"], {})[sid] = parse_module(files)
    problems: dict[str, list[tuple[str, str, str]]] = {}
    for region, modules in sorted(by_region.items()):
        for sid, result in check_plan_many(modules, region).items():
            found = [(f.check_id, f.address, f.message[:160]) for f in result.findings if f.failing]
            if not result.planned:
                found.append(("plan", "", result.summary))
            found += [(f.check_id, f.address, f.message[:160]) for f in check_deploy(result.show, modules[sid]) if f.failing]
            if found:
                problems[sid] = found
    assert problems == {}


def test_corpus_is_broad_enough() -> None:
    designs = [s for s in SCENARIOS if "refused" not in s and "error" not in s]
    assert len(SCENARIOS) >= 40 and len(designs) >= 30
    assert sum(1 for s in SCENARIOS if "turns" in s) >= 4
