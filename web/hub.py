"""The web instance's side of egress: one subscription, fanned out in memory.

One Pub/Sub subscription per instance receives the events routed to it (see
:mod:`core.bus.egress`); the hub formats each event once and hands the bytes to the local SSE
connections following its conversation (:class:`Stream`, one per connection, with a bounded
queue). No connection holds or waits for a Redis connection of its own:

* connects, replays (``Last-Event-ID``, or after a gap) and disconnects are small operations
  coalesced into one pipeline per event-loop turn (:meth:`EventLog.exchange`), one pipeline in
  flight at a time: 5,000 connects cost a few dozen round trips on one Redis connection;
* the client registry (which instance holds which client, with a TTL) is refreshed for every
  client of the instance by one pipeline per tick;
* one sweeper notices closed connections and sends heartbeats, instead of a timer per stream.

A slow client cannot stall the others: delivering is a non-blocking append; a client whose
queue is full, or whose write does not complete within ``write_timeout_s``, is cut, and
resumes with ``Last-Event-ID`` from the replayable stream. Pub/Sub drops what is published
during a gap, so when the subscription is re-established every stream reads what it may have
missed from the stream.

A stream the server ends on purpose says goodbye first (:func:`web.wire.goodbye`): a ``retry:``
and a final ``reconnect`` event. :meth:`Hub.drain` does it for every stream when the instance
shuts down (the client reconnects, through the load balancer, to another instance, with
``Last-Event-ID``); the sweeper does it for a stream whose link (capability) expired, whose
reconnect is then refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

from core.bus import EventLog
from core.bus.autopipe import Coalescer
from core.events import TERMINAL_TYPES, Event
from core.logging import get_logger
from core.redis_client import RETRYABLE
from core.tracing import following
from web.wire import format_event, stream_id_key

log = get_logger("archops.web.hub")

Key = tuple[int, int]


class Stream:
    """What the hub knows of one SSE connection: its position, its queue, why it must wake."""

    __slots__ = (
        "conversation_id", "client_id", "transport", "last_key", "pending", "waiter",
        "written", "resync", "heartbeat", "cut", "max_pending", "farewell", "expires_at",
    )

    def __init__(
        self, conversation_id: str, client_id: str, after: str | None, transport: Any,
        max_pending: int, expires_at: float | None = None,
    ) -> None:
        self.conversation_id = conversation_id
        self.client_id = client_id
        self.transport = transport
        self.last_key: Key | None = stream_id_key(after) if after else None
        self.pending: list[tuple[Key, bytes]] | None = None  # allocated when events arrive
        self.waiter: asyncio.Future[None] | None = None
        self.written = time.monotonic()
        self.resync = False
        self.heartbeat = False
        self.cut: str | None = None  # why the hub cut this stream
        self.max_pending = max_pending
        self.farewell: str | None = None  # why the stream must end (it says goodbye first)
        self.expires_at = expires_at  # unix time the credential (a link) stops granting it

    @property
    def last_id(self) -> str | None:
        return None if self.last_key is None else f"{self.last_key[0]}-{self.last_key[1]}"

    def push(self, key: Key, data: bytes) -> None:
        if self.cut:
            return
        if self.pending is None:
            self.pending = []
        elif len(self.pending) >= self.max_pending:
            self.close("queue full")
            return
        self.pending.append((key, data))
        self.wake()

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def idle(self) -> asyncio.Future[None] | None:
        """A future that completes when there is something to do (events, a resync, a
        heartbeat, a cut, a goodbye), or None when there is already. The caller awaits it
        itself: an idle stream then holds no coroutine frame of its own (0.2 KiB each)."""
        if self.pending or self.resync or self.heartbeat or self.cut or self.farewell:
            return None
        self.waiter = asyncio.get_running_loop().create_future()
        return self.waiter

    def take(self) -> bytes:
        """The queued events newer than what was sent, as one write; advances the position."""
        pending, self.pending = self.pending, None
        if not pending:
            return b""
        out = []
        last = self.last_key
        for key, data in pending:
            if last is None or key > last:
                out.append(data)
                last = key
        self.last_key = last
        return b"".join(out)

    def sent(self, events: list[Event]) -> bytes:
        """Replayed events as one write; advances the position."""
        if events:
            self.last_key = stream_id_key(events[-1].id or "0-0")
        return b"".join(format_event(event) for event in events)

    def close(self, reason: str) -> None:
        """Cut the connection: the client reconnects with Last-Event-ID and misses nothing."""
        if self.cut is None:
            self.cut = reason
            self.pending = None
            if self.transport is not None and not self.transport.is_closing():
                self.transport.abort()
            self.wake()

    def end(self, reason: str) -> None:
        """End the stream gracefully: what is queued is sent, then a goodbye, then it closes."""
        if self.farewell is None and self.cut is None:
            self.farewell = reason
            self.wake()

    @property
    def gone(self) -> bool:
        return self.transport is None or self.transport.is_closing()


class Hub:
    def __init__(
        self,
        events: EventLog,
        instance_id: str,
        *,
        max_pending: int = 512,
        write_timeout_s: float = 10.0,
        keepalive_s: float = 15.0,
        check_s: float | None = None,
        page: int = 200,
        max_batch: int = 256,
        retry_ms: int = 1000,
    ) -> None:
        self.events = events
        self.instance_id = instance_id
        self.max_pending = max_pending
        self.write_timeout_s = write_timeout_s
        self.keepalive_s = keepalive_s
        # the sweeper looks often enough that a heartbeat is never late by more than a quarter
        self.check_s = check_s if check_s is not None else min(0.5, keepalive_s / 4)
        self.page = page
        self.retry_ms = retry_ms  # what a new stream tells its EventSource (retry:)
        self.draining = False
        self.followers: dict[str, list[Stream]] = {}
        self.connected = asyncio.Event()
        self._calls = Coalescer(self._exchange, max_batch=max_batch)
        self._tasks: list[asyncio.Task[None]] = []
        self.cuts = 0  # streams cut for being slow (for the bench and operators)

    # -- connections -------------------------------------------------------------------------
    def follow(
        self, conversation_id: str, client_id: str, after: str | None = None,
        transport: Any = None, expires_at: float | None = None,
    ) -> Stream:
        stream = Stream(conversation_id, client_id, after, transport, self.max_pending,
                        expires_at)
        streams = self.followers.get(conversation_id)
        if streams is None:
            self.followers[conversation_id] = [stream]
        else:
            streams.append(stream)
        return stream

    async def register(self, stream: Stream) -> None:
        """Route the conversation's events to this instance for ``stream`` (batched)."""
        await self._calls(("register", [(stream.client_id, stream.conversation_id)]))

    async def read(self, stream: Stream) -> list[Event]:
        """The next page of events after the stream's position (batched with the others)."""
        result = await self._calls(("read", (stream.conversation_id, stream.last_id, self.page)))
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[no-any-return]

    async def unfollow(self, stream: Stream) -> None:
        stream.cut = stream.cut or "closed"
        streams = self.followers.get(stream.conversation_id)
        if streams is not None:
            with contextlib.suppress(ValueError):
                streams.remove(stream)
            if not streams:
                del self.followers[stream.conversation_id]
            elif any(s.client_id == stream.client_id for s in streams):
                return  # the same client reconnected here already: keep it routed
        await self._calls(("unregister", [(stream.client_id, stream.conversation_id)]))

    def streams(self) -> list[Stream]:
        return [s for streams in self.followers.values() for s in streams]

    def goodbye_retry_ms(self) -> int:
        """When a client told to go should come back: spread over 1-3x ``retry_ms``, so that
        the clients of a stopping instance do not all reconnect in the same instant."""
        return random.randint(self.retry_ms, 3 * self.retry_ms)

    async def drain(self, timeout_s: float = 5.0) -> int:
        """Shutting down: refuse new streams, tell every open one to reconnect elsewhere, and
        wait (up to ``timeout_s``) until they have said goodbye and closed. Returns how many
        streams were told."""
        self.draining = True
        streams = self.streams()
        for stream in streams:
            stream.end("shutdown")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self.followers:
                    await asyncio.sleep(0.02)
        if streams:
            log.info("SSE streams told to reconnect elsewhere", streams=len(streams))
        return len(streams)

    async def _exchange(self, items: list[tuple[str, Any]]) -> list[Any]:
        register: list[tuple[str, str]] = []
        unregister: list[tuple[str, str]] = []
        reads: list[tuple[str, str | None, int]] = []
        for kind, payload in items:
            if kind == "read":
                reads.append(payload)
            elif kind == "register":
                register.extend(payload)
            else:
                unregister.extend(payload)
        results = iter(
            await self.events.exchange(
                self.instance_id, register=register, unregister=unregister, reads=reads
            )
        )
        return [next(results) if kind == "read" else None for kind, _ in items]

    # -- delivery ----------------------------------------------------------------------------
    def _deliver(self, event: Event) -> None:
        streams = self.followers.get(event.conversation_id)
        if not streams or not event.id:
            return
        key, data = stream_id_key(event.id), format_event(event)
        for stream in streams:
            before = stream.cut
            stream.push(key, data)
            if stream.cut and not before:
                self.cuts += 1
                log.info("slow SSE client cut", client_id=stream.client_id, reason=stream.cut)
        if event.type in TERMINAL_TYPES:
            # the end of a request's answer reaching its readers: part of the request's trace
            with following(event, "web.stream.deliver", conversation_id=event.conversation_id,
                           event_type=event.type, streams=len(streams)):
                pass

    def _resync_all(self) -> None:
        for stream in self.streams():
            stream.resync = True
            stream.wake()

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._sweep()),
            asyncio.create_task(self._refresh()),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 5)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _listen(self) -> None:
        first = True
        while True:
            pubsub = None
            try:
                pubsub = await self.events.subscribe(self.instance_id)
                self.connected.set()
                if not first:
                    self._resync_all()
                    await self.refresh_registry()
                first = False
                async for event in self.events.messages(pubsub):
                    if event is None:  # redis-py re-subscribed after a gap
                        log.warning("event subscription re-established; replaying")
                        self._resync_all()
                        await self.refresh_registry()
                    else:
                        self._deliver(event)
            except (*RETRYABLE, TimeoutError) as exc:
                self.connected.clear()
                log.warning("event subscription lost; reconnecting", error=str(exc))
                await asyncio.sleep(0.5)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()

    async def _sweep(self) -> None:
        """Notice closed connections and send heartbeats, for every stream at once."""
        while True:
            await asyncio.sleep(self.check_s)
            idle_since = time.monotonic() - self.keepalive_s
            now = time.time()
            groups = list(self.followers.values())
            # streams that connected together fall due together: wake at most twice the fair
            # share per sweep, so heartbeats spread out instead of stalling the loop at once
            budget = 64 + int(2 * sum(map(len, groups)) * self.check_s / self.keepalive_s)
            for streams in groups:
                for stream in streams:
                    if stream.gone:
                        stream.close("client went away")
                    elif stream.expires_at is not None and stream.expires_at <= now:
                        stream.end("expired")  # the link no longer grants it
                    elif budget and stream.written < idle_since and not stream.heartbeat:
                        budget -= 1
                        stream.heartbeat = True
                        stream.wake()

    async def _refresh(self) -> None:
        interval = max(1.0, self.events.client_ttl_s / 3)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(*RETRYABLE):
                await self.refresh_registry()

    async def refresh_registry(self, chunk: int = 500) -> None:
        """Extend the registry TTL of every client of this instance: one script call per chunk
        of clients (not a call per client), each its own round trip so the loop keeps moving."""
        pairs = list({(s.client_id, s.conversation_id) for s in self.streams()})
        for start in range(0, len(pairs), chunk):
            await self._calls(("register", pairs[start : start + chunk]))
