"""Acting on an insight: its change becomes a chat request of the project's conversation, on
the same bus every edge submits to, once; a worker picks it up and the agent works on it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.bus import EventLog, Keys, Submitter
from core.changes import request_change
from core.envelope import Envelope
from core.errors import NotFound, ValidationError

pytestmark = pytest.mark.timeout(120)


def rightsizing(ident: str = "ins_big") -> dict[str, Any]:
    return {"id": ident, "detector": "rightsizing", "severity": "info", "region": "us-east-2",
            "resource_kind": "instance", "resource_id": "i-0big", "metric": "cpu",
            "title": {"en": "instance web-1 is oversized (m5.xlarge)", "ko": "인스턴스 web-1 과다"},
            "recommendation": {"en": "CPU p99.5 14.2% over 40 hours of the last 14 days; on m5.large it would be "
                                     "28.4%. Change it to m5.large (-$70.08/month).", "ko": "..."},
            "evidence": {"numbers": {"cpu_p99_5_percent": 14.2}},
            "change_request": "rightsize instance i-0big (web-1) from m5.xlarge to m5.large",
            "monthly_usd": -70.08, "window_start": 0, "window_end": 3600}


@pytest.fixture
def keys(prefix: str) -> Keys:
    return Keys(prefix, partitions=4)


@pytest.fixture
async def submitter(redis: Any, keys: Keys) -> Submitter:
    s = Submitter(redis, keys)
    await s.ensure_groups()
    return s


async def entries(redis: Any, keys: Keys) -> list[Envelope]:
    out = []
    for p in range(keys.partitions):
        out += [Envelope.from_fields(fields) for _id, fields in await redis.xrange(keys.ingress(p))]
    return out


async def test_an_insight_becomes_one_request_of_the_projects_conversation(
        store, metrics, project, submitter, redis, keys) -> None:
    await store.ensure_conversation("conv-older", "web", "local", project_id=project, title="first design")
    await store.ensure_conversation("conv-design", "web", "local", project_id=project, title="the shop")
    await metrics.save_insights(project, [rightsizing()], ["rightsizing"])

    result, conversation = await request_change(metrics, submitter, "ins_big", user="local", source="cli")

    assert result.accepted and conversation == "conv-design"  # the latest one bound to the project
    [envelope] = await entries(redis, keys)
    assert envelope.conversation_id == "conv-design" and envelope.project_id == project
    assert envelope.user == "local" and envelope.source == "cli"
    assert envelope.text == ("Rightsize instance i-0big (web-1) from m5.xlarge to m5.large "
                             "(archops monitor insight ins_big).")
    row = await metrics.get_insight("ins_big")
    assert row.status == "acted" and row.request_id == result.request_id

    again, _ = await request_change(metrics, submitter, "ins_big", user="someone-else", source="web")
    assert not again.accepted and again.request_id == result.request_id  # a double click: one request
    assert len(await entries(redis, keys)) == 1


async def test_what_cannot_be_acted_on_is_refused_with_the_reason(store, metrics, project, submitter, redis, keys) -> None:
    manual = {**rightsizing("ins_manual"), "change_request": None}
    await metrics.save_insights(project, [rightsizing("ins_gone"), manual], ["rightsizing"])
    await metrics.save_insights(project, [manual], ["rightsizing"])  # ins_gone is resolved now
    with pytest.raises(ValidationError, match="resolved"):
        await request_change(metrics, submitter, "ins_gone", user="local", source="cli")
    with pytest.raises(ValidationError, match="nothing archops can change"):
        await request_change(metrics, submitter, "ins_manual", user="local", source="cli")
    with pytest.raises(NotFound):
        await request_change(metrics, submitter, "ins_nope", user="local", source="cli")
    with pytest.raises(NotFound):
        await request_change(metrics, submitter, "ins_manual", user="local", source="cli", project_id="other")
    assert await entries(redis, keys) == []


async def test_the_agent_designs_the_change_on_the_projects_module(
        store, metrics, project, redis, redis_url, prefix, tmp_path) -> None:
    """A worker (offline engine) designs the project first; the insight's change then comes into
    that conversation and the agent answers it with the module's next version. (What the
    offline engine makes of the sentence is the agent's: it does not resize an instance from
    "from m5.xlarge to m5.large" yet, and says it found nothing to change.)"""
    from agents.process import run_worker
    from core.settings import Settings

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'archops.sqlite3'}",
                        redis_prefix=prefix, partitions=2, review_checks="parse", cpu_pool="thread",
                        cpu_workers=1, lease_ttl_ms=3000)
    keys = Keys(prefix, partitions=2)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    events = EventLog(redis, keys)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, redis_url, stop))

    async def finished(request_id: str, conversation: str) -> list[Any]:
        for _ in range(900):
            seen = [e for e in await events.read(conversation, count=1000) if e.request_id == request_id]
            if any(e.type in ("done", "question", "error") for e in seen):
                return seen
            await asyncio.sleep(0.1)
        raise AssertionError(f"request {request_id} did not finish")

    try:
        design = await submitter.submit(Envelope(
            conversation_id="conv-shop", source="cli", user="local", project_id=project, non_interactive=True,
            text="a web application on EC2 instances m5.xlarge behind a load balancer, with Postgres"))
        first = await finished(design.request_id, "conv-shop")
        assert first[-1].type == "done"
        await metrics.save_insights(project, [rightsizing()], ["rightsizing"])
        result, conversation = await request_change(metrics, submitter, "ins_big", user="local", source="cli")
        assert conversation == "conv-shop"
        answer = await finished(result.request_id, conversation)
    finally:
        stop.set()
        await worker
    modules = [e for e in answer if e.type == "artifact" and "files" in e.data]
    assert answer[-1].type == "done" and modules and modules[-1].data["version"] == 2
    request = await store.get_request(result.request_id)
    assert request.status == "done" and request.text.startswith("Rightsize instance i-0big")
    assert (await store.get_conversation(conversation)).project_id == project


async def test_a_slack_threads_conversation_is_acted_on_from_slack_only(store, metrics, project, submitter, redis, keys) -> None:
    from core.errors import Forbidden

    await store.ensure_conversation("slack:T1:C0SHOP:1700000000.000100", "slack", "U1", project_id=project)
    await metrics.save_insights(project, [rightsizing()], ["rightsizing"])
    with pytest.raises(Forbidden, match="belongs to the slack edge"):
        await request_change(metrics, submitter, "ins_big", user="local", source="cli")
    assert await entries(redis, keys) == []
    result, conversation = await request_change(metrics, submitter, "ins_big", user="U1", source="slack")
    assert result.accepted and conversation.startswith("slack:")
