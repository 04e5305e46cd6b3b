"""The worker's implementation of :class:`core.context.RequestContext`.

Events are numbered by their position within the request; the position is the once-key, so a
redelivered request that emits the same events again appends none of the ones already stored.
``token`` events (streamed model text) take no position of their own.
Effects go through :meth:`DeliveryContext.once`: the result is recorded under the request, and a
``pending`` marker written first tells a later delivery that an earlier one may have crashed
mid-effect; ``reconcile`` (when given) then asks the outside world whether it happened (e.g. a
pull request for the branch already exists) instead of doing it twice.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from core.bus.autopipe import Script
from core.bus.egress import EventLog
from core.bus.keys import Keys
from core.envelope import Envelope
from core.errors import LeaseLost
from core.events import Event, EventType
from core.tracing import current_trace_ids

T = TypeVar("T")
PENDING = "__pending__"


def lease_errors(exc: ResponseError) -> LeaseLost | None:
    return LeaseLost("partition lease lost; stopping") if "LEASE_LOST" in str(exc) else None


class DeliveryContext:
    def __init__(
        self,
        envelope: Envelope,
        attempt: int,
        *,
        redis: aioredis.Redis,
        keys: Keys,
        events: EventLog,
        lease: tuple[str, str],
        record: Script,
    ) -> None:
        self.envelope = envelope
        self.attempt = attempt
        self._redis = redis
        self._keys = keys
        self._events = events
        self._lease = lease
        self._seq = 0
        self._tokens = 0  # token events since the last positioned event
        self._record = record
        self.finished = False

    async def emit(self, type: EventType, text: str | None = None, **data: Any) -> None:
        if type == "token":
            # streamed model text takes no position: a redelivery replays recorded answers
            # without streaming them again, and its other events keep their positions; a
            # delivery's own tokens are kept once (a model called again streams anew)
            self._tokens += 1
            once_field = f"tk:{self.attempt}:{self._seq}:{self._tokens}"
        else:
            self._seq += 1
            self._tokens = 0
            once_field = f"ev:{self._seq}"
        ids = current_trace_ids()
        event = Event(
            trace_id=ids[0] if ids else None,
            span_id=ids[1] if ids else None,
            type=type,
            conversation_id=self.envelope.conversation_id,
            request_id=self.envelope.request_id,
            seq=self._seq,
            text=text,
            data=data,
        )
        try:
            await self._events.append(event, lease=self._lease, once_field=once_field)
        except ResponseError as exc:
            raise (lease_errors(exc) or exc) from exc
        if type in ("done", "error"):
            self.finished = True

    async def notice(self, key: str, text: str, **data: Any) -> None:
        """A ``status`` event kept out of the request's numbered sequence and sent at most
        once per ``key``: what an effect says while it waits (a rate limit's reset), which a
        redelivery that does not wait must not shift the positions of later events for."""
        ids = current_trace_ids()
        event = Event(
            trace_id=ids[0] if ids else None,
            type="status",
            conversation_id=self.envelope.conversation_id,
            request_id=self.envelope.request_id,
            seq=0,
            text=text,
            data=data,
        )
        try:
            await self._events.append(event, lease=self._lease, once_field=f"nt:{key}")
        except ResponseError as exc:
            raise (lease_errors(exc) or exc) from exc

    async def _put(self, field: str, value: str) -> None:
        try:
            await self._record(
                keys=[self._lease[0], self._keys.request(self.envelope.request_id)],
                args=[self._lease[1], field, value],
            )
        except ResponseError as exc:
            raise (lease_errors(exc) or exc) from exc

    async def once(
        self,
        name: str,
        fn: Callable[[], Awaitable[T]],
        *,
        reconcile: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        field = f"fx:{name}"
        recorded = await self._redis.hget(self._keys.request(self.envelope.request_id), field)
        if recorded is not None and recorded != PENDING:
            return json.loads(recorded)  # type: ignore[no-any-return]
        if recorded == PENDING and reconcile is not None:
            found = await reconcile()
            if found is not None:
                await self._put(field, json.dumps(found))
                return found
        await self._put(field, PENDING)
        result = await fn()
        await self._put(field, json.dumps(result))
        return result
