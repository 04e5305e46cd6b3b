"""Founders' requests, as they would ask, in English and Korean, through the real workflow.

Each entry of ``corpus/founders.json`` says what must be understood (environment, region,
availability, sizes, domain, budget, audience, language...), what the design must and must not
hold, and what must be listed under "Not built". An entry marked ``complete`` must have an
empty "Not built" list; every other design lists exactly what the request named and the
module lacks (checked against the final files by agents.honesty). The reply is in the
request's language.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import MemorySaver

from agents.handler import AgentHandler
from agents.messages import CATALOGS, fields_of, t
from core.settings import Settings
from tests.agents.conftest import Recorder, answer, text
from tests.agents.test_corpus import resources

FOUNDERS: list[dict[str, Any]] = json.loads((Path(__file__).parent / "corpus" / "founders.json").read_text())
# parse for the files, cost for the budget checks; the schema checks run in test_corpus
CHECKS = {"parse", "cost"}
HANGUL = re.compile("[\uac00-\ud7a3]")


async def converse(entry: dict[str, Any]) -> tuple[Recorder, dict[str, Any]]:
    handler = AgentHandler(MemorySaver(), Settings(), review_checks=CHECKS)
    ctx = None
    for turn in entry["turns"]:
        ctx = Recorder(text(entry["id"], turn, non_interactive=True))
        await handler(ctx)
    assert ctx is not None
    state = await handler.graph.aget_state({"configurable": {"thread_id": entry["id"]}})
    return ctx, dict(state.values.get("gathered_requirements") or {})


def not_built_section(summary: str, lang: str) -> list[str]:
    head = t("sum.not_built", lang)
    if head not in summary:
        return []
    return [line for line in summary.split(head, 1)[1].splitlines() if line.startswith("- ")]


@pytest.mark.parametrize("entry", FOUNDERS, ids=[e["id"] for e in FOUNDERS])
async def test_founder_request(entry: dict[str, Any]) -> None:
    ctx, req = await converse(entry)
    kind, message, data = ctx.last
    lang = entry["language"]
    assert message
    assert bool(HANGUL.search(message)) == (lang == "ko"), message
    if "refused" in entry:
        assert kind == "error" and data.get("refused"), message
        return
    assert kind == "done", message
    for field, expected in entry.get("understood", {}).items():
        assert req.get(field) == expected, f"{field}: {req.get(field)!r} != {expected!r}"
    assert req.get("language") == lang
    module = ctx.module()
    parsed = resources(module["files"])
    found = {address.split(".")[0] for address in parsed}
    assert not set(entry.get("built", [])) - found, f"missing {sorted(set(entry.get('built', [])) - found)}"
    assert not set(entry.get("absent", [])) & found, f"unexpected {sorted(set(entry.get('absent', [])) & found)}"
    for address, expected in entry.get("values", {}).items():
        assert {k: parsed[address].get(k) for k in expected} == expected, address
    listed = not_built_section(message, lang)
    assert [f"- {item['what']}: {item['why']}" for item in module["not_built"]] == listed
    for cid in entry.get("not_built", []):
        name = t(f"cap.{cid}", lang)
        assert any(line.startswith(f"- {name}:") for line in listed), f"{name!r} not under Not built: {listed}"
    for needle in entry.get("not_built_text", []):
        assert any(needle in line for line in listed), f"{needle!r} not under Not built: {listed}"
    if entry.get("complete"):
        assert listed == [], listed
    else:
        assert listed, "a request naming what archops does not build must list it"
    # never "All checks passed" on its own while something is not built
    if listed:
        assert t("sum.passed", lang) + "." not in message.split(t("sum.not_built", lang))[0] or t("sum.passed_partial", lang) in message
    for needle in entry.get("summary_lacks", []):
        assert needle not in message


async def test_korean_questions_choices_and_errors() -> None:
    handler = AgentHandler(MemorySaver(), Settings(), review_checks={"parse"})
    ctx = Recorder(text("ko-ask", "데이터베이스가 있는 웹 앱을 만들어 주세요"))
    await handler(ctx)
    kind, prompt, data = ctx.last
    assert kind == "question" and HANGUL.search(prompt or "")
    question = data["question"]
    assert question["id"] == "environment" and question["default"] == "production"
    assert all(HANGUL.search(c["label"]) and HANGUL.search(c["detail"]) for c in question["choices"])
    assert [c["value"] for c in question["choices"]] == ["production", "staging", "dev"]
    bad = Recorder(answer("ko-ask", "nope", "x"))
    await handler(bad)
    assert bad.last[0] == "error" and HANGUL.search(bad.last[1] or "")
    step = Recorder(answer("ko-ask", "environment", "dev"))
    await handler(step)
    assert step.last[0] == "question" and step.last[2]["question"]["id"] == "database" and HANGUL.search(step.last[1] or "")
    wrong = Recorder(answer("ko-ask", "database", "oracle"))
    await handler(wrong)
    assert wrong.last[0] == "error" and HANGUL.search(wrong.last[1] or "")


async def test_english_stays_the_default() -> None:
    handler = AgentHandler(MemorySaver(), Settings(), review_checks={"parse"})
    ctx = Recorder(text("en-ask", "a web app with a database"))
    await handler(ctx)
    assert ctx.last[0] == "question" and not HANGUL.search(ctx.last[1] or "")
    assert ctx.last[1] == t("q.environment", "en")


async def test_small_audience_makes_dev_the_recommended_environment() -> None:
    handler = AgentHandler(MemorySaver(), Settings(), review_checks={"parse"})
    ctx = Recorder(text("small", "an internal tool with postgres; only our 3 developers use it"))
    await handler(ctx)
    assert ctx.last[0] == "question" and ctx.last[2]["question"]["default"] == "dev"


def test_catalogs_agree() -> None:
    en = CATALOGS["en"]
    for lang, catalog in CATALOGS.items():
        assert set(catalog) == set(en), lang
        for key, template in catalog.items():
            assert fields_of(template) == fields_of(en[key]), (lang, key)
    assert all(HANGUL.search(v) for k, v in CATALOGS["ko"].items() if k.startswith(("q.environment", "guard.", "sum.head", "why.")))


def test_corpus_shape() -> None:
    assert len(FOUNDERS) >= 30
    assert sum(1 for e in FOUNDERS if e["language"] == "ko") * 3 >= len(FOUNDERS)
    assert sum(1 for e in FOUNDERS if len(e["turns"]) > 1) >= 5
    assert sum(1 for e in FOUNDERS if e.get("not_built") or e.get("not_built_text")) >= 10
