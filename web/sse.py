"""Server-sent events over aiohttp: one connection's stream, fed by the hub."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

from aiohttp import hdrs, web
from multidict import istr

from core.errors import Forbidden
from core.logging import get_logger
from core.redis_client import RETRYABLE
from web.hub import Hub, Stream
from web.wire import KEEPALIVE, format_event, goodbye, parse_sse, retry, stream_id_key

__all__ = ["format_event", "parse_sse", "serve", "stream_id_key"]

log = get_logger("archops.web.sse")



class Recheck(Protocol):
    """Asks again whether the request's credential still grants reading the conversation (it
    may have expired or been closed since the stream opened); raises Forbidden if not."""

    async def recheck(self, request: web.Request, conversation_id: str) -> None: ...

REFUSED = frozenset({"expired", "forbidden"})  # goodbyes after which nothing more is sent


STREAM_HEADERS = {  # istr names: no lower-cased copy kept per open stream
    hdrs.CONTENT_TYPE: "text/event-stream",
    hdrs.CACHE_CONTROL: "no-cache",
    istr("X-Accel-Buffering"): "no",
}


async def open_stream(request: web.Request, retry_ms: int) -> web.StreamResponse:
    response = web.StreamResponse(headers=STREAM_HEADERS)
    await response.prepare(request)
    await response.write(retry(retry_ms))
    return response


class _Cut(Exception):
    """The stream was cut (slow or gone); the handler ends the response."""


async def serve(
    request: web.Request, hub: Hub, conversation_id: str, client_id: str, after: str | None,
    *, expires_at: float | None = None, access: Recheck | None = None,
) -> web.StreamResponse:
    """Replay what the client missed (after ``after``), then live events, deduplicated.

    The connection never waits on Redis alone: registration and replay reads go through the
    hub's shared pipeline; live events come from the hub's one subscription, queued per stream.
    ``expires_at`` (unix time) ends the stream when the credential stops granting it; before
    every replay after the first (the hub resyncs after a gap) ``access`` is asked again.
    """
    if hub.draining:
        return _unavailable("this instance is shutting down; reconnect")
    stream = hub.follow(conversation_id, client_id, after, request.transport, expires_at)
    response: web.StreamResponse | None = None
    try:
        await hub.register(stream)  # routed live from here on; the replay covers what came before
        response = await open_stream(request, hub.retry_ms)
        # the connection ends with the stream (an EventSource reconnects on a new one): this
        # also drops aiohttp's idle-connection timer, which an open stream never needs
        request.protocol.keep_alive(False)
        stream.written = time.monotonic()
        await _replay(hub, stream, response)
        while True:
            waiter = stream.idle()
            if waiter is not None:
                try:
                    await waiter
                finally:
                    stream.waiter = None
            if stream.cut:
                break
            if stream.resync:
                stream.resync = False
                if access is not None and not await _still_allowed(access, request, stream):
                    stream.take()
                    await _write(hub, stream, response, goodbye("forbidden", hub.retry_ms))
                    break
                await _replay(hub, stream, response)
            data = stream.take()
            if stream.farewell in REFUSED:
                data = b""  # nothing more for a reader who may no longer read
            if not data and stream.heartbeat:
                data = KEEPALIVE
            stream.heartbeat = False
            if data:
                await _write(hub, stream, response, data)
            if stream.farewell:
                await _write(hub, stream, response, goodbye(stream.farewell,
                                                              hub.goodbye_retry_ms()))
                break
        return response
    except _Cut:
        return response  # type: ignore[return-value]
    except ConnectionResetError:
        raise  # the client left before the stream opened: nothing to answer
    except RETRYABLE as exc:
        log.warning("event stream ended: redis unavailable", error=str(exc))
        if response is None:
            return _unavailable("redis is not reachable")
        return response  # the client reconnects with Last-Event-ID and misses nothing
    finally:
        with contextlib.suppress(*RETRYABLE, asyncio.CancelledError):
            await hub.unfollow(stream)


async def _still_allowed(access: Recheck, request: web.Request, stream: Stream) -> bool:
    try:
        await access.recheck(request, stream.conversation_id)
    except Forbidden as exc:
        log.info("SSE stream ended: no longer allowed", client_id=stream.client_id,
                 reason=exc.message)
        stream.end("forbidden")
        return False
    return True


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


def _unavailable(message: str) -> web.Response:
    body = {"error": {"code": "unavailable", "message": message}}
    return web.json_response(body, status=503, headers={"Retry-After": "2"})
