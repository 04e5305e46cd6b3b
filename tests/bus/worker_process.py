"""A worker process for the crash tests: `python worker_process.py REDIS_URL PREFIX PARTITIONS`.

Its handler stands in for real work: it waits (as on a model), performs one external effect
through ``ctx.once`` (appending the request's number to a list, as a commit would), and replies.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time

from core.bus import EventLog, Keys, Worker
from core.logging import configure_logging
from core.redis_client import make_redis


async def main(url: str, prefix: str, partitions: int) -> None:
    configure_logging("INFO", "json")  # to stderr
    redis = make_redis(url, retries=1)  # let Redis' absence reach the worker's own handling
    keys = Keys(prefix, partitions=partitions)

    async def handler(ctx):
        conversation, seq = ctx.envelope.conversation_id, ctx.envelope.text
        effects = f"{prefix}:effects:{conversation}"
        if seq.startswith("block:") and await redis.set(f"{prefix}:blocked:{seq}", 1, nx=True):
            time.sleep(float(seq.split(":")[1]))  # noqa: ASYNC251 - the loop stalls, once
        await ctx.emit("status", f"working on {seq}")
        await asyncio.sleep(random.uniform(0.005, 0.03))

        async def commit():
            await redis.rpush(effects, seq)
            return seq

        async def already_committed():
            return seq if await redis.lpos(effects, seq) is not None else None

        await ctx.once("commit", commit, reconcile=already_committed)
        await asyncio.sleep(random.uniform(0.005, 0.03))  # more work after the effect
        await ctx.emit("done", f"reply {seq}")

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    worker = Worker(redis, keys, handler, EventLog(redis, keys),
                    lease_ttl_ms=int(os.environ.get("ARCHOPS_LEASE_TTL_MS", "800")),
                    retry_backoff_s=0.05,
                    max_deliveries=int(os.environ.get("ARCHOPS_MAX_DELIVERIES", "3")))
    print("ready", flush=True)
    await worker.run(stop)
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
