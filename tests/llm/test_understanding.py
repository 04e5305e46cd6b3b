"""The model widens what archops understands: requests in other languages, questions the
user's words already answer, sizes, all through validated structured answers."""

from __future__ import annotations

import json

from agents.llm.prompts import PROMPT_VERSION
from tests.agents.conftest import Recorder, text
from tests.llm.conftest import llm_settings
from tests.llm.standin import Reply

FRENCH = "Une boutique en ligne avec PostgreSQL, hébergée à Francfort, pour 20 000 clients, en production"


def _resources(files: dict[str, str]) -> str:
    return "\n".join(body for name, body in files.items() if name.endswith(".tf"))


async def test_a_request_in_french_is_read_by_the_model_and_built(standin, make_handler) -> None:
    standin.queue("extract", Reply.json({
        "requirements": {"workload": "web_app", "region": "eu-central-1", "environment": "production",
                         "users": 20000, "traffic": "high", "budget_usd": 90},
        "evidence": [
            {"field": "workload", "quote": "Une boutique en ligne"},
            {"field": "region", "quote": "hébergée à Francfort"},
            {"field": "environment", "quote": "en production"},
            {"field": "users", "quote": "20 000 clients"},
            {"field": "traffic", "quote": "20 000 clients"},
            # a budget the user never stated: its "quote" is not in the message
            {"field": "budget_usd", "quote": "a budget of 90 dollars"},
        ],
    }))
    async with make_handler(llm_settings(standin)) as handler:
        ctx = Recorder(text("fr-1", FRENCH, non_interactive=True))
        await handler(ctx)
    kind, summary, data = ctx.last
    assert kind == "done", summary
    module = ctx.module()
    tf = _resources(module["files"])
    # what only the model read: the workload (an ECS service behind a load balancer) and Frankfurt
    assert "eu-central-1" in summary and 'resource "aws_ecs_service"' in tf and 'resource "aws_lb"' in tf
    # what the model claimed without the user's words is not applied
    assert 'resource "aws_budgets_budget"' in tf and "limit_amount" in tf and '"90"' not in tf
    # the rules' own reading stays: PostgreSQL
    assert 'engine                              = "postgres"' in tf or '"postgres"' in tf
    # what was sent: the user's text, as data, with the JSON schema of the step, and no key
    extract = standin.of("extract")[0]
    assert FRENCH in extract.prompt and "<user_message>" in extract.prompt
    assert extract.body["response_format"]["json_schema"]["name"] == "extract"
    assert "region" in json.dumps(extract.body["response_format"]["json_schema"]["schema"])
    assert extract.body["stream"] is True
    assert all(standin.api_key not in json.dumps(c.body) for c in standin.calls)
    assert all(c.headers["Authorization"] == f"Bearer {standin.api_key}" for c in standin.calls)
    # the accounting on the request's last event matches what the stand-in saw
    llm = data["llm"]
    assert llm["calls"] == len(standin.calls) and llm["model"] == "standin-model" and llm["prompt_version"] == PROMPT_VERSION
    assert llm["tokens_in"] > 0 and llm["tokens_out"] > 0 and llm["fallbacks"] == []
    # the model's text streamed to the conversation while it wrote
    streamed = "".join(x or "" for t, x, d in ctx.events if t == "token" and d.get("step") == "extract")
    assert '"eu-central-1"' in streamed


async def test_questions_the_words_already_answer_are_not_asked(standin, make_handler) -> None:
    said = "we need a small internal dashboard with a MySQL database for our five developers to try things out"
    standin.queue("questions", Reply.json({"answered": [
        {"id": "environment", "value": "dev", "quote": "to try things out"},
        # an answer the words do not hold is ignored; the question stays
        {"id": "domain", "value": "dashboard.example.com", "quote": "at dashboard.example.com"},
    ]}))
    async with make_handler(llm_settings(standin)) as handler:
        ctx = Recorder(text("q-1", said))
        await handler(ctx)
    kind, _text, data = ctx.last
    assert kind == "question"
    assert data["question"]["id"] != "environment"
    sent = standin.of("questions")[0]
    assert said in sent.prompt and '"environment"' in sent.prompt
    assert data["llm"]["steps"]["questions"] == 1


async def test_the_model_sizes_blueprints_only_from_the_allowed_values(standin, make_handler) -> None:
    standin.queue("params",
                  Reply.json({"parameters": [{"blueprint": "rds", "field": "db_instance_class", "value": "db.x9.mega", "why": "big"}]}),
                  Reply.json({"parameters": [{"blueprint": "rds", "field": "db_instance_class", "value": "db.r7g.large", "why": "20k users"}]}))
    async with make_handler(llm_settings(standin)) as handler:
        ctx = Recorder(text("p-1", "a SaaS web app with Postgres for 20k users in production", non_interactive=True))
        await handler(ctx)
    assert ctx.last[0] == "done"
    first, second = standin.of("params")
    assert "db.r7g.large" in first.prompt  # the allowed values were given
    assert "db.x9.mega" in second.prompt and "is not one of" in second.prompt  # sent back with the error
    assert '"db.r7g.large"' in ctx.module()["files"]["database.tf"]
    plan = next(d["plan"] for t, _x, d in ctx.events if t == "artifact" and d.get("kind") == "plan")
    assert next(i for i in plan["items"] if i["id"] == "rds")["parameters"] == {"db_instance_class": "db.r7g.large"}


async def test_structured_answers_as_tool_calls(standin, make_handler) -> None:
    standin.queue("extract", Reply.json({"requirements": {"region": "ap-northeast-1"},
                                         "evidence": [{"field": "region", "quote": "東京"}]}))
    async with make_handler(llm_settings(standin, openai_output="tools")) as handler:
        ctx = Recorder(text("t-1", "東京で Postgres を使うウェブアプリ、本番環境 (a web app with Postgres)", non_interactive=True))
        await handler(ctx)
    assert ctx.last[0] == "done" and "ap-northeast-1" in ctx.last[1]
    extract = standin.of("extract")[0]
    assert "response_format" not in extract.body
    assert extract.body["tool_choice"] == {"type": "function", "function": {"name": "extract"}}
    assert extract.body["tools"][0]["function"]["parameters"]["properties"]["requirements"]


async def test_azure_openai_by_endpoint_and_deployment(standin, make_handler) -> None:
    settings = llm_settings(standin, openai_base_url=None, openai_model=None,
                            azure_openai_endpoint=standin.azure_endpoint, azure_openai_deployment="archops-gpt")
    async with make_handler(settings) as handler:
        ctx = Recorder(text("az-1", "a static website for acme.io in dev", non_interactive=True))
        await handler(ctx)
    assert ctx.last[0] == "done"
    assert standin.calls and all(c.path.startswith("/openai/deployments/archops-gpt/chat/completions?api-version=") for c in standin.calls)
    assert all(c.headers.get("api-key") == standin.api_key and "Authorization" not in c.headers for c in standin.calls)
