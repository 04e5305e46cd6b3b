"""The web process's composition root: settings -> Redis -> the aiohttp application."""

from __future__ import annotations

import asyncio
import gc

from aiohttp import web

from core.bus import bus_from_settings
from core.logging import get_logger
from core.redis_client import make_redis
from core.settings import Settings
from web.app import WebContext, create_app
from web.auth import Access, AccessStore, ensure_cli_token
from web.hub import Hub

log = get_logger("archops.web")


def build_app(settings: Settings, redis_url: str) -> web.Application:
    redis = make_redis(redis_url, retries=5)
    bus = bus_from_settings(redis, settings)
    events, submitter = bus.events, bus.submitter
    instance_id = f"{settings.instance_id}-web"
    access = access_from_settings(settings, redis)
    app = create_app(
        WebContext(submitter, events, Hub(events, instance_id), instance_id, settings.client_ttl_s,
                   access=access)
    )
    from web import scans

    scans.install(app, database_url=settings.effective_database_url, data_dir=settings.data_dir)

    async def lifecycle(_app: web.Application):  # type: ignore[no-untyped-def]
        await submitter.ensure_groups()
        yield
        await redis.aclose()

    app.cleanup_ctx.insert(0, lifecycle)
    return app


def access_from_settings(settings: Settings, redis) -> Access:  # type: ignore[no-untyped-def]
    """The access model: link keys from the settings, the CLI token from the data folder
    (created there, mode 0600, when missing)."""
    slack = None
    if settings.slack_client_id and settings.slack_client_secret:
        from web.oidc import SlackSignIn

        slack = SlackSignIn(settings.slack_client_id,
                            settings.slack_client_secret.get_secret_value(),
                            base_url=settings.slack_oidc_url, team_id=settings.slack_team_id)
    return Access(
        AccessStore(redis, settings.redis_prefix),
        settings.signer(),
        cli_token=ensure_cli_token(settings.data_dir),
        public_url=settings.public_url,
        slack_sign_in=slack,
    )


async def sign_in_url(settings: Settings, redis_url: str, base_url: str) -> str:
    """A one-time URL that opens a web session as the installation's owner (``archops up``)."""
    from web.auth import LOCAL_PRINCIPAL

    redis = make_redis(redis_url, retries=5)
    try:
        token = await AccessStore(redis, settings.redis_prefix).issue_login(LOCAL_PRINCIPAL)
    finally:
        await redis.aclose()
    base = (settings.public_url or base_url).rstrip("/")
    return f"{base}/login?token={token}"


async def run_web(
    settings: Settings, redis_url: str, stop: asyncio.Event, ready: asyncio.Future[str] | None = None
) -> None:
    """Serve until ``stop`` is set; ``ready`` receives the base URL once listening."""
    runner = web.AppRunner(build_app(settings, redis_url), shutdown_timeout=2, access_log=None)
    await runner.setup()
    # a burst of reconnecting EventSources (after a restart) must not overflow the accept queue
    site = web.TCPSite(runner, settings.web_host, settings.web_port, backlog=2048)
    await site.start()
    tune_gc()
    host, port = runner.addresses[0][:2]
    url = f"http://{settings.web_host if settings.web_host != '0.0.0.0' else '127.0.0.1'}:{port}"
    log.info("web listening", url=url)
    if ready is not None and not ready.done():
        ready.set_result(url)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def tune_gc() -> None:
    """Keep the cyclic collector from pausing the event loop for long.

    A web process holds thousands of long-lived objects per thousand SSE connections; a full
    collection rescans all of them (100-400 ms at 5,000 streams on 2 busy cores, which is every
    event of every stream delayed that long). What startup built (modules, classes, settings)
    lives as long as the process: ``gc.freeze`` takes it out of every collection. A larger
    young generation lets short-lived objects die by reference counting before a collection
    sees them, so fewer are promoted and full collections are rarer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
