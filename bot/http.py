"""The doors Slack's requests come through: ``POST /slack/events`` and Socket Mode.

Over HTTP, Slack's signature is checked on the raw body, then the body is parsed once, bounded.

Order matters: the headers are checked first (present, a timestamp of ASCII digits within five
minutes, a ``v0=`` signature), then at most :data:`~bot.payloads.MAX_BODY_BYTES` of body are read
and their HMAC compared, and only a request Slack signed is parsed (:mod:`bot.payloads`). An
unsigned request is a 401 with a short reason, a signed one archops cannot read a 400 (413, 415),
and neither reaches slack-bolt nor the bus.

Mentions and messages are then answered on a direct path (:class:`bot.listeners.Direct`).
Everything else goes to slack-bolt, which gets the already parsed body (``mode="socket_mode"``
is how bolt takes a parsed dict; its own signature check is skipped for it because it was done
here, on the exact bytes that were parsed), so what was verified, what was validated and what
the listeners read are one and the same object. The checked shape rides in the context as
``archops_payload``.

Over Socket Mode the connection itself is authenticated (the app-level token); each payload gets
the same shape check before bolt sees it (:class:`CheckedSocketModeHandler`), and a malformed one
is acknowledged (so that Slack does not resend it) and dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.payloads import MAX_BODY_BYTES, PayloadError, check_payload, parse_body
from core import metrics
from core.logging import get_logger

log = get_logger("archops.bot.http")

MAX_AGE_S = 5 * 60
PAYLOAD_KEY = "archops_payload"
# what slack-bolt's context extraction raises on a shape it does not expect
_BOLT_SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class Unauthorized(Exception):
    """Not a request Slack signed: HTTP 401 with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _one(headers: Any, name: str) -> str:
    values = headers.getall(name, [])
    if not values:
        raise Unauthorized(f"missing {name}")
    if len(values) > 1:
        raise Unauthorized(f"{name} is repeated")
    return str(values[0])


def check_headers(headers: Any, *, now: float | None = None) -> tuple[str, str]:
    """(timestamp, signature) when they are well-formed and fresh, else Unauthorized."""
    timestamp = _one(headers, "X-Slack-Request-Timestamp")
    signature = _one(headers, "X-Slack-Signature")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Unauthorized("X-Slack-Request-Timestamp is not a number of seconds")
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_S:
        raise Unauthorized("the request is older than 5 minutes (or from the future)")
    if not _SIGNATURE.fullmatch(signature):
        raise Unauthorized("X-Slack-Signature is not a v0 signature")
    return timestamp, signature


def check_signature(secret: bytes, timestamp: str, signature: str, raw: bytes) -> None:
    """Slack's v0 scheme: HMAC-SHA256 over ``v0:{timestamp}:{raw body}``."""
    expected = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw,
                                hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Unauthorized("the signature does not match")


async def read_bounded(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refused (413) beyond ``limit`` bytes before all of it is read."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadError(f"the body is larger than {limit} bytes", status=413)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise PayloadError(f"the body is larger than {limit} bytes", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def refusal(status: int, error: str, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": error, "reason": reason}, status=status)


# takes a checked payload and answers it without bolt (True), or leaves it to bolt (False)
DirectPath = Callable[[Any], Awaitable[bool]]


async def run_direct(direct: DirectPath | None, payload: Any) -> bool | None:
    """True: ``direct`` answered ``payload``; False: bolt is to; None: it failed (logged), and
    Slack is to get a 500 (and retry), as bolt answers a listener that raised."""
    if direct is None:
        return False
    try:
        return await direct(payload)
    except Exception as exc:
        log.exception("slack event failed", error=repr(exc))
        return None


def events_handler(
    bolt: AsyncApp, signing_secret: str, direct: DirectPath | None = None,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of ``/slack/events``: verify, parse, check, then answer on the
    ``direct`` path (:class:`bot.listeners.Direct`) or dispatch to bolt."""
    secret = signing_secret.encode()

    async def events(request: web.Request) -> web.StreamResponse:
        started = time.monotonic()  # Slack's 3 s count from here (archops_slack_ack_seconds)
        try:
            timestamp, signature = check_headers(request.headers)
            raw = await read_bounded(request)
            check_signature(secret, timestamp, signature, raw)
        except Unauthorized as exc:
            log.info("slack request refused", status=401, reason=exc.reason)
            return refusal(401, "invalid_request_signature", exc.reason)
        except PayloadError as exc:  # too large to verify
            return refusal(exc.status, "invalid_payload", exc.reason)
        try:
            body, payload = parse_body(request.content_type, raw)
        except PayloadError as exc:
            log.info("slack payload refused", status=exc.status, reason=exc.reason)
            return refusal(exc.status, "invalid_payload", exc.reason)
        answered = await run_direct(direct, payload)
        if answered is not False:
            metrics.SLACK_ACK_SECONDS.observe(time.monotonic() - started)
            return web.Response(status=200 if answered else 500)
        try:
            bolt_request = AsyncBoltRequest(
                body=body, query=request.query_string, headers=dict(request.headers),
                context={PAYLOAD_KEY: payload}, mode="socket_mode")
        except _BOLT_SHAPE_ERRORS as exc:
            # a shape slack-bolt's context extraction cannot read, though ours accepted it
            log.warning("slack payload unreadable by bolt", error=repr(exc))
            return refusal(400, "invalid_payload", "the payload's shape cannot be read")
        bolt_request.raw_body = raw.decode("utf-8")
        response = await to_aiohttp_response(await bolt.async_dispatch(bolt_request))
        metrics.SLACK_ACK_SECONDS.observe(time.monotonic() - started)
        return response

    return events


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode with the shape check of :func:`bot.payloads.check_payload` before bolt, and
    the same ``direct`` path as over HTTP."""

    def __init__(self, *args: Any, direct: DirectPath | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.direct = direct

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time.time()
        try:
            if not isinstance(req.payload, dict):
                raise PayloadError("the payload must be a JSON object")
            payload = check_payload(req.payload)
            answered = await run_direct(self.direct, payload)
            if answered is None:
                return  # not acknowledged: Slack sends it again
            if answered:
                await client.send_socket_mode_response(
                    SocketModeResponse(envelope_id=req.envelope_id))
                return
            bolt_request = AsyncBoltRequest(
                mode="socket_mode", body=req.payload, headers=build_headers(req),
                context={PAYLOAD_KEY: payload})
        except (PayloadError, *_BOLT_SHAPE_ERRORS) as exc:
            reason = exc.reason if isinstance(exc, PayloadError) else "its shape cannot be read"
            log.info("slack payload refused", reason=reason, mode="socket_mode", type=req.type)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        response = await self.app.async_dispatch(bolt_request)
        await send_async_response(client, req, response, start)
