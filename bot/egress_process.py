"""The egress in a process of its own, beside the one that answers Slack's requests.

Slack wants its 200 within 3 seconds and archops answers in a few milliseconds, but only while
the process is not busy writing cards: under a burst, hundreds of writes a second (rendering,
the Web API, Redis) would queue the acknowledgements behind them. So `archops bot` runs the
egress (:class:`bot.egress.SlackEgress`) in a child process on another core, at a lower CPU
priority (:data:`NICENESS`): when the cores are busy, the acknowledgement, which has a deadline,
goes before a card's write, which is paced per channel anyway. The two share
nothing but Redis: the ingress records requests and marks cards due, the egress follows the
events and writes; the egress lease (:mod:`bot.leader`) keeps one writer however many bot
processes run. A child that dies is started again; its cursors and due cards are in Redis.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from typing import Any

from core.logging import get_logger
from core.settings import Settings

log = get_logger("archops.bot.egress")
RESTART_DELAY_S = 1.0
NICENESS = 10  # added to the bot's own: the egress yields the CPU to the acknowledgements


def _child(settings: Settings, redis_url: str, min_interval_s: float, parent: int) -> None:
    """The child's main: the egress until SIGTERM or SIGINT."""
    os.nice(NICENESS)
    from core.offload import exit_with_parent

    exit_with_parent(parent)  # a bot killed outright leaves no writer behind
    from core.logging import configure_logging
    from core.tracing import setup_tracing, shutdown_tracing

    configure_logging(settings.log_level, settings.log_format)
    setup_tracing(settings)

    async def main() -> None:
        from bot.service import (
            build_egress,
            pooled_session,
            require_slack,
            run_egress,
            web_client,
        )
        from bot.state import SlackState
        from core.bus.keys import Keys
        from core.redis_client import make_redis

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        token, _secret = require_slack(settings)
        redis = make_redis(redis_url, retries=2)
        client = web_client(settings, token)
        client.session = pooled_session()
        state = SlackState(redis, Keys(settings.redis_prefix, partitions=settings.partitions))
        egress = build_egress(settings, redis, state, client, min_interval_s=min_interval_s)
        try:
            await run_egress(settings, egress, stop)
        finally:
            await client.session.close()
            await redis.aclose()

    try:
        try:
            import uvloop

            uvloop.run(main())
        except ImportError:
            asyncio.run(main())
    finally:
        shutdown_tracing()


class EgressProcess:
    """Runs the egress in a child process until ``stop``; restarts it when it dies."""

    def __init__(self, settings: Settings, redis_url: str, *, min_interval_s: float = 1.0) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.min_interval_s = min_interval_s
        self._context = multiprocessing.get_context("spawn")
        self.process: Any = None
        self.starts = 0

    def start(self) -> None:
        self.process = self._context.Process(
            target=_child, args=(self.settings, self.redis_url, self.min_interval_s, os.getpid()),
            name="archops-slack-egress", daemon=True)
        self.process.start()
        self.starts += 1
        log.info("slack egress process started", pid=self.process.pid)

    async def run(self, stop: asyncio.Event) -> None:
        self.start()
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
                except TimeoutError:
                    pass
                if not stop.is_set() and not self.process.is_alive():
                    log.error("slack egress process died; starting another",
                              exitcode=self.process.exitcode)
                    await asyncio.sleep(RESTART_DELAY_S)
                    self.start()
        finally:
            await asyncio.to_thread(self.stop)

    def stop(self) -> None:
        if self.process is None or not self.process.is_alive():
            return
        self.process.terminate()  # SIGTERM: the child finishes its current writes and exits
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
