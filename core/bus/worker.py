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
moved to the dead-letter stream and the user is told. A delivery cut short because this worker
lost the lease while alive (it was slow, not broken) does not count: it is forgiven
(:data:`core.bus.scripts.FORGIVE`). A lease that expired while no one else took it is taken
back at the next heartbeat (:data:`core.bus.scripts.RENEW`), so a stall costs no redelivery.

Admission: at most ``max_per_user`` requests of one user run at once (the others wait in their
lanes, in order); the Submitter tells a user whose request waits its place in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from core import metrics
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
from core.redaction import redact
from core.redis_client import RETRYABLE

log = get_logger("archops.worker")
REQUEST_TTL_S = 7 * 24 * 3600


@dataclass(eq=False)
class Partition:
    """One ownership of a partition: a lost and re-acquired partition is a new Partition."""

    number: int
    token: str
    active: bool = False  # pending entries claimed; new entries may be read
    draining: bool = False  # being given back: read nothing new
    inflight: set[str] = field(default_factory=set)  # entries dispatched to a lane, unfinished
    # (request key, entry, status, request id, user)
    acks: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    flushing: asyncio.Task[None] | None = None
    begin: Coalescer | None = None  # BEGIN for every request of this partition starting this turn


@dataclass(eq=False)
class Delivery:
    part: Partition  # the ownership it was delivered under
    entry_id: str
    fields: dict[str, str]
    begun: bool = False  # BEGIN counted this delivery (so a lease loss must forgive it)


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
        max_per_user: int | None = None,
        shutdown_grace_s: float | None = None,
    ) -> None:
        self.redis = redis
        # how long a stopping worker lets the requests in hand finish (default: one lease)
        self.shutdown_grace_s = lease_ttl_ms / 1000 if shutdown_grace_s is None else shutdown_grace_s
        self.keys = keys
        self.handler = handler
        self.events = events
        self.consumer = consumer or f"w-{secrets.token_hex(4)}"
        self.lease_ttl_ms = lease_ttl_ms
        self.max_deliveries = max_deliveries
        self.batch = batch
        self.retry_backoff_s = retry_backoff_s
        self.capacity = asyncio.Semaphore(concurrency)
        self.max_per_user = max_per_user
        self._users: dict[str, asyncio.Semaphore] = {}
        self.partitions: dict[int, Partition] = {}
        self.lanes: dict[str, deque[Delivery]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        pipe = autopipe(redis)
        self._begin = pipe.script(scripts.BEGIN)
        self._finish = pipe.script(scripts.FINISH)
        self._renew = pipe.script(scripts.RENEW)
        self._release = pipe.script(scripts.RELEASE)
        self._record = pipe.script(scripts.RECORD)
        self._acquire_lease = pipe.script(scripts.ACQUIRE)
        self._forgive = pipe.script(scripts.FORGIVE)
        self.processed = 0
        self.leases_lost = 0
        self.leases_revived = 0
        self.max_heartbeat_gap_s = 0.0  # the longest time between two heartbeats (loop stalls)
        self.last_heartbeat = time.monotonic()  # when a heartbeat last reached Redis
        self.stopping = False
        self.trim_interval_s = trim_interval_s
        self._last_trim = time.monotonic()

    # -- life cycle ------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then finish in-flight requests and give partitions back."""
        log.info("worker started", consumer=self.consumer)
        reader = asyncio.create_task(self._read_loop(stop))
        last = time.monotonic()
        try:
            while not stop.is_set():
                now = time.monotonic()
                self.max_heartbeat_gap_s = max(self.max_heartbeat_gap_s, now - last)
                last = now
                try:
                    await self._heartbeat()
                    self.last_heartbeat = time.monotonic()
                except RETRYABLE as exc:
                    log.warning("redis unavailable; retrying", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.lease_ttl_ms / 3000)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await self._shutdown()
        log.info("worker stopped", consumer=self.consumer, processed=self.processed,
                 leases_lost=self.leases_lost, leases_revived=self.leases_revived,
                 max_heartbeat_gap_ms=round(self.max_heartbeat_gap_s * 1000))

    async def _shutdown(self) -> None:
        """Stop taking requests, let those in hand finish within the grace period while the
        leases stay renewed, then give every partition back. A request still running then is
        handed back: its entry stays pending and the next owner reclaims it, recognising what
        was already emitted or done, so nothing is lost or repeated."""
        self.stopping = True
        for part in self.partitions.values():
            part.draining = True
        deadline = time.monotonic() + self.shutdown_grace_s
        while self.tasks and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(self.tasks, timeout=min(left, self.lease_ttl_ms / 3000))
            for part in list(self.partitions.values()):
                with contextlib.suppress(*RETRYABLE, ResponseError):
                    if not int(await self._renew(
                        keys=self._lease_keys(part.number), args=[part.token, self.lease_ttl_ms]
                    )):
                        self._drop(part)
        if self.tasks:
            log.warning("requests still running at the end of the grace period: handed back",
                        running=len(self.tasks))
        for part in list(self.partitions.values()):
            with contextlib.suppress(*RETRYABLE, ResponseError):
                await self._flush(part)
                await self._release(keys=self._lease_keys(part.number), args=[part.token])
        with contextlib.suppress(*RETRYABLE):
            await self.redis.zrem(self.keys.workers, self.consumer)
        self.partitions.clear()

    def health(self) -> str | None:
        """None while the worker's loop runs and reaches Redis, else what is wrong."""
        silent = time.monotonic() - self.last_heartbeat
        if silent > 6 * self.lease_ttl_ms / 1000:
            return f"no heartbeat reached Redis for {silent:.0f} s"
        return None

    def readiness(self) -> str | None:
        """None while the worker takes requests, else why not."""
        if self.stopping:
            return "shutting down"
        return self.health()

    # -- leases ----------------------------------------------------------------------------
    def _lease_keys(self, number: int) -> list[str]:
        return [self.keys.lease(number), self.keys.lease_owner(number)]

    async def _heartbeat(self) -> None:
        now = int(time.time() * 1000)
        await self.redis.zadd(self.keys.workers, {self.consumer: now})
        await self.redis.zremrangebyscore(self.keys.workers, "-inf", now - self.lease_ttl_ms)
        live = max(1, await self.redis.zcard(self.keys.workers))
        target = math.ceil(self.keys.partitions / live)
        for part in list(self.partitions.values()):
            renewed = int(await self._renew(
                keys=self._lease_keys(part.number), args=[part.token, self.lease_ttl_ms]
            ))
            if renewed == 2:
                self.leases_revived += 1
                log.warning("lease expired and taken back (the worker was slow)",
                            partition=part.number)
            elif not renewed:
                log.warning("lease lost", partition=part.number)
                self._drop(part)
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
            if int(await self._acquire_lease(
                keys=self._lease_keys(number), args=[token, self.lease_ttl_ms]
            )):
                part = Partition(number, token)
                self.partitions[number] = part
                wanted -= 1
                self._spawn(self._claim_pending(part))

    async def _give_back(self, part: Partition) -> None:
        while part.inflight:
            await asyncio.sleep(0.01)
        await self._flush(part)
        await self._release(keys=self._lease_keys(part.number), args=[part.token])
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
                reply: Any = await self.redis.xreadgroup(
                    GROUP, self.consumer, readable,  # type: ignore[arg-type]
                    count=min(self.batch, free), block=100,
                )
            except RETRYABLE as exc:
                # Redis may have delivered entries whose reply never reached us: they are
                # pending for us and no one else will claim them, so claim them again first.
                log.warning("read failed; claiming our pending entries again", error=str(exc))
                await asyncio.sleep(0.2)
                self._reclaim_all()
                continue
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self._reclaim_all()
                continue
            for stream, entries in reply or []:
                number = int(str(stream).rsplit(":", 1)[1])
                part = self.partitions.get(number)
                if part is not None and entries:
                    await self._dispatch(part, entries)

    def _reclaim_all(self) -> None:
        for part in self.partitions.values():
            if part.active:
                part.active = False
                self._spawn(self._claim_pending(part))

    async def _dispatch(self, part: Partition, entries: list[tuple[str, dict[str, str]]]) -> None:
        deliveries = [Delivery(part, entry_id, fields) for entry_id, fields in entries]
        for delivery in deliveries:
            if delivery.entry_id in part.inflight:
                continue  # claimed again while a lane holds it
            part.inflight.add(delivery.entry_id)
            await self.capacity.acquire()
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
                part = delivery.part
                try:
                    # when that ownership ended, the partition's owner claims the entry again
                    while self.partitions.get(part.number) is part:
                        try:
                            async with self._user_slot(delivery):
                                await self._settle(part, delivery)
                            break
                        except LeaseLost:
                            if delivery.begun:  # cut short by our slowness: not a failure
                                delivery.begun = False
                                await self._forgive_lost(delivery)
                            if await self._still_ours(part):
                                log.warning("lease expired mid-request and was taken back; "
                                            "running the request again", partition=part.number)
                                continue
                            log.warning("lease lost while processing; the entry is claimed "
                                        "again", partition=part.number)
                            self._drop(part)  # skip the rest of this ownership
                finally:
                    lane.popleft()
                    part.inflight.discard(delivery.entry_id)
                    self.capacity.release()
        finally:
            self.lanes.pop(conversation, None)

    @contextlib.asynccontextmanager
    async def _user_slot(self, delivery: Delivery) -> AsyncIterator[None]:
        """At most ``max_per_user`` requests of one user run at once; the rest wait, in order."""
        user = _user_of(delivery.fields) if self.max_per_user else None
        if user is None:
            yield
            return
        slot = self._users.get(user)
        if slot is None:
            slot = self._users[user] = asyncio.Semaphore(self.max_per_user or 1)
        async with slot:
            yield
        if not slot.locked() and slot._value == self.max_per_user:  # noqa: SLF001 - idle
            self._users.pop(user, None)

    async def _still_ours(self, part: Partition) -> bool:
        """After a fenced write was refused: renew (or take back) the lease if no one took it."""
        if self.partitions.get(part.number) is not part:
            return False
        try:
            renewed = int(await self._renew(
                keys=self._lease_keys(part.number), args=[part.token, self.lease_ttl_ms]
            ))
        except (*RETRYABLE, ResponseError):
            return False
        if renewed == 2:
            self.leases_revived += 1
        return bool(renewed) and self.partitions.get(part.number) is part

    def _drop(self, part: Partition) -> None:
        """This ownership ended: forget it; finished requests it could not acknowledge did not
        fail, so their next delivery must not count them."""
        if self.partitions.get(part.number) is not part:
            return
        del self.partitions[part.number]
        self.leases_lost += 1
        finished = [key for key, _e, status, _r, _u in part.acks if key and status == "done"]
        part.acks = []
        if finished:
            self._spawn(self._forgive(keys=finished, args=[REQUEST_TTL_S]))

    async def _recount(self, request_key: str) -> int:
        """The counted deliveries again, two lease periods later: a worker that lost this request
        to slowness (its loop stalled past the lease, and we took the partition meanwhile)
        forgives its delivery when it wakes; until then it looks like a crash."""
        await asyncio.sleep(2 * self.lease_ttl_ms / 1000)
        attempts, forgiven = await self.redis.hmget(request_key, ["attempts", "forgiven"])
        return int(attempts or 0) - int(forgiven or 0)

    async def _forgive_lost(self, delivery: Delivery) -> None:
        """This delivery ended because we lost the lease, not because it failed."""
        envelope_rid = delivery.fields.get("request_id")
        if not envelope_rid:
            return
        with contextlib.suppress(*RETRYABLE, ResponseError):
            await self._forgive(keys=[self.keys.request(envelope_rid)], args=[REQUEST_TTL_S])

    async def _settle(self, part: Partition, delivery: Delivery) -> None:
        """Process a delivery until it is done or dead-lettered; a lane never drops one.

        Redis being away (a restart, a network blip) or an unexpected failure of our own is
        waited out and retried: skipping the entry would let the conversation's next request
        overtake it, and it would stay pending until the partition changed hands.
        """
        backoff = 0.1
        while self.partitions.get(part.number) is part:
            try:
                return await self._process(part, delivery)
            except (LeaseLost, asyncio.CancelledError):
                raise
            except RETRYABLE as exc:
                log.warning("redis unavailable; retrying the request", error=str(exc))
            except Exception:  # noqa: BLE001 - keep the lane alive, loudly
                log.exception("unexpected failure processing a request; retrying")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

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
                self._ack(part, "", delivery.entry_id, status, envelope)
                return
            delivery.begun = True
            if attempts > self.max_deliveries:
                attempts = await self._recount(request_key)
            if attempts > self.max_deliveries:
                await self._dead_letter(
                    part, delivery, envelope, f"failed {attempts - 1} times; giving up"
                )
                return
            with bind_ids(
                request_id=envelope.request_id, conversation_id=envelope.conversation_id
            ):
                if not await self._attempt(part, envelope, attempts):
                    delivery.begun = False  # that delivery failed: it counts
                    await asyncio.sleep(self.retry_backoff_s * attempts)
                    continue
            self.processed += 1
            self._ack(part, request_key, delivery.entry_id, "done", envelope)
            return

    async def _attempt(self, part: Partition, envelope: Envelope, attempt: int) -> bool:
        """Run the handler once (again, with the same attempt, if Redis went away meanwhile).

        False when the handler failed: that counts as an attempt. Redis going away does not:
        the handler runs again once Redis answers, and what it already emitted or did is
        recognised by its position and name, so nothing is repeated.
        """
        while True:
            ctx = DeliveryContext(
                envelope, attempt, redis=self.redis, keys=self.keys, events=self.events,
                lease=(self.keys.lease(part.number), part.token), record=self._record,
            )
            started = time.monotonic()
            try:
                await self.handler(ctx)
                metrics.REQUESTS.labels(source=envelope.source, outcome="done").inc()
                metrics.REQUEST_SECONDS.labels(source=envelope.source).observe(
                    time.monotonic() - started)
                return True
            except (LeaseLost, asyncio.CancelledError):
                raise
            except RETRYABLE as exc:
                log.warning("redis unavailable during the request; waiting", error=str(exc))
                await self._wait_for_redis()
            except Exception as exc:  # noqa: BLE001 - a handler's failure must not kill us
                log.exception("request failed", attempt=attempt, error=str(exc))
                metrics.REQUESTS.labels(source=envelope.source, outcome="failed").inc()
                return False

    async def _wait_for_redis(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self.redis.ping()
                return
            except RETRYABLE:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

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
                "body": redact(delivery.fields.get("body", "")[:20_000]),
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
        metrics.REQUESTS.labels(source=envelope.source if envelope else "unknown",
                                outcome="dead").inc()
        self._ack(part, request_key, delivery.entry_id, "dead", envelope)

    # -- acknowledgements, batched ------------------------------------------------------------
    def _ack(
        self, part: Partition, request_key: str, entry_id: str, status: str,
        envelope: Envelope | None = None,
    ) -> None:
        rid, user = (envelope.request_id, envelope.user) if envelope else ("", "")
        part.acks.append((request_key, entry_id, status, rid, user))
        if part.flushing is None or part.flushing.done():
            part.flushing = asyncio.create_task(self._flush_soon(part))

    async def _flush_soon(self, part: Partition) -> None:
        await asyncio.sleep(0)
        await self._flush(part)

    async def _flush(self, part: Partition) -> None:
        while part.acks:
            batch, part.acks = part.acks, []
            by_status: dict[str, list[str]] = {}
            for request_key, entry_id, status, rid, user in batch:
                by_status.setdefault(status, []).extend([request_key, entry_id, rid, user])
            for status, quads in by_status.items():
                try:
                    await self._finish(
                        keys=[self.keys.lease(part.number), self.keys.ingress(part.number),
                              self.keys.queue],
                        args=[part.token, GROUP, status, self.keys.user_queue_prefix(), *quads],
                    )
                except ResponseError as exc:
                    if lease_errors(exc):
                        # kept for the next flush: the next heartbeat takes the lease back if
                        # no one else took it, or drops this ownership (see _drop)
                        log.warning("lease lost before acknowledging", partition=part.number)
                        part.acks = batch + part.acks
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


def _user_of(fields: dict[str, str]) -> str | None:
    """The user of a stream entry (None when the entry is malformed: it is rejected later)."""
    try:
        user = json.loads(fields.get("body") or "").get("user")
    except (ValueError, AttributeError):
        return None
    return user if isinstance(user, str) else None
