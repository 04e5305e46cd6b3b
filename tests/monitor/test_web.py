"""The metrics page: charts per resource with the insights marked, for the project's owner only,
and "make this change" submitting the insight's request like the chat does."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from core.bus import EventLog, Keys, Submitter
from core.capability import Signer
from core.envelope import Envelope
from web import metrics as metrics_page
from web.app import WebContext, create_app
from web.auth import Access, AccessStore
from web.hub import Hub

TOKEN = "test-cli-token-0123456789abcdef"
CLI = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}


@pytest.fixture
def keys(prefix: str) -> Keys:
    return Keys(prefix, partitions=2)


@pytest.fixture
async def server(redis, keys, metrics) -> AsyncIterator[TestServer]:
    events = EventLog(redis, keys)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    access = Access(AccessStore(redis, keys.prefix), Signer([b"k" * 32]), cli_token=TOKEN)
    app = create_app(WebContext(submitter, events, Hub(events, "web-1"), "web-1", access=access))
    metrics_page.add_routes(app, metrics)
    srv = TestServer(app)
    await srv.start_server()
    yield srv
    await srv.close()


async def call(server: TestServer, method: str, path: str, headers: dict[str, str] | None = None,
               **kwargs: Any) -> tuple[int, Any, Any]:
    async with aiohttp.ClientSession() as session, session.request(
            method, server.make_url(path), headers=headers if headers is not None else CLI, **kwargs) as r:
        body = await (r.json() if r.content_type == "application/json" else r.text())
        return r.status, body, r.headers


@pytest.fixture
async def seeded(metrics, project) -> dict[str, Any]:
    from core.store.metrics_store import SeriesSpec

    now = int(time.time()) // 300 * 300
    spec = SeriesSpec("us-east-2", "instance", "i-0big", "cpu", "AWS/EC2", "CPUUtilization", "Average", 300,
                      (("InstanceId", "i-0big"),), "Percent")
    [cpu] = await metrics.ensure_series(project, [spec])
    await metrics.register_fence(project, 1)
    await metrics.write(project, 1, {cpu.id: [(now - 300 * k, 10.0 + k % 5) for k in range(1, 289)]})
    await metrics.set_inventory(project, {"regions": ["us-east-2"], "resources": [
        {"kind": "instance", "id": "i-0big", "region": "us-east-2", "name": "web-1",
         "attrs": {"instance_type": "m5.xlarge"}}]})
    await metrics.save_insights(project, [{
        "id": "ins_00aa11", "detector": "rightsizing", "severity": "info", "region": "us-east-2",
        "resource_kind": "instance", "resource_id": "i-0big", "metric": "cpu",
        "title": {"en": "instance web-1 is oversized (m5.xlarge)", "ko": "인스턴스 web-1 과다"},
        "recommendation": {"en": "Change it to m5.large (-$70.08/month).", "ko": "m5.large로 변경하세요."},
        "evidence": {"numbers": {"cpu_p99_5_percent": 14.0}}, "monthly_usd": -70.08,
        "change_request": "rightsize instance i-0big (web-1) from m5.xlarge to m5.large",
        "window_start": now - 86400, "window_end": now}], ["rightsizing"])
    return {"now": now}


async def test_the_page_loads_its_script_under_the_csp(server, seeded) -> None:
    status, html, headers = await call(server, "GET", "/projects/shop/metrics",
                                       {"Authorization": f"Bearer {TOKEN}", "Accept": "text/html"})
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert scripts == [""] and re.search(r'src="/static/[0-9a-f]{12}/metrics\.js"', html)
    assert "style=" not in html
    js = re.search(r'src="(/static/[^"]+/metrics\.js)"', html).group(1)
    status, body, headers = await call(server, "GET", js, {})
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and "insightCard" in body


async def test_charts_per_resource_with_the_insight_marked(server, seeded) -> None:
    status, data, _ = await call(server, "GET", "/api/projects/shop/metrics?days=1")
    assert status == 200, data
    [resource] = data["resources"]
    assert resource["label"] == "web-1" and resource["kind"] == "instance"
    [cpu] = resource["series"]
    assert cpu["metric"] == "cpu" and cpu["unit"] == "Percent"
    assert data["window"]["bucket"] == 300 and len(cpu["points"]) == 288
    assert all(len(p) == 3 for p in cpu["points"])  # bucket start, mean, max
    [insight] = data["insights"]
    assert insight["resource_id"] == "i-0big" and insight["window_end"] == seeded["now"]
    assert insight["change_request"].startswith("rightsize instance i-0big")
    week = (await call(server, "GET", "/api/projects/shop/metrics?days=7"))[1]
    assert week["window"]["bucket"] == 1800 and len(week["resources"][0]["series"][0]["points"]) <= 49
    assert set(data["cost"]) == {"week", "month"}


async def test_only_the_owner_reads_a_projects_metrics(server, seeded, redis, keys) -> None:
    assert (await call(server, "GET", "/api/projects/shop/metrics", {}))[0] == 401
    session = await AccessStore(redis, keys.prefix).open_session("U0SOMEONE")
    status, body, _ = await call(server, "GET", "/api/projects/shop/metrics",
                                 {"Cookie": f"archops_session={session}", "Accept": "application/json"})
    assert status == 403 and "owner" in body["error"]["message"]
    cap = Signer([b"k" * 32]).issue("conversation", "conv-x", ttl_s=60)
    assert (await call(server, "GET", f"/api/projects/shop/metrics?cap={cap}", {}))[0] == 403
    assert (await call(server, "GET", "/api/projects/nobody/metrics"))[0] == 404
    assert (await call(server, "GET", "/api/projects/shop/metrics?days=90"))[0] == 400
    assert (await call(server, "GET", "/api/projects/b%21d/metrics"))[0] == 400


async def test_make_this_change_submits_the_request_once(server, seeded, store, project, redis, keys) -> None:
    await store.ensure_conversation("conv-design", "cli", "local", project_id=project)
    headers = {**CLI, "Content-Type": "application/json"}
    status, answer, _ = await call(server, "POST", "/api/projects/shop/insights/ins_00aa11/act",
                                   headers, data="{}")
    assert status == 202 and answer["accepted"] and answer["conversation_id"] == "conv-design"
    assert answer["url"] == "/c/conv-design"
    entries = [Envelope.from_fields(f) for p in range(keys.partitions) for _i, f in await redis.xrange(keys.ingress(p))]
    assert [e.text for e in entries] == [
        "Rightsize instance i-0big (web-1) from m5.xlarge to m5.large (archops monitor insight ins_00aa11)."]
    assert entries[0].source == "cli" and entries[0].project_id == project
    again = (await call(server, "POST", "/api/projects/shop/insights/ins_00aa11/act", headers, data="{}"))[1]
    assert again["duplicate"] and again["request_id"] == answer["request_id"]
    assert (await call(server, "POST", "/api/projects/shop/insights/ins_ffff/act", headers, data="{}"))[0] == 404
    assert (await call(server, "POST", "/api/projects/shop/insights/ins_00aa11/act", headers,
                       data='{"text": "drop the database"}'))[0] == 400
    assert (await call(server, "POST", "/api/projects/shop/insights/ins_00aa11/act", CLI, data="{}"))[0] == 415
