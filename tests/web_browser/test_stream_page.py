"""The live stream page in Chromium: events render as they arrive, and a connection the server
drops resumes (EventSource sends Last-Event-ID) with no gap and no duplicate."""

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
    ids.append(await log.append(Event(type="done", conversation_id=conversation,
                                      request_id="r1", text="Finished.")))
    await page.wait_for_selector(".result .summary")

    shown = await rows(page)
    assert [i for i, _ in shown] == ids  # every event once, in order
    assert [text for _, text in shown][:8] == [f"step {n}" for n in range(8)]
    stats = await page.locator("body").get_attribute("data-stream")
    received, duplicates, opens = (int(n) for n in stats.split(","))
    assert duplicates == 0 and opens >= 2 and received == len(ids), stats
    assert await page.locator("#access").inner_text() == "Read-only link"
    await page.screenshot(path=str(artifacts / "stream-resumed.png"), full_page=True)
