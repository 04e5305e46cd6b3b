"""The HTTP edge: the chat API, the SSE stream of a conversation's events, health.

An edge only translates: a POST becomes an :class:`~core.envelope.Envelope` on the ingress bus,
and a conversation's events come back as server-sent events. It holds no conversation state.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
from typing import Any

from aiohttp import web
from pydantic import ValidationError as PydanticValidationError

from core.envelope import Envelope, new_id
from core.errors import (
    ArchopsError,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    ValidationError,
)
from core.logging import bind_ids, get_logger
from core.redis_client import RETRYABLE, ping
from core.tracing import inject_context, span
from web import github_link, pages
from web import projects as web_projects
from web.auth import (
    ACCESS,
    LOCAL_PRINCIPAL,
    PRINCIPAL,
    Principal,
    RequestTooLarge,
    install,
    read_json,
)
from web.context import CTX, WebContext
from web.sse import serve

log = get_logger("archops.web")
ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,200}", re.ASCII)
# ASCII digits only (\d would match Arabic-Indic digits), each part a 64-bit unsigned number
STREAM_ID_RE = re.compile(r"([0-9]{1,20})-([0-9]{1,20})", re.ASCII)
STREAM_ID_PART_MAX = 2**64 - 1




def error_response(status: int, code: str, message: str, hint: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if hint:
        body["error"]["hint"] = hint
    headers = {"Retry-After": "2"} if status == 503 else None
    return web.json_response(body, status=status, headers=headers)


def _checked_id(value: str | None, what: str) -> str:
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise ValidationError(
            f"{what} must be 1-200 characters of letters, digits, '_', '.', ':' or '-'"
        )
    return value


def envelope_from_json(payload: Any, principal: Principal) -> Envelope:
    """Build the envelope a POST /api/messages asks for, or say precisely what is wrong.

    The principal is the user: a body cannot name one. Idempotency keys are the principal's
    own (another principal reusing a key neither dedupes against nor learns of the first)."""
    if not isinstance(payload, dict):
        raise ValidationError("the body must be a JSON object")
    if "user" in payload:
        raise ValidationError("user cannot be given: it is who you signed in as")
    unknown = set(payload) - {
        "conversation_id", "text", "action", "client_id", "idempotency_key",
        "non_interactive", "project_id",
    }
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if payload.get("project_id") is not None and principal.id != LOCAL_PRINCIPAL:
        # a project holds an AWS account and a repository: who may use it is not the web's to
        # grant yet, so only the installation's owner names one
        raise Forbidden("only the installation's owner may name a project",
                        hint="leave project_id out")
    non_interactive = payload.get("non_interactive", False)
    if not isinstance(non_interactive, bool):
        raise ValidationError("non_interactive must be true or false (a JSON boolean)")
    conversation_id = payload.get("conversation_id")
    if conversation_id is None:
        conversation_id = new_id("conv")
    fields: dict[str, Any] = {
        "conversation_id": _checked_id(conversation_id, "conversation_id"),
        "source": principal.source,
        "user": principal.id,
        "text": payload.get("text"),
        "action": payload.get("action"),
        "client_id": payload.get("client_id"),
        "non_interactive": non_interactive,
        "project_id": payload.get("project_id"),
    }
    if payload.get("idempotency_key") is not None:
        key = _checked_id(payload["idempotency_key"], "idempotency_key")
        owner = hashlib.sha256(principal.id.encode()).hexdigest()[:16]
        fields["idempotency_key"] = f"web:{owner}:{key}"
    try:
        return Envelope(**fields)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise ValidationError(f"{where}: {first['msg']}") from exc


async def post_message(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    principal = request[PRINCIPAL]
    try:
        payload = await read_json(request)
    except RequestTooLarge as exc:
        return error_response(413, "too_large", exc.message)
    except ValidationError as exc:
        return error_response(400, "bad_json", exc.message)
    try:
        envelope = envelope_from_json(payload, principal)
        await request.app[ACCESS].authorize_write(principal, envelope.conversation_id)
        with span("web.submit", conversation_id=envelope.conversation_id):
            envelope = envelope.model_copy(update={"trace": inject_context()})
            result = await ctx.submitter.submit(envelope)
    except ValidationError as exc:
        return error_response(400, "invalid_request", exc.message, exc.hint)
    except Forbidden as exc:
        return error_response(403, "forbidden", exc.message, exc.hint)
    except RETRYABLE:
        return error_response(503, "unavailable", "redis is not reachable")
    except ServiceUnavailable as exc:
        return error_response(503, "unavailable", exc.message, exc.hint)
    with bind_ids(request_id=result.request_id, conversation_id=envelope.conversation_id):
        log.info("request accepted", duplicate=not result.accepted)
    return web.json_response(
        {
            "request_id": result.request_id,
            "conversation_id": envelope.conversation_id,
            "accepted": result.accepted,
            "duplicate": not result.accepted,
            "events_url": f"/api/conversations/{envelope.conversation_id}/events",
        },
        status=202,
    )


async def get_history(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    try:
        conversation_id = _checked_id(request.match_info["conversation_id"], "conversation id")
        after = _after(request)
    except ValidationError as exc:
        return error_response(400, "invalid_request", exc.message)
    events = await ctx.events.read(conversation_id, after=after, count=10_000)
    return web.json_response({"events": [json.loads(e.model_dump_json()) for e in events]})


def _after(request: web.Request) -> str | None:
    after = request.headers.get("Last-Event-ID") or request.query.get("after") or None
    if after is None:
        return None
    match = STREAM_ID_RE.fullmatch(after)
    parts = tuple(int(part) for part in match.groups()) if match else ()
    # nothing comes after the largest id, and Redis refuses it as an exclusive start
    if not parts or max(parts) > STREAM_ID_PART_MAX or parts == (STREAM_ID_PART_MAX,) * 2:
        raise ValidationError("Last-Event-ID must be an event id like 1700000000000-0 "
                              "(ASCII digits, each part below 2**64)")
    return after


async def stream_events(request: web.Request) -> web.StreamResponse:
    """SSE: replay what the client missed (Last-Event-ID), then live events, deduplicated."""
    ctx = request.app[CTX]
    try:
        conversation_id = _checked_id(request.match_info["conversation_id"], "conversation id")
        after = _after(request)
        client_id = _checked_id(
            request.query.get("client_id") or f"sse-{secrets.token_hex(8)}", "client_id"
        )
    except ValidationError as exc:
        return error_response(400, "invalid_request", exc.message)
    principal = request[PRINCIPAL]
    expires_at = principal.capability.expires_at if principal.capability is not None else None
    # the right to read is asked again whenever the stream resumes after a gap
    return await serve(request, ctx.hub, conversation_id, client_id, after,
                       expires_at=expires_at, access=request.app[ACCESS])


async def health(_request: web.Request) -> web.Response:
    """Liveness: the process serves HTTP (restart it when this fails)."""
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Readiness: send this instance traffic. Not while it stops, not without Redis (nothing
    can be submitted or streamed), not while its event subscription is down."""
    ctx = request.app[CTX]
    if ctx.stopping or ctx.hub.draining:
        return error_response(503, "stopping", "this instance is shutting down")
    if ctx.redis_url is not None:
        reason = await asyncio.to_thread(ping, ctx.redis_url, 1.0)
    else:
        try:
            await asyncio.wait_for(ctx.events.redis.ping(), 1)
            reason = None
        except (*RETRYABLE, TimeoutError):
            reason = "no answer"
    if reason is not None:
        return error_response(503, "unavailable", f"redis is not reachable ({reason})")
    if not ctx.hub.connected.is_set():
        return error_response(503, "unavailable", "the live event subscription is down")
    return web.json_response({"status": "ready", "instance": ctx.instance_id})


