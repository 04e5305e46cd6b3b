"""A lease lost to slowness is not a failed delivery.

The handler blocks the event loop (CPU-bound work done wrong) for longer than the lease, so the
lease expires mid-request and the fenced reply is refused. With ARCHOPS_MAX_DELIVERIES=1 a
delivery counted for that would dead-letter the request; instead the worker takes its lease back
(nobody else took it), forgives the cut-short delivery, runs the request again and replies once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.bus import EventLog, Keys, Submitter, Worker
from core.envelope import Envelope

WORKER = Path(__file__).with_name("worker_process.py")


async def test_a_stalled_worker_takes_its_lease_back_and_the_request_is_not_dead_lettered(
    redis, prefix
):
    keys = Keys(prefix, partitions=1)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    first = await submitter.submit(Envelope(conversation_id="c1", source="cli", user="u",
                                            text="slow one"))
    second = await submitter.submit(Envelope(conversation_id="c1", source="cli", user="u",
                                             text="next"))
    runs: list[str] = []

    async def handler(ctx):
        runs.append(ctx.envelope.text)
        await ctx.emit("status", "working")
        if ctx.envelope.text == "slow one" and runs.count("slow one") == 1:
            time.sleep(0.9)  # noqa: ASYNC251 - on purpose: the loop stalls past the 300 ms lease
        await ctx.emit("done", f"reply to {ctx.envelope.text}")

    events = EventLog(redis, keys)
    worker = Worker(redis, keys, handler, events, lease_ttl_ms=300, max_deliveries=1,
                    retry_backoff_s=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(20):
            while sum(e.type == "done" for e in await events.read("c1")) < 2:
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task
    seen = await events.read("c1")
    done = [e for e in seen if e.type == "done"]
    assert [e.request_id for e in done] == [first.request_id, second.request_id]  # in order, once
    assert not [e for e in seen if e.type == "error"]
    assert await redis.xlen(keys.dead) == 0
    assert runs.count("slow one") == 2  # ran again after the stall, not counted as a failure
    assert worker.leases_revived >= 1 and worker.max_heartbeat_gap_s > 0.8
    assert await redis.hget(keys.request(first.request_id), "status") == "done"


async def test_a_stalled_worker_whose_partition_another_worker_took_costs_no_delivery(
    redis, redis_url, prefix
):
    """Worker A stalls past its lease with the request; worker B takes the partition and sees a
    second delivery; A forgives its own when it wakes, so B runs the request instead of
    dead-lettering it (one delivery allowed), and the effect happens once."""
    keys = Keys(prefix, partitions=1)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    # this checkout's code, whatever the environment has installed
    env = {**os.environ, "ARCHOPS_MAX_DELIVERIES": "1", "PYTHONPATH": str(WORKER.parents[2])}
    command = [sys.executable, str(WORKER), redis_url, prefix, "1"]
    a = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,  # noqa: ASYNC220
                         stderr=subprocess.DEVNULL)
    b = None
    try:
        async with asyncio.timeout(20):
            while not await redis.exists(keys.lease(0)):
                await asyncio.sleep(0.02)
            slow = await submitter.submit(Envelope(conversation_id="c1", source="cli", user="u",
                                                   text="block:2.0"))
            after = await submitter.submit(Envelope(conversation_id="c1", source="cli", user="u",
                                                    text="after"))
            while not await redis.exists(f"{prefix}:blocked:block:2.0"):
                await asyncio.sleep(0.01)
            b = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,  # noqa: ASYNC220
                                 stderr=subprocess.DEVNULL)
            events = EventLog(redis, keys)
            while sum(e.type == "done" for e in await events.read("c1")) < 2:
                await asyncio.sleep(0.05)
    finally:
        for process in (a, b):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=10)
    done = [e.request_id for e in await events.read("c1") if e.type == "done"]
    assert done == [slow.request_id, after.request_id]
    assert await redis.xlen(keys.dead) == 0
    assert await redis.lrange(f"{prefix}:effects:c1", 0, -1) == ["block:2.0", "after"]
