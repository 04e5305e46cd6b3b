"""Accepting requests: once per idempotency key, bad input refused, malformed entries survived."""

from __future__ import annotations

import asyncio
import json

import pytest

from core.bus import EventLog, Keys, Submitter, Worker
from core.envelope import Envelope
from core.errors import MalformedEnvelope, ValidationError


def envelope(conversation: str, text: str, **kw: object) -> Envelope:
    return Envelope(conversation_id=conversation, source="cli", user="u1", text=text, **kw)


async def run_worker_until(worker: Worker, condition, timeout: float = 10.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while not await condition():
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task


async def test_duplicate_submission_is_accepted_once_and_replied_once(redis, prefix):
    keys = Keys(prefix, partitions=4)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    first = envelope("c1", "a static website", idempotency_key="slack-Ev123")
    retry = envelope("c1", "a static website", idempotency_key="slack-Ev123")
    a, b = await submitter.submit(first), await submitter.submit(retry)
    assert a.accepted and not b.accepted
    assert b.request_id == a.request_id  # the retry learns the original request
    assert await redis.xlen(keys.ingress(a.partition)) == 1

    calls: list[str] = []

    async def handler(ctx):
        calls.append(ctx.envelope.request_id)
        await ctx.emit("done", f"reply to {ctx.envelope.text}")

    events = EventLog(redis, keys)
    worker = Worker(redis, keys, handler, events, lease_ttl_ms=1000)

    async def replied():
        return any(e.type == "done" for e in await events.read("c1"))

    await run_worker_until(worker, replied)
    done = [e for e in await events.read("c1") if e.type == "done"]
    assert calls == [a.request_id]
    assert [e.text for e in done] == ["reply to a static website"]


async def test_empty_and_oversize_messages_are_refused_and_nothing_is_queued(redis, prefix):
    keys = Keys(prefix, partitions=2)
    submitter = Submitter(redis, keys, max_text_chars=100)
    await submitter.ensure_groups()
    with pytest.raises(ValidationError, match="empty"):
        await submitter.submit(envelope("c1", "   "))
    with pytest.raises(ValidationError, match="limit is 100"):
        await submitter.submit(envelope("c1", "x" * 101))
    assert sum([await redis.xlen(keys.ingress(p)) for p in range(2)]) == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"conversation_id": "c9"}, "no 'body'"),
        ({"conversation_id": "c9", "body": "{not json"}, "not JSON"),
        ({"conversation_id": "c9", "body": json.dumps({"version": 7})}, "version 7"),
        (
            {"conversation_id": "c9", "body": json.dumps({"version": 1, "conversation_id": "c9",
                                                          "source": "fax", "user": "u",
                                                          "text": "hi"})},
            "source",
        ),
        (
            {"conversation_id": "c9", "body": json.dumps({"version": 1, "conversation_id": "c9",
                                                          "source": "cli", "user": "u"})},
            "exactly one of text or action",
        ),
    ],
)
def test_malformed_entries_name_their_reason(fields, reason):
    with pytest.raises(MalformedEnvelope, match=reason):
        Envelope.from_fields(fields)


async def test_malformed_entry_is_dead_lettered_and_the_worker_goes_on(redis, prefix):
    keys = Keys(prefix, partitions=1)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    await redis.xadd(keys.ingress(0), {"conversation_id": "c1", "body": "{broken"})
    good = await submitter.submit(envelope("c1", "after the broken one"))
    handled: list[str] = []

    async def handler(ctx):
        handled.append(ctx.envelope.request_id)
        await ctx.emit("done", "ok")

    worker = Worker(redis, keys, handler, EventLog(redis, keys), lease_ttl_ms=1000)

    async def finished():
        return bool(handled) and await redis.xlen(keys.dead) == 1

    await run_worker_until(worker, finished)
    assert handled == [good.request_id]
    [(_, dead)] = await redis.xrange(keys.dead)
    assert "not JSON" in dead["reason"]
    pending = await redis.xpending(keys.ingress(0), "workers")
    assert pending["pending"] == 0


async def test_request_failing_every_time_goes_to_dead_letter_and_user_is_told(redis, prefix):
    keys = Keys(prefix, partitions=1)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    bad = await submitter.submit(envelope("c1", "explode"))
    after = await submitter.submit(envelope("c1", "next one"))
    attempts: list[int] = []

    async def handler(ctx):
        if ctx.envelope.text == "explode":
            attempts.append(ctx.attempt)
            raise RuntimeError("boom")
        await ctx.emit("done", "fine")

    events = EventLog(redis, keys)
    worker = Worker(redis, keys, handler, events, lease_ttl_ms=1000, max_deliveries=3,
                    retry_backoff_s=0.01)

    async def finished():
        return sum(e.type == "done" for e in await events.read("c1")) == 1

    await run_worker_until(worker, finished)
    assert attempts == [1, 2, 3]
    seen = await events.read("c1")
    error = next(e for e in seen if e.type == "error")
    assert error.request_id == bad.request_id and "set it aside" in error.text
    assert [e.request_id for e in seen if e.type == "done"] == [after.request_id]
    assert await redis.xlen(keys.dead) == 1


async def test_trim_never_drops_a_pending_entry(redis, prefix):
    keys = Keys(prefix, partitions=1)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    for i in range(10):
        await submitter.submit(envelope("c1", f"m{i}"))
    stream = keys.ingress(0)
    read = await redis.xreadgroup("workers", "ghost", {stream: ">"}, count=10)
    ids = [i for i, _ in read[0][1]]
    await redis.xack(stream, "workers", *ids[:3], *ids[5:])  # 3 and 4 stay pending

    async def handler(ctx):
        return None

    worker = Worker(redis, keys, handler, EventLog(redis, keys))
    removed = await worker.trim(0)
    remaining = [i for i, _ in await redis.xrange(stream)]
    assert removed == 3
    assert remaining[:2] == ids[3:5]  # the pending ones survive
    pending = await redis.xpending_range(stream, "workers", "-", "+", 10)
    assert [p["message_id"] for p in pending] == ids[3:5]
