"""Founders' requests, as they would ask, in English and Korean, through the real workflow.

Each entry of ``corpus/founders.json`` says what must be understood (environment, region,
availability, sizes, domain, budget, audience, language...), what the design must and must not
hold, and what must be listed under "Not built". An entry marked ``complete`` must have an
empty "Not built" list; every other design lists exactly what the request named and the
module lacks (checked against the final files by agents.honesty). The reply is in the
request's language.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import MemorySaver

from agents.handler import AgentHandler
from agents.honesty import BY_ID
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
    rows = summary.split(head, 1)[1].splitlines()[1:]
    return list(itertools.takewhile(lambda line: line.startswith("- "), rows))


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
    # every capability the request named is in the files or under "Not built"
    tf = "\n".join(body for name, body in module["files"].items() if name.endswith(".tf"))
    for cid in req.get("asked", []):
        if cid in BY_ID:
            assert BY_ID[cid].built(tf) or any(line.startswith(f"- {t(f'cap.{cid}', lang)}:") for line in listed), cid
    for component in entry.get("kept", []):
        from agents.changes import component_name

        assert any(item["what"] == component_name(component, lang) for item in module["kept"]), module["kept"]
    summary_matches_files(message, module, req, lang)
    check_changes(entry, module, message, lang)
    # never "All checks passed" on its own while something is not built
    if listed:
        assert t("sum.passed", lang) + "." not in message.split(t("sum.not_built", lang))[0] or t("sum.passed_partial", lang) in message
    for needle in entry.get("summary_lacks", []):
        assert needle not in message


def summary_matches_files(message: str, module: dict[str, Any], req: dict[str, Any], lang: str) -> None:
    """The reply's head says what the files hold: their region, the blueprints, the cost."""
    region = re.search(r'variable\s+"region"\s*{[^}]*default\s*=\s*"([^"]+)"', module["files"]["variables.tf"])
    assert region and f", {region.group(1)})" in message.splitlines()[0], (region, message)
    assert req["region"] == region.group(1)
    first = message.splitlines()[0]
    assert re.search(rf"(?<!\d){len(module['plan']['items'])}(?!\d)", first), first
    total = (module.get("cost") or {}).get("monthly_total")
    if total is not None:
        assert f"${total:,.0f}" in first, first
    # what it says it assumed is what the design holds (never a stale "region=us-east-1")
    for key, value in (module.get("assumed") or {}).items():
        if key in {"region", "project", "environment", "lambda_runtime"}:
            assert req.get(key) == value, (key, value, req.get(key))


