"""Modules the offline engine designs pass the whole review that archops promises them."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agents.handler import AgentHandler
from core.envelope import Envelope
from core.settings import Settings
from core.terraform.checkov_scan import check_checkov_many
from core.terraform.review import review_module
from core.terraform.schema import PROVIDER_VERSION

REQUESTS = [
    "a SaaS web app with Postgres and Redis in eu-west-1, production",
    "static website with a custom domain",
    "a web app with HTTPS on app.example.com and Postgres in ap-northeast-2, production",
    "API on Lambda with DynamoDB",
    "queue workers on ECS with SQS",
    "EC2 auto scaling group behind an ALB with MySQL",
    "Aurora PostgreSQL for an analytics app in us-west-2",
]


class _Context:
    def __init__(self, envelope: Envelope) -> None:
        self.envelope, self.attempt, self.events = envelope, 1, []

    async def emit(self, type: str, text: str | None = None, **data) -> None:  # noqa: ANN003
        self.events.append((type, text, data))

    async def once(self, name: str, fn):  # noqa: ANN001, ANN201
        return await fn()


@pytest.fixture(scope="module")
def modules(tmp_path_factory) -> dict[str, dict[str, str]]:  # noqa: ANN001
    import asyncio

    async def design_all() -> dict[str, dict[str, str]]:
        path = tmp_path_factory.mktemp("corpus") / "checkpoints.sqlite3"
        out = {}
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            handler = AgentHandler(saver, Settings(), review_checks={"parse"})
            for i, request in enumerate(REQUESTS):
                ctx = _Context(Envelope(conversation_id=f"v{i}", source="web", user="u", text=request,
                                        non_interactive=True))
                await handler(ctx)
                module = next(d for t, _x, d in ctx.events if t == "artifact" and d.get("kind") == "module")
                out[request] = module["files"]
        return out

    return asyncio.run(design_all())


@pytest.mark.parametrize("request_text", REQUESTS)
def test_designed_module_passes_parse_schema_references_plan_and_policy(
    schema_ready, plan_ready, modules, request_text: str  # noqa: ANN001
) -> None:
    files = modules[request_text]
    review = review_module(files, {"parse", "schema", "references", "plan", "policy", "cost"})
    assert review.passed, [(f.check_id, f.address, f.argument, f.message) for f in review.failing]
    # Terraform itself planned it: every resource is a create, and the WAF's statements parsed
    assert review.plan and review.plan.startswith("Plan: ") and " 0 to destroy" in review.plan
    # the provider pin admits the release whose schema the module was checked against
    assert ".".join(PROVIDER_VERSION.split(".")[:2]) in files["versions.tf"]
    assert review.cost is not None and review.cost.items


# checkov findings the offline engine's blueprints still carry (owned by the agent workflow):
# an HTTP-only listener and open port 80 when no domain/certificate is given, and CloudFront
# without origin access/default root object. Listed so the gap stays visible, not hidden.


@pytest.fixture(scope="module")
def checkov_results(checkov_ready, modules):  # noqa: ANN001, ANN201
    return check_checkov_many(modules)


@pytest.mark.parametrize("request_text", REQUESTS)
def test_designed_module_has_no_checkov_failure_except_documented_skips(
    checkov_results, request_text: str  # noqa: ANN001
) -> None:
    findings = checkov_results[request_text]
    assert [(f.check_id, f.address, f.message) for f in findings if f.failing] == []
    assert all(f.skip_reason for f in findings)  # every other checkov result is a written skip
