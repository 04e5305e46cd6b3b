"""A lease lost to slowness is not a failed delivery.

The handler blocks the event loop (CPU-bound work done wrong) for longer than the lease, so the
lease expires mid-request and the fenced reply is refused. With ARCHOPS_MAX_DELIVERIES=1 a
delivery counted for that would dead-letter the request; instead the worker takes its lease back
(nobody else took it), forgives the cut-short delivery, runs the request again and replies once.
"""

from __future__ import annotations

import asyncio
import time

from core.bus import EventLog, Keys, Submitter, Worker
from core.envelope import Envelope


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
