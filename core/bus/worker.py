"""The ingress consumer: partitions owned by lease, conversations in order, requests once.

How the three guarantees are kept:

* **Nothing accepted is lost.** A worker owns a partition through a lease (a Redis key with a TTL
  it renews). When a worker dies, its leases expire after ``lease_ttl_ms`` (the visibility
  timeout); another worker takes the partition and first claims every pending entry of it with
  ``XAUTOCLAIM``, then reads new ones. An entry is acknowledged only after its request finished.
* **Order per conversation.** A conversation always maps to one partition; one worker owns a
  partition at a time; inside the worker a conversation's requests run one after another in a
  lane, while different conversations run concurrently.
* **Effect once.** Each request carries a status and a record of its events and effects; a
  redelivered request skips what is recorded. Every write is fenced by the lease token, so a
  worker that lost its lease cannot reply, record or acknowledge anything.

A request that fails (an exception, or a crash on every delivery) ``max_deliveries`` times is
moved to the dead-letter stream and the user is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
import zlib
from collections import deque
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from core.bus import scripts
from core.bus.autopipe import Coalescer, autopipe
from core.bus.context import DeliveryContext, lease_errors
from core.bus.egress import EventLog
from core.bus.keys import GROUP, Keys
from core.context import Handler
from core.envelope import Envelope
from core.errors import LeaseLost, MalformedEnvelope
from core.events import Event
from core.logging import bind_ids, get_logger
from core.redis_client import RETRYABLE

log = get_logger("archops.worker")
REQUEST_TTL_S = 7 * 24 * 3600


@dataclass
class Delivery:
    partition: int
    entry_id: str
    fields: dict[str, str]


@dataclass
class Partition:
    number: int
    token: str
    active: bool = False  # pending entries claimed; new entries may be read
    draining: bool = False  # being given back: read nothing new
    inflight: int = 0
    acks: list[tuple[str, str, str]] = field(default_factory=list)  # (request key, entry, status)
    flushing: asyncio.Task[None] | None = None
    begin: Coalescer | None = None  # BEGIN for every request of this partition starting this turn


class Worker:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        handler: Handler,
        events: EventLog,
        *,
        consumer: str | None = None,
        lease_ttl_ms: int = 5000,
        max_deliveries: int = 3,
        concurrency: int = 64,
        batch: int = 100,
        retry_backoff_s: float = 0.2,
        trim_interval_s: float = 30.0,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.handler = handler
        self.events = events
        self.consumer = consumer or f"w-{secrets.token_hex(4)}"
        self.lease_ttl_ms = lease_ttl_ms
        self.max_deliveries = max_deliveries
        self.batch = batch
        self.retry_backoff_s = retry_backoff_s
        self.capacity = asyncio.Semaphore(concurrency)
        self.partitions: dict[int, Partition] = {}
        self.lanes: dict[str, deque[Delivery]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        pipe = autopipe(redis)
        self._begin = pipe.script(scripts.BEGIN)
        self._finish = pipe.script(scripts.FINISH)
        self._renew = pipe.script(scripts.RENEW)
        self._release = pipe.script(scripts.RELEASE)
        self._record = pipe.script(scripts.RECORD)
        self.processed = 0
        self.trim_interval_s = trim_interval_s
        self._last_trim = time.monotonic()

    # -- life cycle ------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then finish in-flight requests and give partitions back."""
        log.info("worker started", consumer=self.consumer)
        reader = asyncio.create_task(self._read_loop(stop))
        try:
            while not stop.is_set():
                try:
                    await self._heartbeat()
                except RETRYABLE as exc:
                    log.warning("redis unavailable; retrying", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.lease_ttl_ms / 3000)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await self._shutdown()
        log.info("worker stopped", consumer=self.consumer, processed=self.processed)

    async def _shutdown(self) -> None:
        for part in self.partitions.values():
            part.draining = True
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=self.lease_ttl_ms / 1000)
        for part in list(self.partitions.values()):
            with contextlib.suppress(*RETRYABLE, ResponseError):
                await self._flush(part)
                await self._release(keys=[self.keys.lease(part.number)], args=[part.token])
        with contextlib.suppress(*RETRYABLE):
            await self.redis.zrem(self.keys.workers, self.consumer)
        self.partitions.clear()

    # -- leases ----------------------------------------------------------------------------
    async def _heartbeat(self) -> None:
        now = int(time.time() * 1000)
        await self.redis.zadd(self.keys.workers, {self.consumer: now})
        await self.redis.zremrangebyscore(self.keys.workers, "-inf", now - self.lease_ttl_ms)
        live = max(1, await self.redis.zcard(self.keys.workers))
        target = math.ceil(self.keys.partitions / live)
        for part in list(self.partitions.values()):
            renewed = await self._renew(
                keys=[self.keys.lease(part.number)], args=[part.token, self.lease_ttl_ms]
            )
            if not int(renewed):
                log.warning("lease lost", partition=part.number)
                self.partitions.pop(part.number, None)
        owned = [p for p in self.partitions.values() if not p.draining]
        for part in owned[target:]:
            part.draining = True
            self._spawn(self._give_back(part))
        if len(owned) < target:
            await self._acquire(target - len(owned))
        for part in owned:
            if part.acks and (part.flushing is None or part.flushing.done()):
                part.flushing = asyncio.create_task(self._flush_soon(part))
        if time.monotonic() - self._last_trim >= self.trim_interval_s:
            self._last_trim = time.monotonic()
            for part in owned:
                if part.active:
                    await self.trim(part.number)

    async def trim(self, number: int) -> int:
        """Drop acknowledged entries of a partition stream, never a pending one.

        ``MAXLEN`` would silently drop entries still pending (see FIELD-NOTES); this trims by
        ``MINID`` up to the oldest pending entry, or the last delivered one when none is pending.
        """
        stream = self.keys.ingress(number)
        groups = {str(g["name"]): g for g in await self.redis.xinfo_groups(stream)}
        group = groups.get(GROUP)
        if group is None or len(groups) > 1:
            return 0  # another group may not have read what we acked
        summary = await self.redis.xpending(stream, GROUP)
        cutoff = summary["min"] if summary["pending"] else group["last-delivered-id"]
        if not cutoff or str(cutoff) == "0-0":
            return 0
        return int(await self.redis.xtrim(stream, minid=str(cutoff), approximate=False))

    async def _acquire(self, wanted: int) -> None:
        start = zlib.crc32(self.consumer.encode()) % self.keys.partitions
        for i in range(self.keys.partitions):
            if wanted <= 0:
                return
            number = (start + i) % self.keys.partitions
            if number in self.partitions:
                continue
            token = f"{self.consumer}:{secrets.token_hex(4)}"
            if await self.redis.set(self.keys.lease(number), token, nx=True, px=self.lease_ttl_ms):
                part = Partition(number, token)
                self.partitions[number] = part
                wanted -= 1
                self._spawn(self._claim_pending(part))

    async def _give_back(self, part: Partition) -> None:
        while part.inflight:
            await asyncio.sleep(0.01)
        await self._flush(part)
        await self._release(keys=[self.keys.lease(part.number)], args=[part.token])
        if self.partitions.get(part.number) is part:
            del self.partitions[part.number]
        log.info("partition given back", partition=part.number)

    async def _claim_pending(self, part: Partition) -> None:
        """Take over what the previous owner left unacknowledged, oldest first."""
        while self.partitions.get(part.number) is part:
            try:
                return await self._claim_once(part)
            except RETRYABLE as exc:
                log.warning("claim failed; retrying", partition=part.number, error=str(exc))
                await asyncio.sleep(0.2)

    async def _claim_once(self, part: Partition) -> None:
        stream, cursor, claimed = self.keys.ingress(part.number), "0-0", 0
        with contextlib.suppress(ResponseError):
            await self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        while True:
            reply = await self.redis.xautoclaim(
                stream, GROUP, self.consumer, min_idle_time=0, start_id=cursor, count=self.batch
            )
            cursor, entries = reply[0], reply[1]
            entries = [(i, f) for i, f in entries if f is not None]
            if entries:
                claimed += len(entries)
                await self._dispatch(part, entries)
            if cursor in ("0-0", b"0-0"):
                break
        part.active = True
        if claimed:
            log.info("claimed pending requests", partition=part.number, count=claimed)

    # -- reading and dispatching -------------------------------------------------------------
    async def _read_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            readable = {
                self.keys.ingress(p.number): ">"
                for p in self.partitions.values()
                if p.active and not p.draining
            }
            if not readable:
                await asyncio.sleep(0.05)
                continue
            free = self.capacity._value  # noqa: SLF001 - bounded read-ahead
            if free <= 0:
                await asyncio.sleep(0.005)
                continue
            try:
                reply = await self.redis.xreadgroup(
                    GROUP, self.consumer, readable, count=min(self.batch, free), block=100
                )
            except RETRYABLE as exc:
                log.warning("read failed; retrying", error=str(exc))
                await asyncio.sleep(0.2)
                continue
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                for part in self.partitions.values():
                    part.active = False
                    self._spawn(self._claim_pending(part))
                continue
            for stream, entries in reply or []:
                number = int(str(stream).rsplit(":", 1)[1])
                part = self.partitions.get(number)
                if part is not None and entries:
                    await self._dispatch(part, entries)

    async def _dispatch(self, part: Partition, entries: list[tuple[str, dict[str, str]]]) -> None:
        deliveries = [Delivery(part.number, entry_id, fields) for entry_id, fields in entries]
        for delivery in deliveries:
            await self.capacity.acquire()
            part.inflight += 1
            conversation = delivery.fields.get("conversation_id") or f"?{delivery.entry_id}"
            lane = self.lanes.get(conversation)
            if lane is None:
                self.lanes[conversation] = deque([delivery])
                self._spawn(self._run_lane(conversation))
            else:
                lane.append(delivery)

    async def _run_lane(self, conversation: str) -> None:
        lane = self.lanes[conversation]
        try:
            while lane:
                delivery = lane[0]
                part = self.partitions.get(delivery.partition)
                try:
                    if part is not None:
                        await self._process(part, delivery)
                finally:
                    lane.popleft()
                    self.capacity.release()
                    if part is not None:
                        part.inflight -= 1
        except LeaseLost:
            log.warning("lease lost while processing; another worker takes over")
            while lane:
                lane.popleft()
                self.capacity.release()
        finally:
            self.lanes.pop(conversation, None)

    # -- one request ---------------------------------------------------------------------------
    async def _process(self, part: Partition, delivery: Delivery) -> None:
        try:
            envelope = Envelope.from_fields(delivery.fields)
        except MalformedEnvelope as exc:
            log.error("malformed envelope rejected", entry=delivery.entry_id, reason=exc.message)
            await self._dead_letter(part, delivery, None, exc.message)
            return
        request_key = self.keys.request(envelope.request_id)
        while True:
            attempts, status = await self._begin_one(part, request_key)
            if status in ("done", "dead"):
                self._ack(part, "", delivery.entry_id, status)
                return
            if attempts > self.max_deliveries:
                await self._dead_letter(
                    part, delivery, envelope, f"failed {attempts - 1} times; giving up"
                )
                return
            ctx = DeliveryContext(
                envelope, attempts, redis=self.redis, keys=self.keys, events=self.events,
                lease=(self.keys.lease(part.number), part.token), record=self._record,
            )
            with bind_ids(
                request_id=envelope.request_id, conversation_id=envelope.conversation_id
            ):
                try:
                    await self.handler(ctx)
                except (LeaseLost, asyncio.CancelledError):
                    raise
                except Exception as exc:  # noqa: BLE001 - a handler's failure must not kill us
                    log.exception("request failed", attempt=attempts, error=str(exc))
                    await asyncio.sleep(self.retry_backoff_s * attempts)
                    continue
            self.processed += 1
            self._ack(part, request_key, delivery.entry_id, "done")
            return

    async def _begin_one(self, part: Partition, request_key: str) -> tuple[int, str]:
        if part.begin is None:
            part.begin = Coalescer(lambda keys: self._begin_many(part, keys))
        return await part.begin(request_key)  # type: ignore[no-any-return]

    async def _begin_many(self, part: Partition, request_keys: list[str]) -> list[tuple[int, str]]:
        try:
            reply = await self._begin(
                keys=[self.keys.lease(part.number)], args=[part.token, REQUEST_TTL_S, *request_keys]
            )
        except ResponseError as exc:
            raise (lease_errors(exc) or exc) from exc
        return [(int(reply[i]), str(reply[i + 1])) for i in range(0, len(reply), 2)]

    async def _dead_letter(
        self, part: Partition, delivery: Delivery, envelope: Envelope | None, reason: str
    ) -> None:
        await self.redis.xadd(
            self.keys.dead,
            {
                "reason": reason,
                "partition": str(part.number),
                "entry_id": delivery.entry_id,
                "conversation_id": delivery.fields.get("conversation_id", ""),
                "request_id": envelope.request_id if envelope else delivery.fields.get("request_id", ""),
                "body": delivery.fields.get("body", "")[:20_000],
            },
        )
        request_key = ""
        if envelope is not None:
            request_key = self.keys.request(envelope.request_id)
            await self.events.append(
                Event(
                    type="error",
                    conversation_id=envelope.conversation_id,
                    request_id=envelope.request_id,
                    text="archops could not process this request and has set it aside for an "
                    "operator to look at. Try again, or rephrase it.",
                    data={"reason": reason, "dead_letter": True},
                ),
                lease=(self.keys.lease(part.number), part.token),
                once_field="ev:dead",
            )
        log.warning("request dead-lettered", reason=reason, entry=delivery.entry_id)
        self._ack(part, request_key, delivery.entry_id, "dead")

    # -- acknowledgements, batched ------------------------------------------------------------
    def _ack(self, part: Partition, request_key: str, entry_id: str, status: str) -> None:
        part.acks.append((request_key, entry_id, status))
        if part.flushing is None or part.flushing.done():
            part.flushing = asyncio.create_task(self._flush_soon(part))

    async def _flush_soon(self, part: Partition) -> None:
        await asyncio.sleep(0)
        await self._flush(part)

    async def _flush(self, part: Partition) -> None:
        while part.acks:
            batch, part.acks = part.acks, []
            by_status: dict[str, list[str]] = {}
            for request_key, entry_id, status in batch:
                by_status.setdefault(status, []).extend([request_key, entry_id])
            for status, pairs in by_status.items():
                try:
                    await self._finish(
                        keys=[self.keys.lease(part.number), self.keys.ingress(part.number)],
                        args=[part.token, GROUP, status, *pairs],
                    )
                except ResponseError as exc:
                    if lease_errors(exc):
                        log.warning("lease lost before acknowledging", partition=part.number)
                        return
                    raise
                except RETRYABLE:
                    part.acks = batch + part.acks  # keep them; retried on the next flush
                    await asyncio.sleep(0.1)
                    return

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)  # type: ignore[arg-type]
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("worker task failed", error=repr(task.exception()))
