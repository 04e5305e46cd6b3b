"""The event stream as a browser's EventSource sees it, read with the aiohttp client: order,
resume with Last-Event-ID while work goes on, heartbeats, a slow reader cut without holding the
others back (then resuming exactly), and a stream that stops when its credential does."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from urllib.parse import quote

from aiohttp import ClientPayloadError, ClientSession, TCPConnector

from core.bus import EventLog
from tests.web.test_access import sign_in
from tests.web.test_operations import Stream, produce, status
from web.auth import SESSION_COOKIE


async def test_events_arrive_in_order_across_replay_and_live_for_each_conversation(
        redis, keys, make_server, cli_headers, own):
    server = await make_server("web-a")
    log = EventLog(redis, keys)
    conversations = [f"c-order-{i}" for i in range(3)]
    for conversation in conversations:
        await own(conversation)
        for n in range(20):  # before anyone listens: replayed
            await log.append(status(conversation, n))
    streams = {c: Stream() for c in conversations}
    async with ClientSession(headers=cli_headers) as session:
        tasks = [asyncio.create_task(streams[c].follow(
            session, str(server.make_url(f"/api/conversations/{c}/events")))) for c in conversations]
        # live: the three conversations interleaved, appended concurrently
        await asyncio.gather(*(produce(log, c, range(20, 120)) for c in conversations))
        for conversation in conversations:
            await streams[conversation].until(120)
        for task in tasks:
            task.cancel()
    for conversation, stream in streams.items():
        assert stream.texts() == [f"step {n}" for n in range(120)]
        ids = [i for i, _, _ in stream.events]
        assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
        assert {d["conversation_id"] for _, _, d in stream.events} == {conversation}


async def test_a_client_that_keeps_reconnecting_while_work_goes_on_misses_nothing(
        redis, keys, make_server, cli_headers, own):
    server = await make_server("web-a")
    await own("c-flaky")
    log = EventLog(redis, keys)
    url = str(server.make_url("/api/conversations/c-flaky/events"))
    producing = asyncio.create_task(produce(log, "c-flaky", range(100), pause_s=0.002))
    got: list[str] = []
    ids: list[str] = []
    last = None
    opened = 0
    async with ClientSession(headers=cli_headers) as session:
        while len(got) < 100:
            stream = Stream()
            opened += 1
            task = asyncio.create_task(stream.follow(session, url, last))
            with contextlib.suppress(TimeoutError):
                await stream.until(min(9, 100 - len(got)), timeout=5)  # a few events, then the connection drops
            task.cancel()
            got += stream.texts()
            ids += [i for i, _, _ in stream.events]
            last = stream.last_id() or last
    await producing
    assert got == [f"step {n}" for n in range(100)] and len(set(ids)) == 100
    assert opened >= 5


async def test_an_idle_stream_gets_a_heartbeat_every_interval(redis, keys, make_server,
                                                              cli_headers, own):
    server = await make_server("web-a", keepalive_s=0.25)
    await own("c-idle")
    seen: list[float] = []
    async with ClientSession(headers=cli_headers) as session, session.get(
            str(server.make_url("/api/conversations/c-idle/events"))) as response:
        started = time.monotonic()
        async with asyncio.timeout(5):
            async for chunk in response.content.iter_any():
                seen += [time.monotonic() - started] * chunk.count(b": keepalive\n\n")
                if len(seen) >= 4:
                    break
    gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    # a comment line per interval, none much late (the sweeper looks 4 times per interval)
    assert all(0.2 <= gap <= 0.6 for gap in gaps), gaps


def small_receive_buffer(addr_info) -> socket.socket:  # type: ignore[no-untyped-def]
    family, kind, proto, _, _ = addr_info
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


async def test_a_reader_that_stalls_is_cut_without_holding_back_the_others_and_resumes(
        redis, keys, make_server, cli_headers, own):
    server = await make_server("web-a", max_pending=16, write_timeout_s=0.5)
    await own("c-slow")
    log = EventLog(redis, keys)
    big = "x" * 20_000
    total = 300  # ~6 MB: more than a stalled socket's buffers hold
    await log.append(status("c-slow", 0).model_copy(update={"text": f"0 {big}"}))
    url = str(server.make_url("/api/conversations/c-slow/events"))
    async with ClientSession(headers=cli_headers,
                             connector=TCPConnector(socket_factory=small_receive_buffer)) as slow, \
            ClientSession(headers=cli_headers) as fast:
        async with slow.get(url) as stalled:
            await stalled.content.readuntil(b"\n\n")  # retry:
            first = await stalled.content.readuntil(b"\n\n")  # event 0, then it stops reading
            fast_stream = Stream()
            reader = asyncio.create_task(fast_stream.follow(fast, url))
            started = time.monotonic()
            for n in range(1, total):
                await log.append(status("c-slow", n).model_copy(update={"text": f"{n} {big}"}))
            await fast_stream.until(total, timeout=30)
            fast_took = time.monotonic() - started
            reader.cancel()
            # the stalled reader was cut: what it has in its buffers ends, then EOF
            rest = b""
            with contextlib.suppress(ClientPayloadError):  # cut mid-chunk: the body ends short
                async with asyncio.timeout(10):
                    async for chunk in stalled.content.iter_any():
                        rest += chunk
    assert [int(t.split()[0]) for t in fast_stream.texts()] == list(range(total))
    assert fast_took < 20  # it was never held up for the stalled one's write timeouts
    blocks = [b for b in (first + rest).decode().split("\n\n") if b.startswith("id: ")]
    complete = [b for b in blocks if b.rstrip().endswith("}")]
    assert 0 < len(complete) < total
    last_id = complete[-1].split("\n", 1)[0].removeprefix("id: ")
    resumed = Stream()
    async with ClientSession(headers=cli_headers) as session:
        task = asyncio.create_task(resumed.follow(session, url, last_id))
        await resumed.until(total - len(complete), timeout=20)
        task.cancel()
    numbers = [int(t.split()[0]) for t in resumed.texts()]
    assert numbers == list(range(len(complete), total))  # from the cut on, nothing twice


async def test_a_stream_opened_with_a_link_ends_when_the_link_expires(redis, keys, make_server,
                                                                      signer, own):
    server = await make_server("web-a", check_s=0.05)
    await own("c-link")
    log = EventLog(redis, keys)
    await log.append(status("c-link", 0))
    cap = signer.issue("conversation", "c-link", actions={"read"}, ttl_s=1)
    url = str(server.make_url(f"/api/conversations/c-link/events?cap={quote(cap)}"))
    stream = Stream()
    async with ClientSession() as session:
        task = asyncio.create_task(stream.follow(session, url))
        await stream.until(1)
        await asyncio.wait_for(stream.ended.wait(), 4)
        await task
        assert stream.events[-1][1:] == ("reconnect", {"reason": "expired",
                                                       "retry_ms": stream.retries[-1]})
        # the reconnect the browser makes is refused: the link is no key any more
        assert await Stream().follow(session, url) == 403


async def test_a_stream_resuming_after_a_gap_asks_again_and_ends_for_a_closed_session(
        redis, keys, make_server, access_store, own):
    server = await make_server("web-a")
    cookie = await sign_in(server, access_store, "web:alice")
    await own("c-alice", "web:alice")
    log = EventLog(redis, keys)
    await log.append(status("c-alice", 0))
    stream = Stream()
    async with ClientSession(headers=cookie) as session:
        task = asyncio.create_task(stream.follow(
            session, str(server.make_url("/api/conversations/c-alice/events"))))
        await stream.until(1)
        await access_store.close_session(cookie["Cookie"].split(f"{SESSION_COOKIE}=", 1)[1])
        await redis.client_kill_filter(_type="pubsub")  # a gap: the hub resumes every stream
        await log.append(status("c-alice", 1))
        await asyncio.wait_for(stream.ended.wait(), 5)
        await task
    assert stream.texts() == ["step 0"]  # nothing after the session closed
    assert stream.events[-1][1] == "reconnect" and stream.events[-1][2]["reason"] == "forbidden"


async def test_a_live_event_is_not_sent_twice_when_it_is_also_in_the_replay(
        redis, keys, make_server, cli_headers, own):
    """An event appended while a stream registers is both published to the instance and in
    the replay read: the client sees it once."""
    server = await make_server("web-a")
    await own("c-edge")
    log = EventLog(redis, keys)
    async with ClientSession(headers=cli_headers) as session:
        streams = [Stream() for _ in range(10)]
        tasks = []
        producing = asyncio.create_task(produce(log, "c-edge", range(60)))
        for stream in streams:  # connecting one after another while events are appended
            tasks.append(asyncio.create_task(stream.follow(
                session, str(server.make_url("/api/conversations/c-edge/events")))))
            await asyncio.sleep(0.03)
        await producing
        for stream in streams:
            await stream.until(60)
        for task in tasks:
            task.cancel()
    for stream in streams:
        assert stream.texts() == [f"step {n}" for n in range(60)]
