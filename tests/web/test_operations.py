"""Operating the web app: health and readiness, access logs without credentials, a graceful
shutdown that sends SSE clients elsewhere, and two instances behind one address."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from urllib.parse import quote

import pytest
from aiohttp import ClientConnectionError, ClientSession
from aiohttp.test_utils import TestServer
from structlog.testing import capture_logs

from core.bus import EventLog, Keys, Submitter
from core.capability import Signer
from core.events import Event
from core.redis_client import make_redis
from core.redis_server import EmbeddedRedis
from core.settings import Settings
from tests.web.conftest import CLI_TOKEN
from web import service
from web.access_log import AccessLogger, redact_query
from web.app import CTX, WebContext, begin_shutdown, create_app
from web.auth import LOCAL_PRINCIPAL, Access, AccessStore, read_cli_token
from web.hub import Hub
from web.wire import parse_sse


def status(conversation: str, n: int) -> Event:
    return Event(type="status", conversation_id=conversation, request_id="r1", text=f"step {n}")


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    async with asyncio.timeout(5), ClientSession() as session, session.get(
            url, headers=headers or {}) as response:
        return response.status, await response.json()


class Stream:
    """An EventSource over aiohttp that keeps every block: events, retries and comments."""

    def __init__(self) -> None:
        self.events: list[tuple[str | None, str | None, dict | None]] = []
        self.retries: list[int] = []
        self.ended = asyncio.Event()

    async def follow(self, session: ClientSession, url: str, last_id: str | None = None) -> int:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        async with session.get(url, headers=headers) as response:
            if response.status != 200:
                self.ended.set()
                return response.status
            buffer = ""
            async for chunk in response.content.iter_any():
                buffer += chunk.decode()
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    if block.startswith("retry: "):
                        self.retries.append(int(block.removeprefix("retry: ")))
                    elif not block.startswith(":"):
                        self.events.append(parse_sse(block))
        self.ended.set()
        return 200

    def texts(self) -> list[str]:
        return [d["text"] for _, kind, d in self.events if kind == "status" and d]

    def last_id(self) -> str | None:
        return next((i for i, _, _ in reversed(self.events) if i), None)

    async def until(self, n: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len([e for e in self.events if e[0]]) < n:
                await asyncio.sleep(0.01)


async def test_health_is_public_and_readiness_says_ready_until_the_instance_stops(
        make_server, cli_headers):
    server = await make_server("web-a")
    code, body = await get(str(server.make_url("/readyz")))
    assert code == 200 and body == {"status": "ready", "instance": "web-a"}
    begin_shutdown(server.app)
    code, body = await get(str(server.make_url("/readyz")))
    assert code == 503 and body["error"]["code"] == "stopping"
    assert (await get(str(server.make_url("/healthz"))))[0] == 200  # alive all the same


async def test_readiness_fails_within_a_second_or_two_when_redis_goes_away(tmp_path, keys):
    own_redis = EmbeddedRedis(tmp_path / "redis").start()
    client = make_redis(own_redis.url, retries=5)  # the retries a web process has
    events = EventLog(client, keys)
    access = Access(AccessStore(client, keys.prefix), Signer([b"k" * 32]), cli_token=CLI_TOKEN)
    ctx = WebContext(Submitter(client, keys), events, Hub(events, "web-r"), "web-r",
                     access=access, redis_url=own_redis.url)
    server = TestServer(create_app(ctx))
    await server.start_server()
    try:
        assert (await get(str(server.make_url("/readyz"))))[0] == 200
        own_redis.kill()
        loop = asyncio.get_running_loop()
        started = loop.time()
        code, body = await get(str(server.make_url("/readyz")))
        assert code == 503 and "redis is not reachable" in body["error"]["message"]
        assert loop.time() - started < 2.5
    finally:
        # closing against a dead Redis may complain; this test is about readiness
        with contextlib.suppress(Exception):
            await server.close()
        await client.aclose()
        own_redis.stop()


def test_credentials_in_query_strings_are_redacted():
    assert redact_query("/c/c1", "cap=abc.def&version=2") == "/c/c1?cap=REDACTED&version=2"
    assert redact_query("/login", "token=s3cret") == "/login?token=REDACTED"
    assert redact_query("/auth/slack/callback", "code=x&state=y") == \
        "/auth/slack/callback?code=REDACTED&state=REDACTED"
    assert redact_query("/readyz", "") == "/readyz"


async def test_access_logs_name_the_request_and_who_asked_but_never_a_credential(
        redis, keys, signer, own, access_store):
    events = EventLog(redis, keys)
    access = Access(AccessStore(redis, keys.prefix), signer, cli_token=CLI_TOKEN)
    ctx = WebContext(Submitter(redis, keys), events, Hub(events, "web-l"), "web-l", access=access)
    server = TestServer(create_app(ctx))
    await server.start_server(access_log_class=AccessLogger,
                              access_log=logging.getLogger("archops.web.access"))
    await own("c-logged")
    cap = signer.issue("conversation", "c-logged", actions={"read"}, ttl_s=600)
    login = await access_store.issue_login(LOCAL_PRINCIPAL)
    try:
        with capture_logs() as logs:
            async with ClientSession() as session:
                for path, headers in [
                    (f"/api/conversations/c-logged/history?cap={quote(cap)}", {}),
                    ("/api/conversations/c-logged/history",
                     {"Authorization": f"Bearer {CLI_TOKEN}"}),
                    (f"/login?token={login}", {}),
                    ("/readyz", {}),
                ]:
                    async with session.get(str(server.make_url(path)), headers=headers,
                                           allow_redirects=False) as response:
                        await response.read()
            await asyncio.sleep(0.05)
    finally:
        await server.close()
    lines = [line for line in logs if line["event"] == "http request"]
    assert [(line["method"], line["status"]) for line in lines] == [
        ("GET", 200), ("GET", 200), ("GET", 303), ("GET", 200)]
    assert lines[0]["path"] == "/api/conversations/c-logged/history?cap=REDACTED"
    assert (lines[0]["principal"], lines[0]["via"]) == ("capability", "capability")
    assert (lines[1]["principal"], lines[1]["via"]) == ("local", "token")
    assert lines[2]["path"] == "/login?token=REDACTED"
    assert all(isinstance(line["duration_ms"], float) and line["remote"] for line in lines)
    text = json.dumps(logs)
    for secret in (cap, cap.split(".")[1], login, CLI_TOKEN):
        assert secret not in text


async def test_a_stopping_instance_fails_readiness_then_sends_its_streams_elsewhere(
        redis, redis_url, keys, prefix, tmp_path, make_server, monkeypatch):
    """`archops web` as deployed (run_web): stop -> readiness 503 while still serving for the
    drain delay -> no new connections, every SSE client gets `retry:` and a final `reconnect`
    event -> the client resumes on the other instance with Last-Event-ID: no gap, no twice."""
    monkeypatch.setattr(service, "tune_gc", lambda: None)  # the test process keeps its GC
    settings = Settings(data_dir=tmp_path / "data", redis_prefix=prefix, web_port=0,
                        web_drain_delay_s=0.6, web_drain_timeout_s=3, sse_heartbeat_s=5,
                        instance_id="a", client_ttl_s=30)
    # both instances serve one installation: the same CLI token
    settings.data_dir.mkdir(mode=0o700)
    (settings.data_dir / "cli.token").write_text(CLI_TOKEN + "\n")
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    web_a = asyncio.create_task(service.run_web(settings, redis_url, stop, ready))
    url_a = await asyncio.wait_for(ready, 10)
    auth = {"Authorization": f"Bearer {read_cli_token(settings.data_dir)}"}
    assert auth["Authorization"] == f"Bearer {CLI_TOKEN}"
    b = await make_server("web-b")
    await AccessStore(redis, prefix).claim("c-move", LOCAL_PRINCIPAL)
    log = EventLog(redis, Keys(prefix, partitions=4))
    for n in range(3):
        await log.append(status("c-move", n))
    path = "/api/conversations/c-move/events?client_id=browser-1"
    first = Stream()
    async with ClientSession(headers=auth) as session:
        reader = asyncio.create_task(first.follow(session, url_a + path))
        await first.until(3)
        assert (await get(url_a + "/readyz"))[0] == 200
        stop.set()
        await asyncio.sleep(0.2)
        code, body = await get(url_a + "/readyz")  # still serving, but not ready
        assert code == 503 and body["error"]["code"] == "stopping"
        await log.append(status("c-move", 3))  # the stream is still live
        await first.until(4)
        producing = asyncio.create_task(produce(log, "c-move", range(4, 40)))
        await asyncio.wait_for(first.ended.wait(), 5)
        await reader
        *_, (goodbye_id, kind, data) = first.events
        assert kind == "reconnect" and goodbye_id is None and data["reason"] == "shutdown"
        assert 1000 <= first.retries[-1] <= 3000 and first.retries[-1] == data["retry_ms"]
        with pytest.raises(ClientConnectionError):  # it no longer accepts
            await get(url_a + "/healthz")
        # the browser reconnects (behind one address, to the instance that is left)
        second = Stream()
        follower = asyncio.create_task(second.follow(session, str(b.make_url(path)),
                                                     first.last_id()))
        await producing
        await second.until(40 - len(first.texts()))
        assert first.texts() + second.texts() == [f"step {n}" for n in range(40)]
        assert await redis.get(Keys(prefix).client("browser-1")) == "web-b"
        follower.cancel()
    await web_a


async def produce(log: EventLog, conversation: str, numbers: range,
                  pause_s: float = 0.01) -> None:
    """Append events one after another, as a worker does while it works."""
    for n in numbers:
        await log.append(status(conversation, n))
        await asyncio.sleep(pause_s)


async def test_an_instance_letting_go_of_a_client_leaves_it_routed_to_the_other(
        redis, keys, make_server, cli_headers, own):
    """A client (same client id) moved from A to B before A noticed it left: A's goodbye in
    the registry must not unroute it from B."""
    a, b = await make_server("web-a"), await make_server("web-b")
    await own("c-race")
    log = EventLog(redis, keys)
    path = "/api/conversations/c-race/events?client_id=phone-1"
    on_a, on_b = Stream(), Stream()
    async with ClientSession(headers=cli_headers) as session:
        task_a = asyncio.create_task(on_a.follow(session, str(a.make_url(path))))
        async with asyncio.timeout(5):
            while await redis.get(keys.client("phone-1")) != "web-a":
                await asyncio.sleep(0.01)
        task_b = asyncio.create_task(on_b.follow(session, str(b.make_url(path))))
        async with asyncio.timeout(5):
            while await redis.get(keys.client("phone-1")) != "web-b":
                await asyncio.sleep(0.01)
        task_a.cancel()  # the old connection on A goes away now
        async with asyncio.timeout(5):
            while a.app[CTX].hub.followers:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # A has unregistered what it held
        assert await redis.get(keys.client("phone-1")) == "web-b"
        await log.append(status("c-race", 0))
        await on_b.until(1)
        assert on_b.texts() == ["step 0"]
        task_b.cancel()


async def test_the_web_process_takes_its_heartbeat_and_drain_from_the_settings(
        tmp_path, redis_url, prefix):
    assert Settings(data_dir=tmp_path).sse_heartbeat_s == 15  # most proxies allow 60 s idle
    settings = Settings(data_dir=tmp_path, redis_prefix=prefix, sse_heartbeat_s=0.2,
                        web_drain_timeout_s=1.5)
    app = service.build_app(settings, redis_url)
    ctx = app[CTX]
    assert ctx.hub.keepalive_s == 0.2 and ctx.hub.check_s == 0.05
    assert ctx.drain_timeout_s == 1.5 and ctx.redis_url == redis_url
    await ctx.events.redis.aclose()
