"""Two monitor instances never collect one project at once; a stalled holder writes nothing."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from core.errors import LeaseLost
from core.redis_client import make_redis
from core.store.metrics_store import MetricsStore
from monitor.collector import Collector, CollectorConfig
from monitor.lock import ProjectLock
from scanner.models import Inventory
from tests.monitor import series as gen
from tests.monitor.cloudwatch_standin import CloudWatchLimits
from tests.monitor.inventories import instance

pytestmark = [pytest.mark.serial, pytest.mark.timeout(60)]


class Timeline:
    """Which instance was inside a GetMetricData call when (to see any overlap)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, float, float]] = []
        self.lock = threading.Lock()

    def wrap(self, name: str, client_for: Any, delay: float) -> Any:
        def make(region: str) -> Any:
            client = client_for(region)
            inner = client.get_metric_data

            def get_metric_data(**params: Any) -> Any:
                start = time.monotonic()
                time.sleep(delay)
                try:
                    return inner(**params)
                finally:
                    with self.lock:
                        self.spans.append((name, start, time.monotonic()))
            client.get_metric_data = get_metric_data
            return client
        return make


async def test_two_instances_collect_a_project_one_at_a_time(
        project, metrics, store, cw, moto_url, region, redis_url, prefix) -> None:
    now = gen.now_aligned()
    gen.put(cw(region), "AWS/EC2", "CPUUtilization", {"InstanceId": "i-0two"}, gen.noise(now, 1, 20, 2))
    inv = Inventory(regions=[region], resources=[instance(region, "i-0two")])
    timeline = Timeline()
    # two instances: their own Redis clients, the same Redis and database
    reds = [make_redis(redis_url), make_redis(redis_url)]
    collectors = [Collector(metrics, ProjectLock(r, prefix, 10_000), instance_id=name,
                            config=CollectorConfig(settle_s=0, backfill_s=3600, concurrency=1))
                  for r, name in zip(reds, ("monitor-a", "monitor-b"), strict=True)]
    try:
        reports = []
        for _round in range(3):
            limits = CloudWatchLimits(moto_url)
            reports += await asyncio.gather(*(
                c.collect(project, inv, timeline.wrap(c.instance_id, limits.client_for, 0.3)) for c in collectors))
            now += 300
            gen.put(cw(region), "AWS/EC2", "CPUUtilization", {"InstanceId": "i-0two"}, [(now - 300, 33.0)])
            for c in collectors:
                c.clock = lambda now=now: now
    finally:
        for r in reds:
            await r.aclose()
    collected = [r for r in reports if not r.skipped]
    skipped = [r for r in reports if r.skipped]
    assert len(collected) == 3 and len(skipped) == 3  # every round: one collected, one skipped
    assert all("another monitor instance is collecting it" in r.skipped for r in skipped)
    spans = sorted(timeline.spans, key=lambda s: s[1])
    for (a, _s1, e1), (b, s2, _e2) in zip(spans, spans[1:], strict=False):
        assert s2 >= e1 or a == b, f"{a} and {b} were inside GetMetricData at the same time"
    runs = await metrics.runs(project, gen_epoch())
    assert len(runs) == 3
    series = await metrics.series_of(project)
    rows = await metrics.points([s.id for s in series], 0)
    cpu = next(s for s in series if s.spec.metric == "cpu")
    ts = [t for t, _r, _v in rows[cpu.id]]
    assert len(ts) == len(set(ts)) == 14


async def test_a_holder_that_stalls_past_its_lock_writes_nothing(
        project, metrics, cw, moto_url, region, redis, prefix) -> None:
    now = gen.now_aligned()
    gen.put(cw(region), "AWS/EC2", "CPUUtilization", {"InstanceId": "i-0slow"}, gen.noise(now, 1, 20, 2))
    inv = Inventory(regions=[region], resources=[instance(region, "i-0slow")])
    config = CollectorConfig(settle_s=0, backfill_s=3600)
    slow = Collector(metrics, ProjectLock(redis, prefix, 1000), instance_id="monitor-slow", config=config)
    fast = Collector(metrics, ProjectLock(redis, prefix, 1000), instance_id="monitor-fast", config=config)
    slow_limits = CloudWatchLimits(moto_url, delay_s=2.5)  # a call that outlives the 1 s lock
    slow._renew = _no_renewal  # type: ignore[method-assign]  # a process paused: it renews nothing
    slow_run = asyncio.create_task(slow.collect(project, inv, slow_limits.client_for))
    await asyncio.sleep(1.5)  # its lock has expired
    fast_report = await fast.collect(project, inv, CloudWatchLimits(moto_url).client_for)
    slow_report = await slow_run

    assert not fast_report.skipped and fast_report.stored == 24
    assert slow_report.lost and slow_report.stored == 0
    assert "taken over" in slow_report.summary()
    runs = await metrics.runs(project, gen_epoch())
    assert [r.instance_id for r in runs] == ["monitor-fast"]
    with pytest.raises(LeaseLost):  # and the store itself refuses the old token
        await metrics.write(project, runs[0].fence - 1, {})


async def _no_renewal(*_args: Any) -> None:
    await asyncio.Event().wait()


def gen_epoch() -> Any:
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC)


async def test_the_lock_hands_out_growing_tokens(redis, prefix) -> None:
    lock = ProjectLock(redis, prefix, ttl_ms=60_000)
    first = await lock.acquire("p", "a")
    assert first is not None and await lock.acquire("p", "b") is None
    assert await lock.renew("p", "a", first) and not await lock.renew("p", "b", first)
    assert not await lock.release("p", "b", first) and await lock.release("p", "a", first)
    second = await lock.acquire("p", "b")
    assert second is not None and second > first


async def test_the_store_refuses_an_older_token(metrics: MetricsStore, project: str) -> None:
    await metrics.register_fence(project, 7)
    await metrics.write(project, 7, {})
    with pytest.raises(LeaseLost):
        await metrics.write(project, 6, {})
    with pytest.raises(LeaseLost):
        await metrics.register_fence(project, 5)
