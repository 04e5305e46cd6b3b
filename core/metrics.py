"""Prometheus metrics of every archops process, in the text exposition format.

One registry per process (``REGISTRY``), the same metric names in every part so that one
dashboard reads them all: request rates and outcomes, the ingress queue (depth, consumer-group
lag, pending entries), review and plan durations, model latency and tokens, Slack acks.

The web app and the Slack edge serve ``/metrics`` on their own port; processes without an HTTP
server of their own (the worker, the monitor) serve it with their probes
(:func:`serve_probes`), next to ``/healthz`` (the process is alive) and ``/readyz`` (it can do
work: its Redis answers and it is not shutting down).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from core.logging import get_logger

log = get_logger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

# seconds, from a fast cache hit to a slow full review
_DURATIONS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

REQUESTS = Counter(
    "archops_requests_total", "Chat requests by where they came from and how they ended",
    ["source", "outcome"], registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "archops_request_seconds", "Time a worker spent on one request", ["source"],
    buckets=_DURATIONS, registry=REGISTRY,
)
ACCEPTED = Counter(
    "archops_accepted_total", "Requests accepted into the ingress streams", ["source"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "archops_queue_depth", "Accepted requests not yet finished (all workers)", registry=REGISTRY,
)
QUEUE_LAG = Gauge(
    "archops_queue_lag", "Ingress entries no worker has read yet (consumer-group lag)",
    registry=REGISTRY,
)
PENDING = Gauge(
    "archops_pending_entries", "Ingress entries read by a worker and not yet acknowledged",
    registry=REGISTRY,
)
OLDEST_SECONDS = Gauge(
    "archops_queue_oldest_seconds", "Age of the oldest accepted, unfinished request",
    registry=REGISTRY,
)
REVIEW_SECONDS = Histogram(
    "archops_review_check_seconds", "Duration of each check of the Terraform review", ["check"],
    buckets=_DURATIONS, registry=REGISTRY,
)
MODEL_SECONDS = Histogram(
    "archops_model_seconds", "Latency of one model call", ["model"], buckets=_DURATIONS,
    registry=REGISTRY,
)
MODEL_TOKENS = Counter(
    "archops_model_tokens_total", "Model tokens by direction (in, out)", ["model", "direction"],
    registry=REGISTRY,
)
SLACK_ACK_SECONDS = Histogram(
    "archops_slack_ack_seconds", "Time from a Slack request's arrival to its acknowledgement",
    buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 3), registry=REGISTRY,
)


def observe_review(timings: dict[str, float]) -> None:
    """Record one review's per-check durations (``Review.timings``)."""
    for check, seconds in timings.items():
        with contextlib.suppress(Exception):
            REVIEW_SECONDS.labels(check=check).observe(float(seconds))


def exposition() -> bytes:
    return generate_latest(REGISTRY)


async def metrics(_request: web.Request) -> web.Response:
    """``GET /metrics``: the process's metrics in Prometheus' text format."""
    body = exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_metrics_route(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)


async def sample_queue(redis: Any, keys: Any) -> None:
    """Read the ingress queue's depth, lag and pending counts from Redis into the gauges.

    ``keys`` is the bus's :class:`core.bus.keys.Keys`; lag and pending come from each
    partition's consumer group (``XINFO GROUPS``; ``lag`` is Redis 7's).
    """
    import time

    from core.bus.keys import GROUP

    depth = await redis.zcard(keys.queue)
    oldest = await redis.zrange(keys.queue, 0, 0, withscores=True)
    lag = pending = 0
    for number in range(keys.partitions):
        try:
            groups = await redis.xinfo_groups(keys.ingress(number))
        except Exception:  # noqa: BLE001 - no stream yet: nothing queued there
            continue
        for group in groups:
            name = group.get("name")
            if (name.decode() if isinstance(name, bytes) else name) != GROUP:
                continue
            pending += int(group.get("pending") or 0)
            lag += int(group.get("lag") or 0)
    QUEUE_DEPTH.set(depth)
    QUEUE_LAG.set(lag)
    PENDING.set(pending)
    OLDEST_SECONDS.set(max(0.0, time.time() - float(oldest[0][1]) / 1000) if oldest else 0.0)


Check = Callable[[], Awaitable[str | None]]


async def serve_probes(
    host: str, port: int, *, ready: Check, alive: Check | None = None,
    sample: Callable[[], Awaitable[None]] | None = None, sample_every_s: float = 5.0,
) -> tuple[web.AppRunner, asyncio.Task[None] | None]:
    """Serve ``/healthz``, ``/readyz`` and ``/metrics`` for a process without its own server.

    ``ready`` and ``alive`` return None when fine, else the reason (the probe answers 503 with
    it); ``sample`` refreshes gauges every ``sample_every_s``. Returns the runner (clean it up)
    and the sampling task (cancel it).
    """

    async def probe(check: Check | None) -> web.Response:
        problem = await check() if check is not None else None
        if problem:
            return web.json_response({"ok": False, "reason": problem}, status=503)
        return web.json_response({"ok": True})

    async def healthz(_request: web.Request) -> web.Response:
        return await probe(alive)

    async def readyz(_request: web.Request) -> web.Response:
        return await probe(ready)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    add_metrics_route(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()

    task: asyncio.Task[None] | None = None
    if sample is not None:
        async def sampling() -> None:
            while True:
                try:
                    await sample()
                except Exception as exc:  # noqa: BLE001 - a failed sample must not stop the probes
                    log.warning("metrics_sample_failed", error=str(exc)[:200])
                await asyncio.sleep(sample_every_s)

        task = asyncio.create_task(sampling())
    return runner, task