def begin_shutdown(app: web.Application) -> None:
    """The first step of stopping: readiness fails (a load balancer stops sending new clients)
    while everything is still served. :func:`drain_streams` follows when the sites close."""
    app[CTX].stopping = True


async def drain_streams(app: web.Application) -> None:
    """on_shutdown (the sites no longer accept connections): tell every SSE client to
    reconnect elsewhere and wait until they have been told."""
    ctx = app[CTX]
    ctx.stopping = True
    await ctx.hub.drain(ctx.drain_timeout_s)


async def index(request: web.Request) -> web.StreamResponse:
    """The chat page for a browser; for an API client, what the API offers."""
    if pages.wants_html(request):
        return await pages.chat_page(request)
    return web.json_response(
        {
            "service": "archops",
            "api": {
                "submit": "POST /api/messages",
                "events": "GET /api/conversations/{id}/events (text/event-stream)",
                "history": "GET /api/conversations/{id}/history",
                "diagram": "GET /api/conversations/{id}/diagram (DOT and node details)",
                "module": "GET /api/conversations/{id}/module.zip",
                "whoami": "GET /api/whoami",
                "sign_out": "POST /api/logout",
            },
            "projects": "GET/POST /api/projects, GET/PATCH /api/projects/{id}",
            "github": "GET /auth/github (link your account), GET/DELETE /api/github",
            "pages": {"chat": "/", "stream": "/c/{id}", "diagram": "/c/{id}/diagram",
                      "projects": "/projects", "github": "/settings/github"},
            "access": "docs/security.md: a CLI token, a session (/login, /auth/slack) or a link",
        }
    )


@web.middleware
async def errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # aiohttp's own refusals (no such route, method not allowed...) answer JSON too
        response = error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
        for name in ("Allow", "Retry-After"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except ValidationError as exc:
        return error_response(400, "invalid_request", exc.message, exc.hint)
    except Forbidden as exc:
        return error_response(403, "forbidden", exc.message, exc.hint)
    except NotFound as exc:
        return error_response(404, "not_found", exc.message, exc.hint)
    except ServiceUnavailable as exc:
        return error_response(503, "unavailable", exc.message, exc.hint)
    except ArchopsError as exc:
        return error_response(500, "error", exc.message, exc.hint)


def create_app(ctx: WebContext) -> web.Application:
    if ctx.access is None:
        raise ValueError("the web app needs an access model (WebContext.access)")
    app = web.Application(middlewares=[errors_middleware], client_max_size=256 * 1024)
    app[CTX] = ctx
    install(app, ctx.access)
    app.router.add_get("/", index)
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", ready)
    app.router.add_post("/api/messages", post_message)
    app.router.add_get("/api/conversations/{conversation_id}/events", stream_events)
    app.router.add_get("/api/conversations/{conversation_id}/history", get_history)
    pages.add_routes(app)
    web_projects.add_routes(app, ctx.projects)
    github_link.add_routes(app, ctx.github)

    async def hub_lifecycle(_app: web.Application):  # type: ignore[no-untyped-def]
        await ctx.hub.start()
        yield
        await ctx.hub.stop()

    app.cleanup_ctx.append(hub_lifecycle)
    app.on_shutdown.append(drain_streams)
    return app
