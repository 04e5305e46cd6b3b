"""The metrics page in Chromium: charts drawn per resource, the insight's window shaded on them,
nothing the CSP refuses, and "Make this change" submitting the insight's request."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from core.bus import EventLog, Keys, Submitter
from core.capability import Signer
from core.envelope import Envelope
from core.store import Store
from core.store.metrics_store import MetricsStore, SeriesSpec
from tests.web_browser.conftest import until_count
from web import metrics as metrics_page
from web.app import WebContext, create_app
from web.auth import LOCAL_PRINCIPAL, Access, AccessStore
from web.hub import Hub

pytestmark = pytest.mark.browser


@pytest.fixture
async def metrics(tmp_path) -> AsyncIterator[MetricsStore]:
    store = await Store.open(f"sqlite:///{tmp_path / 'archops.sqlite3'}")
    yield MetricsStore(store)
    await store.close()


@pytest.fixture
async def server(redis, prefix, metrics) -> AsyncIterator[tuple[TestServer, Keys]]:
    keys = Keys(prefix, partitions=2)
    events = EventLog(redis, keys)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    access = Access(AccessStore(redis, prefix), Signer([b"k" * 32]), cli_token="t" * 32)
    app = create_app(WebContext(submitter, events, Hub(events, "web-1"), "web-1", access=access))
    metrics_page.add_routes(app, metrics)
    srv = TestServer(app)
    await srv.start_server()
    yield srv, keys
    await srv.close()


async def seed(metrics: MetricsStore) -> int:
    store = metrics.store
    await store.upsert_project("shop", aws_regions=["eu-west-1"])
    await metrics.watch("shop")
    now = int(time.time()) // 300 * 300
    specs = [SeriesSpec("eu-west-1", "instance", "i-0big", m, "AWS/EC2", name, stat, 300,
                        (("InstanceId", "i-0big"),), unit)
             for m, name, stat, unit in (("cpu", "CPUUtilization", "Average", "Percent"),
                                         ("network_in", "NetworkIn", "Sum", "Bytes"))]
    cpu, net = await metrics.ensure_series("shop", specs)
    await metrics.register_fence("shop", 1)
    await metrics.write("shop", 1, {
        cpu.id: [(now - 300 * k, 12.0 + (k % 7)) for k in range(1, 2017)],
        net.id: [(now - 300 * k, 4e7 + 1e6 * (k % 5)) for k in range(1, 2017)]})
    await metrics.set_inventory("shop", {"regions": ["eu-west-1"], "resources": [
        {"kind": "instance", "id": "i-0big", "region": "eu-west-1", "name": "web-1",
         "attrs": {"instance_type": "m5.xlarge"}}]})
    await metrics.save_insights("shop", [{
        "id": "ins_00bb22", "detector": "rightsizing", "severity": "info", "region": "eu-west-1",
        "resource_kind": "instance", "resource_id": "i-0big", "metric": "cpu",
        "title": {"en": "instance web-1 is oversized (m5.xlarge)", "ko": "인스턴스 web-1 과다"},
        "recommendation": {"en": "Change it to m5.large (-$77.09/month).", "ko": "m5.large로 변경하세요."},
        "evidence": {"numbers": {}}, "monthly_usd": -77.09,
        "change_request": "rightsize instance i-0big (web-1) from m5.xlarge to m5.large",
        "window_start": now - 3 * 86400, "window_end": now}], ["rightsizing"])
    return now


async def test_the_metrics_page_charts_marks_and_acts(server, metrics, redis, prefix, page, artifacts) -> None:
    srv, keys = server
    await seed(metrics)
    token = await AccessStore(redis, prefix).issue_login(LOCAL_PRINCIPAL)
    await page.goto(str(srv.make_url(f"/login?token={token}")))
    await page.goto(str(srv.make_url("/projects/shop/metrics")))

    assert await until_count(page, "article.resource svg.chart", 2) == 2
    assert await page.locator("article.resource h2").first.inner_text() == "web-1 instance · eu-west-1"
    assert await page.locator("svg.chart path.line").count() == 2
    # the insight's window shaded on the chart of the metric it is about, not on the others
    assert await page.locator("svg.chart rect.mark[data-insight=ins_00bb22]").count() == 1
    card = page.locator("article.insight[data-insight=ins_00bb22]")
    assert "oversized" in await card.locator("h3").inner_text()
    assert "-$77" in await card.locator(".effect").inner_text()
    await page.screenshot(path=str(artifacts / "metrics-page.png"), full_page=True)

    await card.locator("button").click()
    await page.wait_for_selector("article.insight a[href='/c/project-shop']")
    entries: list[Any] = [Envelope.from_fields(f) for p in range(keys.partitions)
                          for _id, f in await redis.xrange(keys.ingress(p))]
    assert [e.text for e in entries] == [
        "Rightsize instance i-0big (web-1) from m5.xlarge to m5.large (archops monitor insight ins_00bb22)."]
    assert entries[0].source == "web" and entries[0].user == LOCAL_PRINCIPAL
