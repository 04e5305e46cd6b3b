"""The bot process's composition root: settings -> Redis, the Slack Web API client, bolt.

It serves the Events API and interactivity endpoint (``/slack/events``) with aiohttp (and,
with an app token, takes the same requests over Socket Mode) and runs the egress loop beside it.
Nothing else in bot/ builds a client. What `/archops scan`, `tags` and `metrics` call comes in
as :class:`bot.hooks.Hooks` from the command line, which knows those parts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access, ApproversOf
from bot.card import RenderContext
from bot.commands import Deps
from bot.egress import SlackEgress
from bot.hooks import Hooks
from bot.http import CheckedSocketModeHandler, events_handler
from bot.ingress import SlackIngress
from bot.interactions import Interactions
from bot.leader import Lease
from bot.links import Links
from bot.listeners import Direct, register
from bot.projects import Projects
from bot.state import SlackState
from core.bus import bus_from_settings
from core.errors import ConfigurationError
from core.logging import get_logger
from core.loop import tune_gc
from core.redis_client import make_redis
from core.settings import Settings

log = get_logger("archops.bot")
EVENTS_PATH = "/slack/events"
# calls to Slack in flight at once (in all channels); aiohttp's pool is as large
CONCURRENCY = 32


@dataclass
class Bot:
    """Everything `archops bot` runs: the HTTP app (ingress) and the egress loop."""

    app: web.Application
    bolt: AsyncApp
    ingress: SlackIngress
    egress: SlackEgress
    projects: Projects
    direct: Direct


def require_slack(settings: Settings) -> tuple[str, str]:
    """The bot token and signing secret, or a ConfigurationError saying what to set."""
    missing = [name for name, value in (
        ("ARCHOPS_SLACK_BOT_TOKEN", settings.slack_bot_token),
        ("ARCHOPS_SLACK_SIGNING_SECRET", settings.slack_signing_secret),
    ) if value is None or not value.get_secret_value()]
    if missing or settings.slack_bot_token is None or settings.slack_signing_secret is None:
        raise ConfigurationError(
            f"Slack is not configured: set {' and '.join(missing)}",
            hint="the bot token (xoxb-...) is under OAuth & Permissions and the signing secret "
            "under Basic Information of your Slack app; `archops doctor` shows what is set",
        )
    return settings.slack_bot_token.get_secret_value(), settings.slack_signing_secret.get_secret_value()


def web_client(settings: Settings, token: str) -> AsyncWebClient:
    """The Web API client. Dropped connections and 5xx are retried once; a 429 is NOT retried
    here (slack_sdk's rate-limit handler sleeps inside the call, holding up every channel): the
    sender pauses only the channel Slack limited, for its Retry-After (:mod:`bot.sender`)."""
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url or AsyncWebClient.BASE_URL,
        timeout=10,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def approvers_with_projects(fixed: frozenset[str], projects: Projects) -> ApproversOf:
    """``ARCHOPS_SLACK_APPROVERS`` in every channel, and the approvers of the project a channel
    is bound to in that channel (the settings' alone when the system of record is down)."""

    async def approvers(_team: str, channel: str) -> frozenset[str]:
        if not channel:
            return fixed
        try:
            return fixed | await projects.approvers(channel)
        except Exception as exc:  # never a reason to refuse an answer nor to allow one more
            log.warning("project approvers unavailable", channel=channel, error=repr(exc))
            return fixed

    return approvers


def render_context_of(settings: Settings, signer: Any) -> RenderContext:
    # links carry a read capability for their conversation, valid as long as its events are
    # kept; the web app verifies them with the same keys (ARCHOPS_SECRET_KEYS)
    links = (Links(settings.public_url, signer, ttl_s=settings.event_retention_s)
             if settings.public_url else None)
    return RenderContext(links=links)


def build_egress(settings: Settings, redis: Any, state: SlackState, client: AsyncWebClient, *,
                 min_interval_s: float = 1.0, channel_interval_s: float | None = None,
                 egress_lease_ms: int = 10_000) -> SlackEgress:
    return SlackEgress(
        redis, state.keys, state, client, render_context=render_context_of(settings, settings.signer()),
        min_interval_s=min_interval_s, channel_interval_s=channel_interval_s,
        active_window_s=settings.event_retention_s, concurrency=CONCURRENCY,
        lease=Lease(redis, f"{state.base}:egress-lease", ttl_ms=egress_lease_ms),
    )


def pooled_session() -> aiohttp.ClientSession:
    """One HTTP connection pool for every Web API call (slack_sdk opens a session per call
    otherwise: a TCP and TLS handshake per message). Built inside the running loop."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY * 2))


def build_bot(
    settings: Settings, redis_url: str, *, min_interval_s: float = 1.0,
    egress_lease_ms: int = 10_000, hooks: Hooks | None = None,
    channel_interval_s: float | None = None,
) -> Bot:
    """Wire the bot once; ``min_interval_s`` spaces the writes to one card (and, unless
    ``channel_interval_s`` says otherwise, to one channel)."""
    token, signing_secret = require_slack(settings)
    redis = make_redis(redis_url, retries=2)
    bus = bus_from_settings(redis, settings)
    keys, submitter = bus.keys, bus.submitter
    state = SlackState(redis, keys)
    client = web_client(settings, token)
    # the signature is checked on the raw body at the door (bot.http.events_handler); bolt's own
    # check stays on for any raw body that would reach it another way
    bolt = AsyncApp(
        client=client, signing_secret=signing_secret, process_before_response=True,
        request_verification_enabled=True,
    )
    async def open_projects():  # type: ignore[no-untyped-def]
        from core.codehost.hosts import Hosts
        from core.projects import Projects as ProjectsDoor
        from core.store import Store

        store = await Store.open(settings.effective_database_url)
        return ProjectsDoor(store, Hosts(settings, store))

    projects = Projects(open_projects)
    access = Access(approvers_with_projects(settings.slack_approvers, projects))
    signer = settings.signer()
    render_context = render_context_of(settings, signer)
    egress = build_egress(settings, redis, state, client, min_interval_s=min_interval_s,
                          channel_interval_s=channel_interval_s, egress_lease_ms=egress_lease_ms)
    ingress = SlackIngress(submitter, state, access=access, wake=egress.wake)

    deps = Deps(ingress=ingress, state=state, access=access, client=client, projects=projects,
                hooks=hooks or Hooks(), render_context=render_context)
    register(bolt, deps, Interactions(ingress, projects=projects), verifier=signer)
    direct = Direct(ingress, client)
    app = web.Application()

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def lifecycle(_app: web.Application):  # type: ignore[no-untyped-def]
        session = pooled_session()
        client.session = session
        await submitter.ensure_groups()
        yield
        await ingress.drain()
        await projects.close()
        client.session = None
        await session.close()
        await redis.aclose()

    app.router.add_post(EVENTS_PATH, events_handler(bolt, signing_secret, direct))
    app.router.add_get("/healthz", health)
    app.cleanup_ctx.append(lifecycle)
    return Bot(app, bolt, ingress, egress, projects, direct)


async def run_bot(
    settings: Settings, redis_url: str, stop: asyncio.Event,
    ready: asyncio.Future[str] | None = None, *, min_interval_s: float = 1.0,
    hooks: Hooks | None = None,
) -> None:
    """Serve ``/slack/events`` and run the egress until ``stop`` is set: in a process of its own
    (``ARCHOPS_SLACK_EGRESS=process``), else in this one."""
    bot = build_bot(settings, redis_url, min_interval_s=min_interval_s, hooks=hooks)
    runner = web.AppRunner(bot.app, shutdown_timeout=2, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.bot_host, settings.bot_port)
    await site.start()
    port = runner.addresses[0][1]
    host = "127.0.0.1" if settings.bot_host == "0.0.0.0" else settings.bot_host
    url = f"http://{host}:{port}{EVENTS_PATH}"
    log.info("slack bot listening", url=url)
    socket = await connect_socket_mode(settings, bot)
    tune_gc()  # a full collection must not hold Slack's acknowledgements
    if ready is not None and not ready.done():
        ready.set_result(url)
    try:
        if settings.slack_egress == "process":
            from bot.egress_process import EgressProcess

            await EgressProcess(settings, redis_url, min_interval_s=min_interval_s).run(stop)
        else:
            await run_egress(settings, bot.egress, stop)
    finally:
        if socket is not None:
            await socket.close_async()
        await runner.cleanup()


async def run_egress(settings: Settings, egress: SlackEgress, stop: asyncio.Event) -> None:
    """The egress, and the monitor's notices beside it (both write to Slack)."""
    from bot.notices import run_notices

    notices = asyncio.create_task(run_notices(
        egress.redis, settings.redis_prefix, egress.client, f"{settings.instance_id}-slack", stop))
    try:
        await egress.run(stop)
    finally:
        stop.set()
        await asyncio.gather(notices, return_exceptions=True)


async def connect_socket_mode(settings: Settings, bot: Bot) -> CheckedSocketModeHandler | None:
    """With ARCHOPS_SLACK_APP_TOKEN, also take events over Socket Mode (no public URL needed)."""
    if settings.slack_app_token is None:
        return None
    token = settings.slack_app_token.get_secret_value()
    if not token.startswith("xapp-"):
        raise ConfigurationError(
            "ARCHOPS_SLACK_APP_TOKEN is not an app-level token",
            hint="create one with the connections:write scope under Basic Information; it "
            "starts with xapp-",
        )
    handler = CheckedSocketModeHandler(bot.bolt, token, web_client=bot.bolt.client,
                                       direct=bot.direct)
    await handler.connect_async()
    log.info("slack socket mode connected")
    return handler
