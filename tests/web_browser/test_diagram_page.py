"""The diagram page in Chromium on designs written straight to the event log (no worker): the
SVG's nodes and clusters are the design's, a click shows a node's details, a follow-up marks
what it changed, a 1,000-resource design opens folded, and without WebAssembly the server lays
it out. Screenshots land in the test artefacts."""

from __future__ import annotations

import contextlib
import copy
import re
from urllib.parse import quote

import pytest

from core.bus import EventLog
from core.events import Event
from tests.web.designs import large_design, module
from tests.web.test_diagram import needs_dot
from tests.web.test_pages import MODULE
from web.diagram import diagram_view
from web.dot import MAX_NODES
from web.pages import VENDOR

pytestmark = pytest.mark.browser
needs_viz = pytest.mark.skipif(not VENDOR["viz.js"].exists(),
                               reason="web/node_modules is missing: run scripts/setup")


async def design(redis, keys, own, conversation, *modules):
    await own(conversation)
    log = EventLog(redis, keys)
    for data in modules:
        await log.append(Event(type="artifact", conversation_id=conversation,
                               text="Terraform module", data=data))


async def ids(page, selector: str, prefix: str) -> list[str]:
    return [(await el.get_attribute("id")).removeprefix(prefix)
            for el in await page.locator(selector).all()]


async def open_diagram(page, server, signer, conversation, query=""):
    """The diagram as a Slack thread's link opens it: read-only, this conversation only."""
    cap = signer.issue("conversation", conversation, actions={"read"}, ttl_s=600)
    await page.goto(str(server.make_url(f"/c/{conversation}/diagram?cap={quote(cap)}{query}")))
    await page.wait_for_selector("body[data-diagram=ready], body[data-diagram=fallback]",
                                 timeout=30_000)
    assert await page.locator("body").get_attribute("data-diagram") == "ready"


@needs_viz
async def test_the_diagram_is_the_design_a_click_shows_details_and_a_follow_up_is_marked(
        redis, keys, make_server, signer, own, page, artifacts):
    server = await make_server("web-a")
    await design(redis, keys, own, "c-draw", MODULE)
    await open_diagram(page, server, signer, "c-draw")
    assert await page.locator("body").get_attribute("data-engine") == "wasm"
    view = diagram_view(MODULE, [1])
    nodes = await ids(page, "#canvas svg g.node", "node:")
    designed = {n["id"] for n in MODULE["diagram"]["nodes"]}
    assert {n for n in nodes if "@az" not in n and not n.startswith("subnet:")} == designed
    assert await ids(page, "#canvas svg g.cluster", "cluster:") == view["clusters"]
    # the nesting an architect expects: tiers inside their AZ inside the VPC inside the region
    tier = page.locator('[id="cluster:az2:private"]')
    assert await tier.count() == 1
    for outer in ("cluster:region", "cluster:vpc", "cluster:az2"):
        box, inner = await page.locator(f'[id="{outer}"]').bounding_box(), await tier.bounding_box()
        assert box["x"] <= inner["x"] and box["y"] <= inner["y"]
        assert box["x"] + box["width"] >= inner["x"] + inner["width"]
    await page.screenshot(path=str(artifacts / "diagram-v1.png"))

    await page.locator('[id="node:aws_ecs_service.app"]').click()
    details = page.locator("#details")
    await page.wait_for_selector('#details[data-node="aws_ecs_service.app"]')
    text = await details.inner_text()
    assert "ECS Fargate service" in text and "$14/month" in text and "X1" in text, text
    assert await page.locator("g.node.selected").count() == 3  # AZ 1 and its two copies
    await page.screenshot(path=str(artifacts / "diagram-details.png"))

    async with page.expect_download() as svg_download:
        await page.click("#export-svg")
    exported = artifacts / "diagram-v1.svg"
    await (await svg_download.value).save_as(exported)
    assert 'id="cluster:vpc"' in exported.read_text() and "selected" not in exported.read_text()
    async with page.expect_download() as png_download:
        await page.click("#export-png")
    png = artifacts / "diagram-v1.png.export.png"
    await (await png_download.value).save_as(png)
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(head[16:20], "big") > 500

    # a follow-up adds a cache, drops CloudTrail and changes the service's file
    second = copy.deepcopy(MODULE)
    second["version"] = 2
    second["diagram"]["nodes"] = [n for n in second["diagram"]["nodes"]
                                  if n["id"] != "aws_cloudtrail.main"]
    second["diagram"]["nodes"].append({"id": "aws_elasticache_replication_group.main",
                                       "label": "ElastiCache Redis", "kind": "redis",
                                       "group": "data", "blueprint": "redis"})
    second["files"]["compute.tf"] = "# reads the cache's address\n"
    await EventLog(redis, keys).append(Event(type="artifact", conversation_id="c-draw",
                                             text="Terraform module", data=second))
    await open_diagram(page, server, signer, "c-draw")
    assert await ids(page, "g.node.added", "node:") == [
        "aws_elasticache_replication_group.main", "aws_elasticache_replication_group.main@az2",
        "aws_elasticache_replication_group.main@az3"]
    assert "aws_ecs_service.app" in await ids(page, "g.node.changed", "node:")
    assert await ids(page, "g.node.removed", "node:") == ["aws_cloudtrail.main"]
    assert re.search(r"1 added, 1 changed, 1 removed", await page.locator("#changes").inner_text())
    await page.screenshot(path=str(artifacts / "diagram-v2.png"))
    await page.select_option("#version-picker", "1")
    await page.wait_for_selector("body[data-diagram=ready]")
    assert "version=1" in page.url
    assert await page.locator("g.node.added").count() == 0


