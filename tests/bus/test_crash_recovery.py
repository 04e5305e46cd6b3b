"""The ingress guarantees under crashes, against a real redis-server.

4 worker processes, 1,000 requests in 50 conversations, 3 workers killed with SIGKILL while they
work: nothing is lost, no effect happens twice, every conversation is answered in order.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.bus import EventLog, Keys, Submitter
from core.envelope import Envelope
from core.redis_client import make_redis
from core.redis_server import EmbeddedRedis

pytestmark = pytest.mark.serial  # lease timings: run alone, after the parallel part

WORKER = Path(__file__).with_name("worker_process.py")
CONVERSATIONS, PER_CONVERSATION, PARTITIONS = 50, 20, 8


def start_worker(url: str, prefix: str, lease_ms: int = 800) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, prefix, str(PARTITIONS)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(WORKER.parents[2]),  # this checkout's code
             "ARCHOPS_LEASE_TTL_MS": str(lease_ms)},
    )


async def submit_all(submitter: Submitter, conversations: list[str], pause: float = 0.0) -> None:
    """Submit each conversation's requests in order; conversations interleave."""
    async def one(conversation: str) -> None:
        for seq in range(PER_CONVERSATION):
            env = Envelope(conversation_id=conversation, source="cli", user="u",
                           text=f"{seq:03d}", idempotency_key=f"{conversation}-{seq}")
            while True:
                try:
                    await submitter.submit(env)
                    break
                except Exception:  # noqa: BLE001 - Redis restarting: the client retries
                    await asyncio.sleep(0.1)
            if pause:
                await asyncio.sleep(pause)

    await asyncio.gather(*(one(c) for c in conversations))


async def effects_done(redis, prefix: str, conversations: list[str]) -> int:
    async with redis.pipeline(transaction=False) as pipe:
        for c in conversations:
            pipe.llen(f"{prefix}:effects:{c}")
        return sum(await pipe.execute())


async def wait_all_answered(events: EventLog, conversations: list[str], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            done = 0
            for c in conversations:
                try:
                    done += sum(e.type == "done" for e in await events.read(c, count=10_000))
                except Exception:  # noqa: BLE001 - Redis restarting
                    pass
            if done >= len(conversations) * PER_CONVERSATION:
                return
            await asyncio.sleep(0.2)


async def assert_exactly_once_in_order(redis, prefix: str, events: EventLog,
                                       conversations: list[str]) -> None:
    expected = [f"{seq:03d}" for seq in range(PER_CONVERSATION)]
    for c in conversations:
        effects = await redis.lrange(f"{prefix}:effects:{c}", 0, -1)
        assert effects == expected, f"effects of {c}: {effects}"
        replies = [e.text for e in await events.read(c, count=10_000) if e.type == "done"]
        assert replies == [f"reply {s}" for s in expected], f"replies of {c}: {replies}"
    assert await redis.xlen(f"{prefix}:dead") == 0


@pytest.mark.slow
async def test_kill_9_workers_mid_request_loses_nothing_and_repeats_nothing(redis, redis_url,
                                                                            prefix):
    keys = Keys(prefix, partitions=PARTITIONS)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    events = EventLog(redis, keys)
    conversations = [f"conv-{i:02d}" for i in range(CONVERSATIONS)]
    workers = [start_worker(redis_url, prefix) for _ in range(4)]
    killed = 0
    try:
        submitting = asyncio.create_task(submit_all(submitter, conversations, pause=0.01))
        total = CONVERSATIONS * PER_CONVERSATION
        for threshold in (total // 5, total // 2, 3 * total // 4):
            # kill a worker while the work is in full swing: it is surely mid-request
            while await effects_done(redis, prefix, conversations) < threshold:
                await asyncio.sleep(0.01)
            victim = workers.pop(0)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            killed += 1
            workers.append(start_worker(redis_url, prefix))
        await submitting
        await wait_all_answered(events, conversations, timeout=60)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=15)
    assert killed == 3
    await assert_exactly_once_in_order(redis, prefix, events, conversations)
    # the kills did land mid-request: some requests were delivered again, to another worker
    attempts = [int(await redis.hget(k, "attempts") or 0)
                async for k in redis.scan_iter(match=f"{prefix}:req:*", count=1000)]
    assert len(attempts) == CONVERSATIONS * PER_CONVERSATION
    assert sum(a > 1 for a in attempts) >= 3


@pytest.mark.slow
async def test_redis_restart_mid_load_with_aof_loses_no_accepted_request(tmp_path, prefix):
    server = EmbeddedRedis(tmp_path / "redis").start()
    redis = make_redis(server.url, retries=20)
    keys = Keys(prefix, partitions=PARTITIONS)
    conversations = [f"conv-{i:02d}" for i in range(10)]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        submitter = Submitter(redis, keys)
        await submitter.ensure_groups()
        events = EventLog(redis, keys)
        workers = [start_worker(server.url, prefix) for _ in range(2)]
        submitting = asyncio.create_task(submit_all(submitter, conversations, pause=0.01))
        await asyncio.sleep(0.8)
        server.kill()  # kill -9 of redis-server, mid-load
        await asyncio.sleep(0.5)
        server.start()  # same port, same AOF
        await submitting
        await wait_all_answered(events, conversations, timeout=60)
        await assert_exactly_once_in_order(redis, prefix, events, conversations)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=15)
        await redis.aclose()
        server.stop()
