"""The web entry points of a project's account, through the real app and access model: the last
scan's page and API (counts, what was not read, findings by pillar, the diagram), and the tag
plan form's API (propose, dry run, approve, apply), each only for who the project allows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from core.bus import EventLog, Keys, Submitter
from core.capability import Signer
from core.store.scans import ScanStore
from scanner.service import scan_project
from web import scans
from web.app import WebContext, create_app
from web.auth import SESSION_COOKIE, Access, AccessStore
from web.hub import Hub

pytestmark = pytest.mark.timeout(180)
CLI_TOKEN = "scan-web-cli-token-0123456789abcdef"
PROJECT = "acme-web"


@pytest.fixture
async def server(redis: Any, prefix: str, store: Any, database_url: str, data_dir: Path,
                 own_account: tuple[str, dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    url, account = own_account
    await store.upsert_project(PROJECT, name="Acme", aws_regions=["us-east-1", "eu-west-1"],
                               tag_policy={"key": "WebTeam", "value": "web-42"})
    records = ScanStore(store)
    await records.set_member(PROJECT, "slack:T1:UVIEWER", "viewer", added_by="local")
    await records.set_member(PROJECT, "slack:T1:UAPPROVER", "approver", added_by="local")
    await store.upsert_project("other", name="Other", aws_regions=["us-east-1"])
    outcome = await scan_project(store, PROJECT, principal="local", source="cli", data_dir=data_dir,
                                 review={"parse"}, endpoint_url=url)
    keys = Keys(prefix, partitions=2)
    events = EventLog(redis, keys, client_ttl_s=30)
    submitter = Submitter(redis, keys, max_text_chars=1000)
    access_store = AccessStore(redis, keys.prefix)
    access = Access(access_store, Signer([b"k" * 32]), cli_token=CLI_TOKEN)
    app = create_app(WebContext(submitter, events, Hub(events, "scan-web"), "scan-web", access=access))
    scans.install(app, database_url=database_url, data_dir=data_dir, aws={"endpoint_url": url})
    test_server = TestServer(app)
    await test_server.start_server()
    sessions = {who: await access_store.open_session(who) for who in
                ("slack:T1:UVIEWER", "slack:T1:UAPPROVER", "slack:T9:USTRANGER")}
    base = str(test_server.make_url(""))
    clients: list[ClientSession] = []

    def as_(who: str | None) -> ClientSession:
        cookies = {SESSION_COOKIE: sessions[who]} if who else {}
        client = ClientSession(base_url=base, cookies=cookies)
        clients.append(client)
        return client

    yield {"as": as_, "scan": outcome.scan, "account": account, "url": url, "signer": access.signer}
    for client in clients:
        await client.close()
    await test_server.close()


async def test_the_last_scan_for_who_the_project_allows(server: dict[str, Any]) -> None:
    viewer, scan = server["as"]("slack:T1:UVIEWER"), server["scan"]
    async with viewer.get(f"/api/projects/{PROJECT}/scan") as r:
        assert r.status == 200
        body = await r.json()
    assert (body["id"], body["status"], body["regions"]) == (scan.id, "done", ["us-east-1", "eu-west-1"])
    assert body["counts"]["load_balancer"] == 2 and body["counts"]["lambda_function"] == 4 and body["missing"] == []
    assert {f["check_id"] for f in body["findings"]["security"]} >= {"ARCHOPS_S3_PUBLIC", "ARCHOPS_SG_OPEN_INGRESS"}
    assert {v["label"].split(" ")[0] for v in body["vpcs"]} >= {"acme-prod", "acme-staging", "acme-eu"}
    assert body["diagram_url"] == f"/p/{PROJECT}/scans/{scan.id}/diagram"
    async with viewer.get(f"/api/projects/{PROJECT}/scans/{scan.id}/diagram") as r:
        diagram = await r.json()
    prod = next(v["id"] for v in body["vpcs"] if v["label"].startswith("acme-prod"))
    assert f'id="cluster:vpc:{prod}"' in diagram["dot"] and '"acme-prod-pg"' in diagram["dot"]
    pg = diagram["nodes"]["acme-prod-pg"]
    assert pg["kind"] == "db_instance" and pg["where"].startswith("Account / us-east-1 / acme-prod")
    async with viewer.get(f"/p/{PROJECT}", headers={"Accept": "text/html"}) as r:
        page = await r.text()
        assert r.status == 200 and "script-src 'self' 'wasm-unsafe-eval'" in r.headers["Content-Security-Policy"]
    assert "/scan.js" in page and "{{static}}" not in page and "<script>" not in page
    async with viewer.get(body["diagram_url"], headers={"Accept": "text/html"}) as r:
        assert r.status == 200 and "/scan-diagram.js" in await r.text()
    # nobody else: a stranger, no credential, a conversation's link, another project's URL
    stranger, anonymous = server["as"]("slack:T9:USTRANGER"), server["as"](None)
    async with stranger.get(f"/api/projects/{PROJECT}/scan") as r:
        assert r.status == 403 and "not a member" in (await r.json())["error"]["message"]
    async with stranger.get(f"/p/{PROJECT}", headers={"Accept": "text/html"}) as r:
        assert r.status == 403
    async with anonymous.get(f"/api/projects/{PROJECT}/scan") as r:
        assert r.status == 401
    cap = server["signer"].issue("conversation", "conv-1", actions={"read"}, ttl_s=60)
    async with anonymous.get(f"/api/projects/{PROJECT}/scan?cap={cap}") as r:
        assert r.status == 403
    async with viewer.get(f"/api/projects/other/scans/{scan.id}/diagram") as r:
        assert r.status == 403  # not a member of that one either
    async with server["as"]("slack:T1:UAPPROVER").get("/api/projects/nope/scan") as r:
        assert r.status == 404
    async with viewer.get(f"/api/projects/{PROJECT}/scans/scan-0000000000000000/diagram") as r:
        assert r.status == 404


async def test_the_tag_plan_form_dry_runs_then_approves_then_applies(server: dict[str, Any]) -> None:
    viewer, approver, account = server["as"]("slack:T1:UVIEWER"), server["as"]("slack:T1:UAPPROVER"), server["account"]
    plans = f"/api/projects/{PROJECT}/tag-plans"
    chosen = [account["lb"], "acme-assets", account["instances"][0]]
    for bad, why in (({"select": chosen, "owner": "me"}, "unknown field"), ({}, "say what to tag"),
                     ({"select": "acme-assets"}, "list of ids"), ({"select": chosen, "value": "x" * 300}, "256"),
                     ({"name_pattern": "acme-("}, "not a regular expression")):
        async with viewer.post(plans, json=bad) as r:
            assert r.status == 400 and why in (await r.json())["error"]["message"], (bad, await r.text())
    async with viewer.post(plans, data="{}", headers={"Content-Type": "text/plain"}) as r:
        assert r.status == 415
    async with viewer.post(plans, json={"select": chosen}, headers={"Origin": "http://evil.example"}) as r:
        assert r.status == 403
    async with viewer.post(plans, json={"select": chosen}) as r:
        assert r.status == 201, await r.text()
        plan = await r.json()
    assert (plan["key"], plan["value"], plan["status"], plan["next"]) == ("WebTeam", "web-42", "proposed", ["dry_run"])
    assert {c["id"] for c in plan["changes"]} == set(chosen) and plan["created_by"] == "slack:T1:UVIEWER"
    step = f"{plans}/{plan['id']}"
    async with approver.post(f"{step}/approve", json={}) as r:
        assert r.status == 409 and "dry-run it first" in (await r.json())["error"]["hint"]
    async with viewer.post(f"{step}/dry-run", json={}) as r:
        dry = await r.json()
    assert dry["status"] == "dry_run" and dry["next"] == ["dry_run", "approve"]
    outcome = next(o for o in dry["dry_run"]["outcomes"] if o["id"] == "acme-assets")
    assert outcome["status"] == "would tag" and outcome["after"]["WebTeam"] == "web-42"
    assert "WebTeam" not in outcome["before"]
    async with viewer.post(f"{step}/approve", json={}) as r:
        assert r.status == 403
    async with approver.post(f"{step}/approve", json={}) as r:
        approved = await r.json()
    assert (approved["status"], approved["approved_by"], approved["approved_via"]) == ("approved", "slack:T1:UAPPROVER", "web")
    async with viewer.post(f"{step}/apply", json={}) as r:
        assert r.status == 403
    async with approver.post(f"/api/projects/other/tag-plans/{plan['id']}/apply", json={}) as r:
        assert r.status == 403  # the plan is this project's; the approver is not other's
    async with approver.post(f"{step}/apply", json={}) as r:
        assert r.status == 200, await r.text()
        applied = await r.json()
    assert applied["status"] == "applied" and applied["next"] == []
    [app] = applied["applications"]
    assert (app["status"], app["applied_by"], app["approved_by"]) == ("done", "slack:T1:UAPPROVER", "slack:T1:UAPPROVER")
    by_id = {o["id"]: o for o in app["outcomes"]}
    assert by_id[account["lb"]]["via"] == "elasticloadbalancing:AddTags" and by_id[account["lb"]]["status"] == "tagged"
    async with approver.post(f"{step}/apply", json={}) as r:
        assert r.status == 409  # applied once: a second click changes nothing
    async with viewer.get(plans) as r:
        listed = (await r.json())["plans"]
    assert [p["id"] for p in listed] == [plan["id"]] and listed[0]["applications"][0]["id"] == app["id"]


@pytest.mark.browser
async def test_a_person_approves_and_applies_a_plan_in_the_browser(server: dict[str, Any]) -> None:
    """The pages in Debian's Chromium: the scan's figures, the form, each step's button, the
    diagram laid out in WebAssembly, and no script or style the CSP refuses."""
    import os

    chromium = "/usr/bin/chromium"
    if not os.access(chromium, os.X_OK):
        pytest.skip(f"no Chromium at {chromium}: run scripts/setup-browser (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.async_api")
    approver: ClientSession = server["as"]("slack:T1:UAPPROVER")
    base = str(approver._base_url).rstrip("/")
    cookie = approver.cookie_jar.filter_cookies(approver._base_url)[SESSION_COOKIE].value  # type: ignore[arg-type]
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"])
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": base}])
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await page.goto(f"{base}/p/{PROJECT}")
            await page.wait_for_selector('body[data-ready="1"]', timeout=30_000)
            assert await page.text_content("#scan-status") == "done"
            assert await page.text_content('#counts li[data-kind="load_balancer"] .n') == "2"
            assert await page.locator("#plan-vpcs option").count() >= 3
            await page.fill("#plan-select", "acme-logs")
            await page.click("#plan-submit")
            plan = page.locator("article.plan").first
            await plan.locator('button[data-action="dry-run"]').click()
            await page.wait_for_selector('article.plan[data-status="dry_run"] button[data-action="approve"]')
            assert "would tag" in await page.locator("article.plan").first.inner_text()
            await page.locator('article.plan').first.locator('button[data-action="approve"]').click()
            await page.wait_for_selector('article.plan[data-status="approved"] button[data-action="apply"]')
            await page.locator('article.plan').first.locator('button[data-action="apply"]').click()
            await page.wait_for_selector('article.plan[data-status="applied"]', timeout=30_000)
            text = await page.locator("article.plan").first.inner_text()
            assert "approved by slack:T1:UAPPROVER via web" in text and "WebTeam=web-42" in text
            assert "tagged (tag:TagResources)" in text or "tagged (s3:PutBucketTagging)" in text
            await page.goto(f"{base}{server['scan'] and f'/p/{PROJECT}/scans/' + server['scan'].id + '/diagram'}")
            await page.wait_for_selector('body[data-diagram="ready"]', timeout=60_000)
            assert int(await page.evaluate("document.body.dataset.nodes")) >= 30
            await page.click('g.node[id="node:acme-prod-pg"]')
            assert await page.get_attribute("#details", "data-node") == "acme-prod-pg"
            assert not errors, errors
        finally:
            await browser.close()