@needs_viz
async def test_a_thousand_resources_open_folded_and_a_group_opens_with_its_members(
        redis, keys, make_server, signer, own, page, artifacts):
    server = await make_server("web-a")
    await design(redis, keys, own, "c-big", module(large_design(1000)))
    await open_diagram(page, server, signer, "c-big")
    drawn = await page.locator("#canvas svg g.node").count()
    assert 0 < drawn <= MAX_NODES
    assert "1000 resources" in await page.locator("#node-count").inner_text()
    await page.screenshot(path=str(artifacts / "diagram-1000-folded.png"))

    await page.locator('[id="node:group:tier-private:ec2"]').click()
    await page.wait_for_selector('#details[data-group="group:tier-private:ec2"]')
    assert "ec2 × " in await page.locator("#details h2").inner_text()
    await page.click("#expand-group")
    await page.wait_for_selector('[id="node:aws_ec2.r5"]', timeout=30_000)
    await page.wait_for_selector("body[data-diagram=ready]")
    assert "expand=group%3Atier-private%3Aec2" in page.url or "expand=group:tier-private:ec2" in page.url
    assert await page.locator('[id="node:aws_ec2.r5@az3"]').count() == 1
    assert await page.locator('[id="node:group:tier-private:ec2"]').count() == 0
    assert await page.locator("#canvas svg g.node").count() <= MAX_NODES
    await page.screenshot(path=str(artifacts / "diagram-1000-opened.png"))
    # the member's details offer to fold the group again
    await page.wait_for_selector("#collapse-group")
    await page.click("#collapse-group")
    await page.wait_for_selector('[id="node:group:tier-private:ec2"]', timeout=30_000)


@needs_dot
async def test_without_webassembly_the_server_lays_the_diagram_out_and_it_works_the_same(
        redis, keys, make_server, signer, own, page_without_wasm, artifacts):
    page = page_without_wasm
    server = await make_server("web-a")
    await design(redis, keys, own, "c-nowasm", MODULE)
    await open_diagram(page, server, signer, "c-nowasm")
    assert await page.locator("body").get_attribute("data-engine") == "server"
    assert "laid out by the server" in await page.locator("#node-count").inner_text()
    nodes = await ids(page, "#canvas svg g.node", "node:")
    assert {n for n in nodes if "@az" not in n and not n.startswith("subnet:")} == {
        n["id"] for n in MODULE["diagram"]["nodes"]}
    await page.locator('[id="node:aws_kms_key.main"]').click()
    await page.wait_for_selector('#details[data-node="aws_kms_key.main"]')
    assert "KMS key" in await page.locator("#details").inner_text()
    await page.screenshot(path=str(artifacts / "diagram-without-wasm.png"))
    # the CSP is enforced: a script injected inline does not run
    with contextlib.suppress(Exception):
        await page.add_script_tag(content="document.body.dataset.injected = 'ran'")
    assert await page.locator("body").get_attribute("data-injected") is None
    refused = [e for e in page.errors if "Content Security Policy" in e]
    assert refused, page.errors
    page.errors[:] = [e for e in page.errors if e not in refused]  # the refusal was the point
