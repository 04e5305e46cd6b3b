"""The SSE hub under load: many streams on a small Redis pool, heartbeats, subscription gaps,
the batched registry."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestServer

from core.bus import EventLog, Submitter
from core.capability import Signer
from core.events import Event
from core.redis_client import make_redis
from web.app import CTX, WebContext, create_app
from web.hub import Hub
from web.sse import parse_sse

try:  # the web access model, where this tree has it: a stream then needs a principal
    from web.auth import LOCAL_PRINCIPAL, Access, AccessStore
except ImportError:  # pragma: no cover - before the access model
    Access = None  # type: ignore[assignment,misc]

TOKEN = "sse-hub-test-cli-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def ev(conversation: str, n: int, text: str = "") -> Event:
    return Event(type="status", conversation_id=conversation, request_id="r1",
                 text=text or f"step {n}")


@pytest.fixture
async def small_server(redis_url, keys) -> AsyncIterator[Callable[..., object]]:
    """A web instance whose Redis client may open only ``pool`` connections."""
    made: list[tuple[TestServer, object]] = []

    async def make(instance_id: str, pool: int = 4, **hub: object) -> TestServer:
        client = make_redis(redis_url, max_connections=pool)
        events = EventLog(client, keys, client_ttl_s=30)
        extra = {}
        if Access is not None:  # the web process' one client serves the access checks too
            extra["access"] = Access(AccessStore(client, keys.prefix), Signer([b"k" * 32]),
                                     cli_token=TOKEN)
        ctx = WebContext(Submitter(client, keys), events, Hub(events, instance_id, **hub),
                         instance_id, **extra)
        server = TestServer(create_app(ctx))
        await server.start_server()
        made.append((server, client))
        return server

    yield make
    for server, client in made:
        await server.close()
        await client.aclose()


@pytest.fixture
def owned(redis, keys) -> Callable[..., object]:
    """Make the token's principal the owner of conversations (where access is checked)."""

    async def claim(*conversation_ids: str) -> None:
        if Access is not None:
            store = AccessStore(redis, keys.prefix)
            for conversation_id in conversation_ids:
                await store.claim(conversation_id, LOCAL_PRINCIPAL)

    return claim


