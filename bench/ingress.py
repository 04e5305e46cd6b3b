"""Ingress throughput and latency, against a raw redis-py baseline measured in the same run.

    .venv/bin/python bench/ingress.py [--n 20000] [--batch 1 100] [--conversations 100]

Prints, for one process on its own redis-server:
* submit: accepted requests/s with BATCH submissions in flight, and p50/p99 latency of one submit;
* pipeline: requests/s through submit -> Worker (leases, lanes, effect-once records, batched acks)
  with a handler that does nothing, and with one that sends one reply event;
* raw: XADD (pipelined by BATCH) + XREADGROUP COUNT BATCH + XACK with redis-py, the same number
  of messages; and the ratio pipeline / raw.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from core.bus import EventLog, Keys, Submitter, Worker
from core.envelope import Envelope
from core.redis_client import make_redis
from core.redis_server import EmbeddedRedis


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def raw(redis, n: int, batch: int) -> float:
    stream, group = f"raw:{secrets.token_hex(4)}", "g"
    await redis.xgroup_create(stream, group, id="0", mkstream=True)
    body = Envelope(conversation_id="c", source="cli", user="u", text="x" * 64).model_dump_json()

    async def produce() -> None:
        for start in range(0, n, batch):
            async with redis.pipeline(transaction=False) as pipe:
                for _ in range(min(batch, n - start)):
                    pipe.xadd(stream, {"conversation_id": "c", "body": body})
                await pipe.execute()

    async def consume() -> None:
        seen = 0
        while seen < n:
            reply = await redis.xreadgroup(group, "c1", {stream: ">"}, count=batch, block=1000)
            for _, entries in reply or []:
                ids = [i for i, _ in entries]
                await redis.xack(stream, group, *ids)
                seen += len(ids)

    t0 = time.perf_counter()
    await asyncio.gather(produce(), consume())
    elapsed = time.perf_counter() - t0
    await redis.delete(stream)
    return n / elapsed


async def submit_latency(submitter: Submitter, n: int) -> list[float]:
    latencies = []
    for i in range(n):
        env = Envelope(conversation_id=f"lat-{i % 50}", source="cli", user="u", text="x" * 64)
        t0 = time.perf_counter()
        await submitter.submit(env)
        latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


async def pipeline(redis, n: int, batch: int, conversations: int, reply: bool) -> tuple[float, float]:
    keys = Keys(f"bench{secrets.token_hex(3)}", partitions=16)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    done = asyncio.Event()
    count = 0

    async def handler(ctx) -> None:
        nonlocal count
        if reply:
            await ctx.emit("done", "ok")
        count += 1
        if count >= n:
            done.set()

    worker = Worker(redis, keys, handler, EventLog(redis, keys), batch=batch,
                    concurrency=max(batch, 64), lease_ttl_ms=5000)
    stop = asyncio.Event()
    runner = asyncio.create_task(worker.run(stop))
    while len(worker.partitions) < keys.partitions or not all(
        p.active for p in worker.partitions.values()
    ):
        await asyncio.sleep(0.01)

    async def produce() -> float:
        t0 = time.perf_counter()
        in_flight = asyncio.Semaphore(batch)

        async def one(i: int) -> None:
            async with in_flight:
                await submitter.submit(Envelope(conversation_id=f"c{i % conversations}",
                                                source="cli", user="u", text="x" * 64))

        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    accepted_rate = await produce()
    await done.wait()
    end_to_end = n / (time.perf_counter() - t0)
    stop.set()
    await runner
    keys_left = [k async for k in redis.scan_iter(match=f"{keys.prefix}:*", count=5000)]
    for i in range(0, len(keys_left), 5000):
        await redis.delete(*keys_left[i:i + 5000])
    return accepted_rate, end_to_end


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--conversations", type=int, default=100)
    args = parser.parse_args()
    try:
        import hiredis  # noqa: F401
        parser_name = "hiredis"
    except ImportError:
        parser_name = "python"
    loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp)).start()
        redis = make_redis(server.url, max_connections=512)
        try:
            print(f"redis-py parser: {parser_name}; event loop: {loop_name}; n={args.n}; "
                  f"{args.conversations} conversations; AOF everysec")
            lat = await submit_latency(Submitter(redis, Keys(f"lat{secrets.token_hex(3)}")), 2000)
            print(f"submit latency (one at a time, 2000): p50 {statistics.median(lat):.3f} ms, "
                  f"p99 {pct(lat, 0.99):.3f} ms")
            for batch in args.batch:
                n = args.n if batch > 1 else min(args.n, 5000)
                base = await raw(redis, n, batch)
                accepted, plain = await pipeline(redis, n, batch, args.conversations, reply=False)
                _, replied = await pipeline(redis, n, batch, args.conversations, reply=True)
                print(f"batch {batch:>3}: raw XADD+XREADGROUP+XACK {base:>9,.0f} msg/s | "
                      f"submit accepted {accepted:>8,.0f} req/s | pipeline {plain:>8,.0f} req/s "
                      f"(ratio {plain / base:.2f}) | with one reply event {replied:>8,.0f} req/s "
                      f"(ratio {replied / base:.2f})")
        finally:
            await redis.aclose()
            server.stop()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
