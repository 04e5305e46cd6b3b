"""Server-sent events over aiohttp: the wire format and the per-connection stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING

from aiohttp import web

from core.events import Event
from core.logging import get_logger
from core.redis_client import RETRYABLE

if TYPE_CHECKING:
    from web.hub import Hub, Stream

log = get_logger("archops.web.sse")


def stream_id_key(entry_id: str) -> tuple[int, int]:
    """Order of Redis stream ids ("1700000000000-3")."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def format_event(event: Event) -> bytes:
    payload = event.model_dump_json()
    lines = [f"id: {event.id}", f"event: {event.type}"]
    lines += [f"data: {line}" for line in payload.splitlines() or [""]]
    return ("\n".join(lines) + "\n\n").encode()


def parse_sse(block: str) -> tuple[str | None, str | None, dict[str, object] | None]:
    """Parse one SSE block into (id, event, data): what a client does."""
    entry_id = kind = None
    data_lines: list[str] = []
    for line in block.splitlines():
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            entry_id = value
        elif name == "event":
            kind = value
        elif name == "data":
            data_lines.append(value)
    data = json.loads("\n".join(data_lines)) if data_lines else None
    return entry_id, kind, data


async def open_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    await response.write(b"retry: 1000\n\n")
    return response


KEEPALIVE = b": keepalive\n\n"
class _Cut(Exception):
    """The stream was cut (slow or gone); the handler ends the response."""


async def serve(
    request: web.Request, hub: Hub, conversation_id: str, client_id: str, after: str | None
) -> web.StreamResponse:
    """Replay what the client missed (after ``after``), then live events, deduplicated.

    The connection never waits on Redis alone: registration and replay reads go through the
    hub's shared pipeline; live events come from the hub's one subscription, queued per stream.
    """
    stream = hub.follow(conversation_id, client_id, after, request.transport)
    response: web.StreamResponse | None = None
    try:
        await hub.register(stream)  # routed live from here on; the replay covers what came before
        response = await open_stream(request)
        # the connection ends with the stream (an EventSource reconnects on a new one): this
        # also drops aiohttp's idle-connection timer, which an open stream never needs
        request.protocol.keep_alive(False)
        stream.written = time.monotonic()
        await _replay(hub, stream, response)
        while True:
            await stream.wait()
            if stream.cut:
                break
            if stream.resync:
                stream.resync = False
                await _replay(hub, stream, response)
            data = stream.take()
            if not data and stream.heartbeat:
                data = KEEPALIVE
            stream.heartbeat = False
            if data:
                await _write(hub, stream, response, data)
        return response
    except _Cut:
        return response  # type: ignore[return-value]
    except ConnectionResetError:
        raise  # the client left before the stream opened: nothing to answer
    except RETRYABLE as exc:
        log.warning("event stream ended: redis unavailable", error=str(exc))
        if response is None:
            return _unavailable()
        return response  # the client reconnects with Last-Event-ID and misses nothing
    finally:
        with contextlib.suppress(*RETRYABLE, asyncio.CancelledError):
            await hub.unfollow(stream)


async def _replay(hub: Hub, stream: Stream, response: web.StreamResponse) -> None:
    while True:
        events = await hub.read(stream)
        if events:
            await _write(hub, stream, response, stream.sent(events))
        if len(events) < hub.page or stream.cut:
            return


async def _write(hub: Hub, stream: Stream, response: web.StreamResponse, data: bytes) -> None:
    try:
        async with asyncio.timeout(hub.write_timeout_s):
            await response.write(data)
    except TimeoutError:
        hub.cuts += 1
        log.info("slow SSE client cut", client_id=stream.client_id, reason="write timed out")
        stream.close("write timed out")
        raise _Cut() from None
    except ConnectionError:
        stream.close("client went away")
        raise _Cut() from None
    stream.written = time.monotonic()


def _unavailable() -> web.Response:
    body = {"error": {"code": "unavailable", "message": "redis is not reachable"}}
    return web.json_response(body, status=503, headers={"Retry-After": "2"})
