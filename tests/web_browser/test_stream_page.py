"""The live stream page in Chromium: events render as they arrive; a connection the server
drops resumes (EventSource sends Last-Event-ID) with no gap and no duplicate, and so does one a
restarting server ends with a goodbye; a pull request another part of archops opens shows as
a link."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from core.bus import EventLog
from core.events import Event
from tests.web_browser.conftest import until_count
from web.app import CTX

pytestmark = pytest.mark.browser


def status(conversation: str, n: int) -> Event:
    return Event(type="status", conversation_id=conversation, request_id="r1", text=f"step {n}")


async def rows(page) -> list[tuple[str, str]]:
    out = []
    for row in await page.locator("#events li").all():
        out.append((await row.get_attribute("data-event-id"),
                    await row.locator(".text").inner_text()))
    return out


async def test_stream_page_follows_a_slack_link_and_resumes_after_a_dropped_connection(
    redis, keys, make_server, signer, own, page, artifacts
):
    server = await make_server("web-a")
    conversation = "c-live"
    await own(conversation)
    log = EventLog(redis, keys)
    ids = [await log.append(status(conversation, n)) for n in range(3)]

    # the link the Slack edge posts: read-only, this conversation only
    cap = signer.issue("conversation", conversation, actions={"read"}, ttl_s=600)
    await page.goto(str(server.make_url(f"/?conversation={conversation}&cap={quote(cap)}")))
    assert f"/c/{conversation}?cap=" in page.url
    assert await until_count(page, "#events li", 3) == 3
    await page.wait_for_selector("#connection[data-state=open]")
    # the page's own links carry the link on: its diagram opens for the same reader
    diagram = await page.locator("#diagram-link").get_attribute("href")
    assert diagram == f"/c/{conversation}/diagram?cap={quote(cap)}"

    # live: an event appended now is pushed to the open page
    ids.append(await log.append(status(conversation, 3)))
    assert await until_count(page, "#events li", 4) == 4

    # the server drops every stream; work goes on while the browser is away
    hub = server.app[CTX].hub
    streams = hub.streams()
    assert streams
    for stream in streams:
        stream.close("dropped by the test")
    for n in range(4, 8):
        ids.append(await log.append(status(conversation, n)))
    assert await until_count(page, "#events li", 8) == 8

    # the server restarts: it says goodbye (retry, then "reconnect"), work goes on while it is
    # down, and the page picks up where it was from the new process on the same address
    port = server.port
    await server.close()
    await page.wait_for_selector("body[data-goodbyes='1']")
    for n in range(8, 12):
        ids.append(await log.append(status(conversation, n)))
    await make_server("web-a2", port=port)
    assert await until_count(page, "#events li", 12, timeout_s=20) == 12
    await page.wait_for_selector("#connection[data-state=open]")

    # another part of archops opened the pull request: the page links it (web links only)
    ids.append(await log.append(Event(
        type="artifact", conversation_id=conversation, request_id="r1", text="not a web link",
        data={"kind": "pull_request", "url": "javascript:alert(1)"})))
    ids.append(await log.append(Event(
        type="artifact", conversation_id=conversation, request_id="r1", text="Pull request #7",
        data={"kind": "pull_request", "url": PR_URL, "number": 7, "title": "archops: web app"})))
    link = page.locator(".pull-request a.pr-link")
    await link.wait_for()
    assert await link.count() == 1 and await link.get_attribute("href") == PR_URL
    assert "#7" in await link.inner_text()
    ids.append(await log.append(Event(type="done", conversation_id=conversation,
                                      request_id="r1", text="Finished.")))
    await page.wait_for_selector(".result .summary")

    shown = await rows(page)
    assert [i for i, _ in shown] == ids  # every event once, in order
    assert [text for _, text in shown][:12] == [f"step {n}" for n in range(12)]
    stats = await page.locator("body").get_attribute("data-stream")
    received, duplicates, opens = (int(n) for n in stats.split(","))
    assert duplicates == 0 and opens >= 3 and received == len(ids), stats
    assert await page.locator("#access").inner_text() == "Read-only link"
    await page.screenshot(path=str(artifacts / "stream-resumed.png"), full_page=True)


PR_URL = "https://github.example/acme/infra/pull/7"



async def test_the_chat_page_links_the_pull_request_of_its_conversation(
    redis, keys, make_server, access_store, own, page, artifacts
):
    server = await make_server("web-a")
    await own("c-chat")
    log = EventLog(redis, keys)
    await log.append(status("c-chat", 0))
    # the owner's browser: the one-time sign-in link opens a session, then the chat
    token = await access_store.issue_login("local")
    await page.goto(str(server.make_url(f"/login?token={token}")))
    await page.goto(str(server.make_url("/?conversation=c-chat")))
    assert await until_count(page, "#timeline .event", 1) == 1
    await log.append(Event(type="artifact", conversation_id="c-chat", request_id="r1",
                           text="Pull request #7",
                           data={"kind": "pull_request", "url": PR_URL, "number": 7}))
    link = page.locator("#timeline .pull-request a.pr-link")
    await link.wait_for()
    assert await link.get_attribute("href") == PR_URL
    await page.screenshot(path=str(artifacts / "chat-pull-request.png"), full_page=True)
