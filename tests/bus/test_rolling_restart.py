"""A rolling update of the workers, as Kubernetes does it: a new worker starts, then an old one
gets SIGTERM, one after the other, while requests keep coming.

A worker told to stop finishes the requests in hand and gives its partitions back: nothing is
lost, nothing is done twice, order holds in every conversation, each stopped worker exits within
its grace period, and no request needed a second delivery (that would be a crash's way).
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from core.bus import EventLog, Keys, Submitter
from tests.bus.test_crash_recovery import (
    CONVERSATIONS,
    PARTITIONS,
    PER_CONVERSATION,
    assert_exactly_once_in_order,
    effects_done,
    start_worker,
    submit_all,
    wait_all_answered,
)

pytestmark = pytest.mark.serial  # lease timings: run alone, after the parallel part


LEASE_MS = 2000


@pytest.mark.slow
async def test_rolling_restart_with_sigterm_loses_nothing_repeats_nothing(redis, redis_url, prefix):
    keys = Keys(prefix, partitions=PARTITIONS)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    events = EventLog(redis, keys)
    conversations = [f"roll-{i:02d}" for i in range(CONVERSATIONS)]
    # a lease of 2 s: a new worker's start (seconds of imports on a core) must not starve the
    # others past their lease, which would redeliver as a crash does
    workers = [start_worker(redis_url, prefix, LEASE_MS) for _ in range(3)]
    exits: list[tuple[int, float]] = []
    try:
        submitting = asyncio.create_task(submit_all(submitter, conversations, pause=0.01))
        total = CONVERSATIONS * PER_CONVERSATION
        for step in range(1, 4):
            while await effects_done(redis, prefix, conversations) < step * total // 5:
                await asyncio.sleep(0.01)
            workers.append(start_worker(redis_url, prefix, LEASE_MS))  # surge first, then stop an old one
            old = workers.pop(0)
            started = time.monotonic()
            old.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(old.wait, 15)
            exits.append((code, time.monotonic() - started))
        await submitting
        await wait_all_answered(events, conversations, timeout=60)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=15)
    assert [code for code, _ in exits] == [0, 0, 0]
    # the test workers' grace period is one lease; the exit includes handing back
    assert all(took < 5 for _, took in exits), exits
    await assert_exactly_once_in_order(redis, prefix, events, conversations)
    attempts = [int(await redis.hget(k, "attempts") or 0)
                async for k in redis.scan_iter(match=f"{prefix}:req:*", count=1000)]
    assert len(attempts) == CONVERSATIONS * PER_CONVERSATION
    assert sum(a > 1 for a in attempts) == 0, "a stopped worker's request was delivered again"
