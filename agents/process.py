"""The worker process's composition root: settings -> Redis, store, checkpointer, code hosts ->
the graph.

Nothing else in agents/ builds clients; this module wires them once and runs the ingress
:class:`~core.bus.Worker` with the agent handler, recording every request in the system of record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from core import metrics
from core.bus import Worker, bus_from_settings
from core.context import Handler, RequestContext
from core.datadir import make_private
from core.logging import bind_ids, get_logger
from core.offload import Batcher, CpuPool
from core.redis_client import make_redis
from core.settings import Settings
from core.store import Store, open_checkpointer
from core.tracing import extract_context, span

log = get_logger("archops.worker")
# imported by each CPU pool process when it starts, so the first review pays no import
WARM = ("agents.fixer", "agents.combiner", "core.terraform.review")


@dataclass
class RecordingHandler:
    """Records each request in the store around the agent's work, inside the request's trace."""

    store: Store
    agent: Handler

    async def __call__(self, ctx: RequestContext) -> None:
        env = ctx.envelope
        with span(
            "worker.request",
            parent=extract_context(env.trace),
            request_id=env.request_id,
            conversation_id=env.conversation_id,
            attempt=ctx.attempt,
        ) as current:
            trace_id = format(current.get_span_context().trace_id, "032x")
            with bind_ids(trace_id=trace_id):
                await self.store.record_request(env)
                await self.store.mark_request(env.request_id, "running", attempts=ctx.attempt)
                try:
                    await self.agent(ctx)
                except Exception as exc:
                    await self.store.mark_request(env.request_id, "failed", error=str(exc))
                    raise
                await self.store.mark_request(env.request_id, "done")


@contextlib.asynccontextmanager
async def agent_handler(settings: Settings) -> AsyncIterator[tuple[Store, Handler]]:
    """The store and the agent handler, opened on the settings' database."""
    from agents.delivery import Deliverer
    from agents.fixer import checkov_many
    from agents.handler import AgentHandler
    from core.codehost.hosts import Hosts

    pool = CpuPool(settings.cpu_pool, settings.cpu_workers, warm=WARM).start()
    store = await Store.open(settings.effective_database_url)
    try:
        async with open_checkpointer(settings.effective_database_url) as checkpointer:
            checkov = Batcher(lambda modules: pool.run(checkov_many, modules),
                              max_batch=16, parallel=pool.workers)
            # finished designs become pull requests on their project's code host
            delivery = Deliverer(store, Hosts(settings, store), settings.signer())
            agent = AgentHandler(
                checkpointer, settings, review_checks=settings.review_check_set, offload=pool.run,
                checkov=checkov, delivery=delivery,
            )
            yield store, RecordingHandler(store, agent)
    finally:
        await store.close()
        await asyncio.to_thread(pool.close)


def _async(check: Callable[[], str | None]) -> Callable[[], Awaitable[str | None]]:
    async def probe() -> str | None:
        return check()

    return probe


async def run_worker(settings: Settings, redis_url: str, stop: asyncio.Event) -> None:
    """Consume the ingress streams until ``stop`` is set."""
    make_private(settings.data_dir)
    redis = make_redis(redis_url, retries=5)
    bus = bus_from_settings(redis, settings)
    try:
        await bus.submitter.ensure_groups()
        async with agent_handler(settings) as (_store, handler):
            worker = Worker(
                redis, bus.keys, handler, bus.events,
                consumer=f"{settings.instance_id}-worker",
                lease_ttl_ms=settings.lease_ttl_ms,
                max_deliveries=settings.max_deliveries,
                concurrency=settings.worker_concurrency,
                max_per_user=settings.admit_per_user,
                shutdown_grace_s=settings.shutdown_grace_s,
            )
            probes = None
            if settings.probe_port is not None:
                probes = await metrics.serve_probes(
                    settings.probe_host, settings.probe_port,
                    ready=_async(worker.readiness), alive=_async(worker.health),
                    sample=lambda: metrics.sample_queue(redis, bus.keys),
                )
            try:
                await worker.run(stop)
            finally:
                if probes is not None:
                    runner, sampling = probes
                    if sampling is not None:
                        sampling.cancel()
                    await runner.cleanup()
    finally:
        await redis.aclose()
