"""The SSE stream: replay with Last-Event-ID, live delivery routed to the right instance."""

from __future__ import annotations

import asyncio

from aiohttp import ClientSession

from core.bus import EventLog
from core.events import Event
from tests.web.sse_client import read_sse
from web.app import CTX


def ev(conversation: str, n: int) -> Event:
    return Event(type="status", conversation_id=conversation, request_id="r1", text=f"step {n}")


async def test_reconnect_with_last_event_id_misses_nothing(redis, keys, make_server, cli_headers,
                                                           own):
    server = await make_server("web-a")
    await own("c1")
    log = EventLog(redis, keys)
    ids = [await log.append(ev("c1", n)) for n in range(3)]
    url = str(server.make_url("/api/conversations/c1/events?client_id=cli1"))
    async with ClientSession(headers=cli_headers) as session:
        first = await read_sse(session, url, 2)
        assert [d["text"] for _, _, d in first] == ["step 0", "step 1"]
        # disconnected now; work goes on
        for n in range(3, 6):
            await log.append(ev("c1", n))
        again = await read_sse(session, url, 4, headers={"Last-Event-ID": first[-1][0]})
    assert [d["text"] for _, _, d in again] == ["step 2", "step 3", "step 4", "step 5"]
    assert again[0][0] == ids[2]


async def test_live_events_reach_the_instance_holding_the_client_without_duplicates(
    redis, keys, make_server, cli_headers, own
):
    a, b = await make_server("web-a"), await make_server("web-b")
    await own("c2")
    log = EventLog(redis, keys)
    await log.append(ev("c2", 0))
    url = str(b.make_url("/api/conversations/c2/events?client_id=browser-7"))
    async with ClientSession(headers=cli_headers) as session:
        reader = asyncio.create_task(read_sse(session, url, 4))
        while await redis.get(keys.client("browser-7")) != "web-b":
            await asyncio.sleep(0.01)
        for n in range(1, 4):
            await log.append(ev("c2", n))
        got = await reader
    assert [d["text"] for _, _, d in got] == ["step 0", "step 1", "step 2", "step 3"]
    assert len({i for i, _, _ in got}) == 4
    # the registry routed to web-b only: web-a has nobody following c2
    assert "c2" not in a.app[CTX].hub.followers
    async with asyncio.timeout(3):  # the server notices the closed connection and unfollows
        while "c2" in b.app[CTX].hub.followers or await redis.get(keys.client("browser-7")):
            await asyncio.sleep(0.05)


async def test_bad_last_event_id_is_refused(make_server, cli_headers, own):
    server = await make_server("web-a")
    await own("c1")
    async with ClientSession(headers=cli_headers) as session:
        url = str(server.make_url("/api/conversations/c1/events"))
        async with session.get(url, headers={"Last-Event-ID": "yesterday"}) as response:
            assert response.status == 400
            assert "Last-Event-ID" in (await response.json())["error"]["message"]
