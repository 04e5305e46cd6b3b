"""What the long-running commands share: an event loop, signal handling, a Redis to talk to."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

from core.errors import ServiceUnavailable
from core.redis_client import ping
from core.redis_server import EmbeddedRedis
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


def redis_for(settings: Settings, *, embed: bool) -> tuple[str, EmbeddedRedis | None]:
    """The Redis URL to use: ARCHOPS_REDIS_URL, else (with ``embed``) a redis-server we start."""
    if settings.redis_url:
        problem = ping(settings.redis_url, timeout=1.0)
        if problem:
            raise ServiceUnavailable(
                f"Redis does not answer at ARCHOPS_REDIS_URL: {problem}",
                hint="start it, fix the URL, or unset it to let `archops up` run its own",
            )
        return settings.redis_url, None
    if not embed:
        raise ServiceUnavailable(
            "no Redis configured", hint="set ARCHOPS_REDIS_URL, or use `archops up`"
        )
    server = EmbeddedRedis(settings.data_dir / "redis").start()
    return server.url, server
