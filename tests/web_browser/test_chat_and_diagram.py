"""The chat page against a real archops (`archops up`: web app, worker, redis-server) in
Chromium: a conversation runs to a result by clicking the answers, the module downloads as a
zip, and the diagram page draws the design (clusters and nodes as designed, a node's details
on click)."""

from __future__ import annotations

import json
import time
import zipfile

import pytest

from agents.questions import QUESTIONS
from tests.e2e.test_up_and_chat import up  # noqa: F401 - the fixture: `archops up --port 0`

pytestmark = [pytest.mark.serial, pytest.mark.browser, pytest.mark.slow]


async def api_json(page, path: str):  # type: ignore[no-untyped-def]
    base = page.url.split("/", 3)[:3]
    response = await page.request.get("/".join(base) + path, headers={"Accept": "application/json"})
    assert response.ok, await response.text()
    return await response.json()


async def test_chat_to_a_result_by_clicking_then_the_diagram(up, page, artifacts):  # noqa: F811
    await page.goto(up["sign_in"])  # the one-time link `up` printed: a session, then /
    assert page.url.rstrip("/") == up["url"]
    await page.fill("#text", "a SaaS web app with a postgres database")
    await page.click("#send")

    clicked = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not await page.locator(".result").count():
        recommended = page.locator(".question:not(.answered) button.choice[data-default=true]")
        if await recommended.count():
            card = page.locator(".question:not(.answered)").first
            clicked.append(await card.get_attribute("data-question-id"))
            # the button shows the choice, that it is recommended, and what it costs
            text = await recommended.first.inner_text()
            ask = QUESTIONS[clicked[-1]]
            value = await recommended.first.get_attribute("data-value")
            chosen = next(c for c in ask.choices if c.value == value)
            assert chosen.label in text and "recommended" in text and chosen.detail in text, text
            await recommended.first.click()
            await page.locator(f'.question.answered[data-question-id="{clicked[-1]}"]').wait_for()
        await page.wait_for_timeout(200)
    assert clicked and clicked[0] == "environment", clicked
    result = page.locator(".result")
    await result.wait_for()
    summary = await result.locator(".summary").inner_text()
    assert summary.startswith("Designed web app"), summary
    assert await result.locator(".resources li").count() >= 5
    assert await result.locator(".pillar").count() >= 1  # findings by pillar
    assert "/month" in await result.locator(".cost-total").inner_text()
    await page.screenshot(path=str(artifacts / "chat-result.png"), full_page=True)

    async with page.expect_download() as download_info:
        await result.locator("[data-action=download-zip]").click()
    download = await download_info.value
    target = artifacts / download.suggested_filename
    await download.save_as(target)
    names = zipfile.ZipFile(target).namelist()
    assert any(n.endswith("/versions.tf") for n in names) and any(
        n.endswith("/README.md") for n in names), names

    conversation = page.url.split("conversation=", 1)[1].split("&")[0]
    history = await api_json(page, f"/api/conversations/{conversation}/history")
    module = [e for e in history["events"] if e["data"].get("kind") == "module"][-1]["data"]
    designed = {node["id"] for node in module["diagram"]["nodes"]}

    await result.locator("[data-action=open-diagram]").click()
    await page.wait_for_selector("body[data-diagram]", timeout=30_000)
    assert await page.locator("body").get_attribute("data-diagram") == "ready"
    svg = page.locator("#canvas svg")
    node_ids = {i.removeprefix("node:") for i in
                [await g.get_attribute("id") for g in await svg.locator("g.node").all()]}
    drawn = {i for i in node_ids if "@az" not in i and not i.startswith("subnet:")}
    assert drawn == designed
    clusters = {(await g.get_attribute("id")).removeprefix("cluster:")
                for g in await svg.locator("g.cluster").all()}
    view = await api_json(page, f"/api/conversations/{conversation}/diagram")
    assert clusters == set(view["clusters"])
    assert {"account", "region", "vpc", "az1", "az1:public", "az1:private", "az1:data",
            "az2:data"} <= clusters
    # the VPC nests in the region, AZs in the VPC, tiers in their AZ; CloudFront outside
    assert await svg.locator('[id="cluster:region"]').count() == 1
    await page.screenshot(path=str(artifacts / "diagram.png"))

    await svg.locator('[id="node:aws_db_instance.main"]').click()
    details = page.locator("#details")
    await details.locator("h2").wait_for()
    assert (await details.get_attribute("data-node")) == "aws_db_instance.main"
    text = await details.inner_text()
    assert "RDS" in text and "aws_db_instance.main" in text and "/month" in text, text
    assert await svg.locator("g.node.selected").count() >= 1
    await page.screenshot(path=str(artifacts / "diagram-details.png"))

    async with page.expect_download() as svg_download:
        await page.click("#export-svg")
    exported = artifacts / "design.svg"
    await (await svg_download.value).save_as(exported)
    assert 'id="cluster:vpc"' in exported.read_text()

    # a follow-up in the same conversation (the chat page in Korean this time: every string
    # comes from the one table per language); its diagram highlights what changed
    await page.goto(f"{up['url']}/?lang=ko&conversation={conversation}")
    assert await page.locator("#send").inner_text() == "보내기"
    await page.locator(".result").wait_for()
    await page.fill("#text", "add a redis cache")
    await page.click("#send")
    second = page.locator('.result[data-version="2"]')
    await second.wait_for(timeout=120_000)
    assert "$" in await second.locator(".cost-total").inner_text()
    await page.screenshot(path=str(artifacts / "chat-ko.png"))
    await second.locator("[data-action=open-diagram]").click()
    await page.wait_for_selector("body[data-diagram=ready]", timeout=30_000)
    svg = page.locator("#canvas svg")
    added = [await g.get_attribute("id") for g in await svg.locator("g.node.added").all()]
    assert "node:aws_elasticache_replication_group.main" in added, added
    assert "1" in await page.locator("#changes").inner_text()
    await page.screenshot(path=str(artifacts / "diagram-v2.png"))
    # the picker goes back to version 1, where nothing is marked
    await page.select_option("#version-picker", "1")
    await page.wait_for_selector("body[data-diagram=ready]")
    assert await svg.locator("g.node.added").count() == 0
    json.dumps(view)  # the diagram data is plain JSON