def check_changes(entry: dict[str, Any], module: dict[str, Any], message: str, lang: str) -> None:
    """A follow-up's reply lists what changed, with the cost before and after, or says why
    nothing changed."""
    expected = entry.get("changes")
    changes = module.get("changes")
    if len(entry["turns"]) > 1 and "refused" not in entry:
        assert changes is not None, "a follow-up must list its changes"
        if changes["added"] or changes["removed"] or changes["changed"] or changes["settings"]:
            assert t("chg.head", lang, before=module["version"] - 1, after=module["version"]) in message
        else:
            assert t("chg.none", lang, version=module["version"] - 1) in message and changes["notes"], message
    if not expected:
        return
    assert changes is not None
    for field in expected.get("settings", []):
        assert field in changes["settings"], (field, changes["settings"])
    added = {a.split(".")[0] for a in changes["added"]}
    removed = {a.split(".")[0] for a in changes["removed"]}
    assert not set(expected.get("added", [])) - added, (expected, changes["added"])
    assert not set(expected.get("removed", [])) - removed, (expected, changes["removed"])
    before, after = changes["cost"]
    if "cost" in expected:
        assert {"down": after < before, "up": after > before, "same": round(after) == round(before)}[expected["cost"]], (before, after)
        assert f"${before:,.0f}" in message and f"${after:,.0f}" in message
    for key in expected.get("notes", []):
        assert any(note.startswith(CATALOGS[lang][key].split("{")[0]) for note in changes["notes"]), (key, changes["notes"])
    if expected.get("nothing"):
        assert not (changes["added"] or changes["removed"] or changes["changed"] or changes["settings"])


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
        ("a web app, high availability isn't a priority", "availability", "single_az"),
        ("a production web app that isn't redundant", "availability", "single_az"),
        ("a production API, skip the NAT gateway", "nat", "none"),
        ("운영 환경 웹 앱, NAT 게이트웨이 없이", "nat", "none"),
        ("production web app, backups are not needed", "removed", ["backup"]),
        ("a web app with postgres; a CDN isn't necessary", "removed", ["cloudfront"]),
        ("a web app for 2 million users", "users", 2_000_000),
        ("a web app for 2 million users", "traffic", "high"),
        ("a web app for ~50k monthly active users", "traffic", "medium"),
        ("Node.js Lambda API", "lambda_runtime", "nodejs22.x"),
        ("노드로 된 람다 API", "lambda_runtime", "nodejs22.x"),
        ("a webhook receiver in node 20 on lambda", "lambda_runtime", "nodejs20.x"),
        ("a Go lambda function behind an API", "lambda_runtime", "provided.al2023"),
        ("Java 17 API on lambda", "lambda_runtime", "java17"),
        ("자바 람다 API", "lambda_runtime", "java21"),
        ("a lambda in python 3.12", "lambda_runtime", "python3.12"),
        ("Go live next week with a lambda API", "lambda_runtime", None),
        ("a redis with two cache nodes", "lambda_runtime", None),
        ("Lambda 기반 API를 서울에 만들어 주세요", "workload", "api"),
        ("Lambda 기반 API를 서울에 만들어 주세요", "compute", "lambda"),
        ("an internal admin tool for our employees only", "internal", True),
        ("a tool only employees can use, with postgres", "internal", True),
        ("an admin panel behind our VPN", "internal", True),
        ("사내용 관리자 도구, 내부 전용", "internal", True),
        ("직원들만 쓰는 웹 앱", "internal", True),
        ("a public-facing web app", "internal", False),
        ("a web app with postgres", "internal", None),
        ("set the database password to hunter2", "asked", ["literal_password"]),
        ("use password=[redacted: secret] for the database of my web app", "asked", ["literal_password"]),
        ("DB 비밀번호는 hunter22로 해줘", "asked", ["literal_password"]),
        ("the password is kept in Secrets Manager", "asked", []),
        ("PostgreSQL 웹 앱, 캐시만 빼고 다 넣어 주세요", "removed", ["redis"]),
        ("a public bucket for our images", "asked", ["public_bucket"]),
        ("S3 버킷을 외부에 공개해 주세요", "asked", ["public_bucket"]),
        ("a web app with postgres, no encryption needed", "asked", ["no_encryption"]),
        ("a web app with postgres and no public database", "asked", []),
        ("keep the encryption keys in KMS", "asked", []),
        ("a web app in a VPC with CIDR 8.8.0.0/16", "asked", ["public_cidr"]),
        ("a web app in a VPC with CIDR 8.8.0.0/16", "vpc_cidr", None),
        ("a web app in a VPC 10.42.0.0/16", "asked", []),
        ("open 22 to 0.0.0.0/0 in our vpc", "asked", ["open_ssh"]),
        ("트래픽이 거의 없는 사내 위키", "internal", True),
        ("an intranet for our staff", "workload", "web_app"),
        ("a web app in Hyderabad", "region", "ap-south-2"),
        ("a web app in Melbourne", "region", "ap-southeast-4"),
        ("멜버른 리전 웹 앱", "region", "ap-southeast-4"),
        ("뭄바이 리전에 API", "region", "ap-south-1"),
        ("시드니에 정적 사이트", "region", "ap-southeast-2"),
        ("바레인에 API", "region", "me-south-1"),
        ("인도네시아 리전 API", "region", "ap-southeast-3"),
        ("a tiny app for me and my cofounder, web app with postgres", "users", 2),
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


def test_a_public_follow_up_ends_internal_only() -> None:
    from agents.extractor import extract

    base = extract("an internal admin tool with postgres")
    assert base.internal is True and "internal" in base.asked
    public = extract("make it public after all", base)
    assert public.internal is False and "internal" not in public.asked


def test_a_stated_runtime_is_not_listed_as_assumed() -> None:
    from agents.extractor import extract

    assert extract("a node lambda").assumed == {"lambda_runtime": "nodejs22.x"}
    assert "lambda_runtime" not in extract("a node 20 lambda").assumed


@pytest.mark.parametrize(
    ("said", "named"),
    [("make it cheaper and add a nightly backup", {"backup"}), ("add a redis cache, no queue", {"redis"}),
     ("매일 밤 백업도 추가해 줘", {"backup"}), ("thanks, looks good", set()), ("use mysql instead", {"rds"})],
)
def test_what_a_follow_up_names(said: str, named: set[str]) -> None:
    from agents.extractor import named_components

    assert named_components(said) == named


@pytest.mark.parametrize(
    ("said", "asked"),
    [("queue workers that process email jobs", True), ("we send welcome emails to new users", True),
     ("password reset emails and a postgres database", True), ("가입하면 이메일 발송", True),
     ("a form with an email address field", False), ("alerts to my email", False)],
)
def test_a_request_that_sends_email_names_the_capability(said: str, asked: bool) -> None:
    from agents.honesty import asked_in

    assert ("email" in asked_in(said)) is asked


@pytest.mark.parametrize(("said", "internal"), [
    ("an internal metrics dashboard behind a network load balancer", True),
    ("an internal admin tool for the support team", True),
    ("an internal sales reporting app", True),
    ("a public store with an internal state machine", False),
])
def test_an_internal_product_of_any_kind_is_internal_only(said: str, internal: bool) -> None:
    from agents.honesty import INTERNAL_RE

    assert bool(INTERNAL_RE.search(said)) is internal
