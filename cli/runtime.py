"""What the long-running commands share: an event loop, signal handling, a Redis to talk to."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable

from core.datadir import make_private, private_umask
from core.errors import ServiceUnavailable
from core.redis_client import ping
from core.redis_server import EmbeddedRedis, embedded_password, with_embedded_password
from core.settings import Settings


def run(main: Callable[[asyncio.Event], Awaitable[int | None]]) -> int:
    """Run ``main(stop)`` on uvloop (when installed); SIGINT/SIGTERM set ``stop``."""

    async def runner() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return int(await main(stop) or 0)

    try:
        import uvloop

        return uvloop.run(runner())
    except ImportError:
        return asyncio.run(runner())


def with_metrics(
    settings: Settings, main: Callable[[asyncio.Event], Awaitable[int | None]]
) -> Callable[[asyncio.Event], Awaitable[int | None]]:
    """``main`` plus ``/metrics`` on ARCHOPS_PROBE_PORT, for a process whose own port serves its
    health (the web app, the Slack edge): metrics stay off the public port."""
    if settings.probe_port is None:
        return main

    async def ok() -> None:
        return None

    async def wrapped(stop: asyncio.Event) -> int | None:
        from core import metrics

        runner, _ = await metrics.serve_probes(settings.probe_host, int(settings.probe_port or 0), ready=ok)
        try:
            return await main(stop)
        finally:
            await runner.cleanup()

    return wrapped


def private_data_dir(settings: Settings) -> None:
    """The data folder and what is in it private (0700/0600), and so is what we create next."""
    private_umask()
    make_private(settings.data_dir)


def running_up_redis(settings: Settings) -> str | None:
    """The Redis of the `archops up` running on this data folder (from its up.json), if any."""
    try:
        state = json.loads((settings.data_dir / "up.json").read_text())
    except (OSError, ValueError):
        return None
    redis = state.get("redis") if isinstance(state, dict) else None
    return redis if isinstance(redis, str) and redis else None


def redis_for(settings: Settings, *, embed: bool) -> tuple[str, EmbeddedRedis | None]:
    """The Redis URL to use: ARCHOPS_REDIS_URL, else (with ``embed``) a redis-server we start,
    else the one a running `archops up` started. A loopback URL without a password gets the
    embedded Redis' password from the data folder."""
    private_data_dir(settings)
    url = settings.redis_url or (None if embed else running_up_redis(settings))
    if url:
        url = with_embedded_password(url, settings.data_dir)
        problem = ping(url, timeout=1.0)
        if problem:
            raise ServiceUnavailable(
                f"Redis does not answer at ARCHOPS_REDIS_URL: {problem}",
                hint="start it, fix the URL, or unset it to let `archops up` run its own",
            )
        return url, None
    if not embed:
        raise ServiceUnavailable(
            "no Redis configured", hint="set ARCHOPS_REDIS_URL, or use `archops up`"
        )
    password = embedded_password(settings.data_dir)
    server = EmbeddedRedis(settings.data_dir / "redis", password=password).start()
    return server.auth_url, server
