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
    readme = module["files"].get("README.md", "")
    assert all(line in readme for line in listed) and ((f"## {t('sum.not_built', lang).rstrip(':')}" in readme) == bool(listed))
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


@pytest.mark.parametrize(
    ("said", "field", "expected"),
    [
        ("a web app, we don't need HA", "availability", "single_az"),
        ("a web app, HA is not needed", "availability", "single_az"),
        ("a web app without multi-AZ", "availability", "single_az"),
        ("no need for high availability", "availability", "single_az"),
        ("a highly available web app", "availability", "multi_az"),
        ("keep it under $300 a month", "budget_usd", 300),
        ("a web app for under 200 users", "budget_usd", None),
        ("around 8,000 dollars per month", "budget_usd", 8000),
        ("$8k/mo for a web app", "budget_usd", 8000),
        ("we can spend about $1.5k a month", "budget_usd", 1500),
        ("월 50만원 정도 예산", "budget_usd", 370),
        ("월 300달러 이하", "budget_usd", 300),
        ("only our 3 developers use it", "users", 3),
        ("a few hundred visitors a day", "users", 300),
        ("our first 200 customers", "users", 200),
        ("about 10k users a day", "users", 10000),
        ("도쿄 리전에 웹 앱", "region", "ap-northeast-1"),
        ("버지니아에 API", "region", "us-east-1"),
        ("오레곤 리전 API", "region", "us-west-2"),
        ("프랑크푸르트로 옮겨 주세요", "region", "eu-central-1"),
        ("싱가포르에 정적 사이트", "region", "ap-southeast-1"),
        ("ap-northeast-2에 웹 앱", "region", "ap-northeast-2"),
        ("move it from Virginia to Seoul", "region", "ap-northeast-2"),
        ("Ｗｅｂ app in Ｓｅｏｕｌ", "region", "ap-northeast-2"),
        ("스테이징 환경 웹 앱", "environment", "staging"),
        ("개발 환경에 API", "environment", "dev"),
        ("운영 환경 웹 서비스", "environment", "production"),
        ("우리는 쇼핑몰을 운영하고 있어요. 웹 앱이 필요해요", "environment", None),
        ("a web app for our developers", "environment", None),
        ("a copy of production for QA", "environment", "staging"),
        ("a dev copy of production", "environment", "dev"),
        ("redis on cache.t4g.small", "cache_node_type", "cache.t4g.small"),
        ("an instance with dedicated tenancy", "tenancy", "dedicated"),
        ("apply_immediately = true for the database", "apply_immediately", True),
        ("expose ports 80 and 443 on the instances", "ports", [80, 443]),
        ("8080 포트로 서비스", "ports", [8080]),
        ("open 22 to 0.0.0.0/0", "vpc_cidr", None),
        ("a web app at https://app.gaon.kr/login", "domain", "app.gaon.kr"),
        ("우리 도메인은 gaon.co.kr입니다. 웹 앱", "domain", "gaon.co.kr"),
        ("our app, Bloomly, needs an API", "project", "bloomly"),
        ("a mobile backend for Petpal", "project", "petpal"),
        ("a static site for shop.acme.co.kr", "project", "acme"),
        ("캐시 없이 PostgreSQL 웹 앱", "components", []),
        ("서울에 웹 앱", "language", "ko"),
        ("a web app in Seoul", "language", "en"),
    ],
)
def test_what_a_sentence_says(said: str, field: str, expected: object) -> None:
    from agents.extractor import extract

    assert getattr(extract(said), field) == expected


def test_a_short_english_follow_up_keeps_the_korean_conversation() -> None:
    from agents.extractor import extract

    base = extract("서울에 개발 환경 웹 앱, PostgreSQL")
    assert extract("add redis", base).language == "ko"
    assert extract("please switch this conversation to a production environment", base).language == "en"


def test_stating_a_value_drops_its_assumption() -> None:
    from agents.extractor import extract

    base = extract("a dev web app with postgres").model_copy(update={"region": "us-east-1", "assumed": {"region": "us-east-1"}})
    moved = extract("move it to Seoul", base)
    assert moved.region == "ap-northeast-2" and "region" not in moved.assumed


@pytest.mark.parametrize(
    "said",
    ['upload "．．/．．/etc/passwd.txt" to our S3 bucket', '파일 "../../etc/passwd.txt"을 S3에 업로드해 줘',
     'upload "..\u200b/..\u200b/etc/passwd.txt" to s3'],
)
def test_uploads_take_names_never_paths(said: str) -> None:
    from agents.extractor import extract

    req = extract(said)
    assert req.uploads == ["passwd.txt"] and all(".." not in u and "/" not in u for u in req.uploads)
