"""Load is held, not dropped: bursts on one real worker process (`archops worker`).

The worker runs with a short lease (1 s: a stall of ~0.7 s would lose it) and
ARCHOPS_MAX_DELIVERIES=1, so a single delivery counted twice (a lease lost to slowness taken for
a failure) would dead-letter its request. Every request must finish, in order per conversation,
and every request beyond the admission limits must have been told its place in the queue.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest

from core.bus import Keys
from core.redis_client import make_redis
from tests.bus.burst import Burst, WorkerProcess, plan_requests, run_burst, wait_ready

pytestmark = pytest.mark.serial  # lease timings: run alone, after the parallel part

PARTITIONS = 8
ADMIT_TOTAL, ADMIT_PER_USER = 12, 2  # small, so that a small burst goes well beyond both
FAST_CHECKS = "parse,references,policy,cost"  # the review's own checks, checkov and schema aside


async def burst_on_one_worker(redis_url: str, tmp_path: Path, checks: str | None,
                              shape: tuple[int, int, int]) -> tuple[Burst, WorkerProcess, int]:
    prefix = f"t{secrets.token_hex(4)}"
    keys = Keys(prefix, partitions=PARTITIONS)
    worker = WorkerProcess(redis_url, prefix, tmp_path / "data", checks=checks,
                           partitions=PARTITIONS, extra_env={
                               "ARCHOPS_LEASE_TTL_MS": "1000", "ARCHOPS_MAX_DELIVERIES": "1",
                               "ARCHOPS_ADMIT_TOTAL": str(ADMIT_TOTAL),
                               "ARCHOPS_ADMIT_PER_USER": str(ADMIT_PER_USER)})
    redis = make_redis(redis_url)
    try:
        await wait_ready(redis, keys, worker)
        burst = await run_burst(redis_url, prefix, plan_requests(*shape, tag="b"),
                                partitions=PARTITIONS, timeout=150,
                                admit_total=ADMIT_TOTAL, admit_per_user=ADMIT_PER_USER)
        dead = int(await redis.xlen(keys.dead))
        for _ in range(100):  # acknowledgements are batched just after the reply
            if not await redis.zcard(keys.queue):
                break
            await asyncio.sleep(0.05)
        assert await redis.zcard(keys.queue) == 0  # every finished request left the queue
    finally:
        worker.stop()
        await redis.aclose()
    return burst, worker, dead


def assert_held(burst: Burst, dead: int, worker: WorkerProcess) -> None:
    log = worker.log_path.read_text()[-3000:]
    assert dead == 0 and burst.dead == 0, log
    assert burst.never_finished == [], log
    assert burst.finished == burst.requests
    assert burst.out_of_order == []
    # all arrived at once: whatever was beyond the limits was told "busy, queued as #N"
    assert burst.told >= burst.requests - ADMIT_TOTAL
    assert worker.count("worker task failed") == 0 and worker.count("request failed") == 0


@pytest.mark.slow
async def test_24_requests_from_6_users_at_once_with_the_fast_checks(redis_url, tmp_path):
    # beyond both limits: 24 > ADMIT_TOTAL in all, 4 > ADMIT_PER_USER for each user
    burst, worker, dead = await burst_on_one_worker(redis_url, tmp_path, FAST_CHECKS, (6, 2, 2))
    assert burst.requests == 24
    assert_held(burst, dead, worker)


@pytest.mark.slow
async def test_4_requests_at_once_with_the_full_review(redis_url, tmp_path):
    """Terraform's plan and checkov hold the worker's CPU for seconds per request: the lease
    still holds (bench/ measures throughput; this holds the property)."""
    burst, worker, dead = await burst_on_one_worker(redis_url, tmp_path, None, (4, 1, 1))
    assert burst.requests == 4
    assert_held(burst, dead, worker)
