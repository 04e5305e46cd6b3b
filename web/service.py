"""The web process's composition root: settings -> Redis -> the aiohttp application."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from core.bus import bus_from_settings
from core.logging import get_logger
from core.loop import tune_gc
from core.redis_client import make_redis
from core.settings import Settings
from web import metrics as metrics_page
from web.access_log import AccessLogger
from web.app import CTX, WebContext, begin_shutdown, create_app
from web.auth import Access, AccessStore, ensure_cli_token
from web.hub import Hub

log = get_logger("archops.web")


def build_app(settings: Settings, redis_url: str) -> web.Application:
    redis = make_redis(redis_url, retries=5)
    bus = bus_from_settings(redis, settings)
    events, submitter = bus.events, bus.submitter
    instance_id = f"{settings.instance_id}-web"
    access = access_from_settings(settings, redis)
    hub = Hub(events, instance_id, keepalive_s=settings.sse_heartbeat_s)
    app = create_app(
        WebContext(submitter, events, hub, instance_id, settings.client_ttl_s, access=access,
                   redis_url=redis_url, drain_timeout_s=settings.web_drain_timeout_s)
    )
    metrics_page.install(app, settings.effective_database_url)  # /projects/{id}/metrics
    from web import scans

    scans.install(app, database_url=settings.effective_database_url, data_dir=settings.data_dir)

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        await submitter.ensure_groups()
        store = await open_projects(app, settings)
        yield
        await store.close()
        await redis.aclose()

    app.cleanup_ctx.insert(0, lifecycle)
    return app


async def open_projects(app: web.Application, settings: Settings):  # type: ignore[no-untyped-def]
    """The system of record behind the projects pages and GitHub linking (returned to close)."""
    from core.codehost.hosts import Hosts
    from core.projects import Projects
    from core.store import Store
    from web.github_link import GITHUB, GitHubOAuth
    from web.projects import PROJECTS

    store = await Store.open(settings.effective_database_url)
    app[PROJECTS] = Projects(store, Hosts(settings, store))
    if settings.github_client_id and settings.github_client_secret:
        app[GITHUB] = GitHubOAuth(settings.github_client_id,
                                  settings.github_client_secret.get_secret_value(),
                                  settings.github_oauth_url, settings.github_api_url, store,
                                  settings.vault())
    return store


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
    """Serve until ``stop`` is set; ``ready`` receives the base URL once listening.

    Stopping is graceful: readiness fails at once, requests are served ``web_drain_delay_s``
    longer, then the socket stops accepting, every SSE client is told to reconnect (elsewhere,
    behind a load balancer) and the rest is closed."""
    app = build_app(settings, redis_url)
    runner = web.AppRunner(app, shutdown_timeout=settings.web_drain_timeout_s + 2,
                           access_log_class=AccessLogger, access_log=log_handle())
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
        begin_shutdown(app)
        log.info("web stopping", drain_delay_s=settings.web_drain_delay_s,
                 streams=len(app[CTX].hub.streams()))
        await asyncio.sleep(settings.web_drain_delay_s)
    finally:
        await runner.cleanup()


def log_handle() -> logging.Logger:
    """What aiohttp wants as its access logger (our AccessLogger writes through structlog)."""
    return logging.getLogger("archops.web.access")