class RawSSE:
    """An EventSource on a bare socket (cheap enough to open hundreds; can stop reading)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buffer = b""
        self.events: list[tuple[str, dict]] = []

    @classmethod
    async def open(cls, server: TestServer, path: str, last_event_id: str | None = None,
                   rcvbuf: int | None = None) -> RawSSE:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (server.host, server.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2**20)
        extra = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id else ""
        extra += "".join(f"{name}: {value}\r\n" for name, value in AUTH.items())
        writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        client = cls(reader, writer)
        client.status = int(head.split(b" ", 2)[1])
        return client

    async def read_until(self, n: int, timeout: float = 10.0) -> list[tuple[str, dict]]:
        """Read until ``n`` events arrived in all (or the server closed the connection)."""
        async with asyncio.timeout(timeout):
            while len(self.events) < n:
                try:
                    chunk = await self.reader.read(65536)
                except ConnectionError:
                    chunk = b""
                if not chunk:
                    break
                self.feed(chunk)
        return self.events

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while b"\n\n" in self.buffer:
            block, self.buffer = self.buffer.split(b"\n\n", 1)
            # chunked transfer encoding frames the body: keep only the SSE lines
            lines = [line for line in block.decode().split("\r\n")
                     if line and not all(c in "0123456789abcdef" for c in line)]
            entry_id, kind, data = parse_sse("\n".join(lines))
            if kind:
                self.events.append((entry_id, data))

    def close(self) -> None:
        self.writer.close()


async def test_hundreds_of_streams_on_distinct_conversations_share_a_pool_of_four(
    redis, keys, small_server, owned
):
    server = await small_server("web-a", pool=4)
    n = 300
    await owned(*(f"many-{i}" for i in range(n)))
    clients = await asyncio.gather(*(
        RawSSE.open(server, f"/api/conversations/many-{i}/events?client_id=k{i}")
        for i in range(n)
    ))
    try:
        assert [c.status for c in clients] == [200] * n
        hub = server.app[CTX].hub
        async with asyncio.timeout(10):  # every client is registered (batched), so routed here
            while len([k async for k in redis.scan_iter(match=keys.client("k*"), count=1000)]) < n:
                await asyncio.sleep(0.05)
        assert len(hub.followers) == n
        log = EventLog(redis, keys)
        for i in range(n):
            await log.append(ev(f"many-{i}", 0))
        got = await asyncio.gather(*(c.read_until(1) for c in clients))
        assert all([d["conversation_id"] for _, d in g] == [f"many-{i}"] for i, g in enumerate(got))
    finally:
        for c in clients:
            c.close()
    async with asyncio.timeout(5):  # closed connections are noticed and unregistered
        while server.app[CTX].hub.followers or [
            k async for k in redis.scan_iter(match=keys.client("k*"), count=1000)
        ]:
            await asyncio.sleep(0.05)


async def test_idle_streams_get_heartbeats(small_server, owned):
    await owned("idle")
    server = await small_server("web-a", keepalive_s=0.2, check_s=0.05)
    client = await RawSSE.open(server, "/api/conversations/idle/events")
    try:
        async with asyncio.timeout(3):
            seen = b""
            while seen.count(b": keepalive") < 2:
                seen += await client.reader.read(1024)
    finally:
        client.close()


async def test_events_published_during_a_subscription_gap_are_replayed(
    redis, keys, small_server, owned
):
    await owned("gap")
    server = await small_server("web-a", pool=4)
    hub = server.app[CTX].hub
    log = EventLog(redis, keys)
    client = await RawSSE.open(server, "/api/conversations/gap/events?client_id=g1")
    try:
        while await redis.get(keys.client("g1")) != "web-a":
            await asyncio.sleep(0.01)
        await log.append(ev("gap", 0))
        await client.read_until(1)
        await redis.client_kill_filter(_type="pubsub")  # the instance's subscription drops
        for n in range(1, 6):
            await log.append(ev("gap", n))  # some of these are published to nobody
        await client.read_until(6)
        assert [d["text"] for _, d in client.events] == [f"step {n}" for n in range(6)]
        assert len({i for i, _ in client.events}) == 6
        assert hub.connected.is_set()
    finally:
        client.close()


async def test_registry_refresh_is_one_batch_for_all_clients(redis, keys, small_server, owned):
    await owned(*(f"r-{i}" for i in range(50)))
    server = await small_server("web-a", pool=2)
    hub = server.app[CTX].hub
    clients = await asyncio.gather(*(
        RawSSE.open(server, f"/api/conversations/r-{i}/events?client_id=r{i}") for i in range(50)
    ))
    try:
        async with asyncio.timeout(5):
            while len([k async for k in redis.scan_iter(match=keys.client("r*"))]) < 50:
                await asyncio.sleep(0.02)
        for i in range(50):
            await redis.expire(keys.client(f"r{i}"), 2)
        await hub.refresh_registry()
        ttls = [await redis.ttl(keys.client(f"r{i}")) for i in range(50)]
        assert min(ttls) > 20
    finally:
        for c in clients:
            c.close()


async def test_registration_survives_a_script_flush(redis, keys, small_server, owned):
    server = await small_server("web-a", pool=2)
    await owned("flush")
    await redis.script_flush()  # as after a Redis restart: the registry script is unknown
    client = await RawSSE.open(server, "/api/conversations/flush/events?client_id=f1")
    try:
        async with asyncio.timeout(5):
            while await redis.get(keys.client("f1")) != "web-a":
                await asyncio.sleep(0.02)
        await EventLog(redis, keys).append(ev("flush", 0))
        assert [d["text"] for _, d in await client.read_until(1)] == ["step 0"]
    finally:
        client.close()
