"""Accepting requests: an envelope becomes one entry in its conversation's partition stream.

Accepting is one atomic step in Redis (:data:`core.bus.scripts.SUBMIT`): the idempotency key is
claimed and the entry appended together, so a retried submission (a Slack retry, a client that
resubmits after a lost answer) is accepted once and answers with the first request id.

Admission control: every accepted request stays in a queue (one for all, one per user) until a
worker finishes it. When more than ``admit_total`` requests, or more than ``admit_per_user`` of
the same user, are waiting, the request is still accepted (nothing is refused or lost) and the
user is told "busy, queued as #N" in the conversation (an event, so every edge shows it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from core import metrics
from core.bus import scripts
from core.bus.autopipe import Coalescer, autopipe
from core.bus.egress import EventLog
from core.bus.keys import GROUP, Keys
from core.envelope import Envelope
from core.errors import ServiceUnavailable, ValidationError
from core.events import Event
from core.logging import get_logger
from core.redaction import redact_envelope, removed_notice
from core.redis_client import RETRYABLE

log = get_logger("archops.ingress")

IDEMPOTENCY_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class SubmitResult:
    request_id: str
    accepted: bool  # False: a duplicate of an earlier submission
    entry_id: str | None  # the stream entry id (None for a duplicate)
    partition: int
    place: int = 0  # its place among the accepted, unfinished requests (0 for a duplicate)
    queued: bool = False  # beyond the admission limits: the user was told it waits


class Submitter:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        max_text_chars: int = 8000,
        events: EventLog | None = None,
        admit_total: int = 32,
        admit_per_user: int = 4,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.max_text_chars = max_text_chars
        self.events = events or EventLog(redis, keys)
        self.admit_total = admit_total
        self.admit_per_user = admit_per_user
        self._script = autopipe(redis).script(scripts.SUBMIT)
        self._submit = Coalescer(self._submit_many)

    async def ensure_groups(self) -> None:
        """Create every partition stream and its consumer group (idempotent)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in range(self.keys.partitions):
                pipe.xgroup_create(self.keys.ingress(p), GROUP, id="0", mkstream=True)
            results = await pipe.execute(raise_on_error=False)
        for result in results:
            if isinstance(result, ResponseError) and "BUSYGROUP" not in str(result):
                raise result

    def _check(self, envelope: Envelope) -> None:
        if envelope.text is not None:
            if not envelope.text.strip():
                raise ValidationError("the message is empty", hint="say what you need")
            if len(envelope.text) > self.max_text_chars:
                raise ValidationError(
                    f"the message has {len(envelope.text)} characters; the limit is "
                    f"{self.max_text_chars}",
                    hint="shorten it or split it into several messages",
                )

    async def _submit_many(
        self, items: list[tuple[Envelope, int]]
    ) -> list[tuple[int, str, int, int]]:
        """One SUBMIT for every submission of this loop turn (see :class:`Coalescer`)."""
        keys: list[str] = [self.keys.queue]
        args: list[object] = [IDEMPOTENCY_TTL_S, int(time.time() * 1000)]
        for envelope, partition in items:
            keys += [self.keys.idem(envelope.idempotency_key), self.keys.ingress(partition),
                     self.keys.user_queue(envelope.user)]
            args += [envelope.request_id, envelope.conversation_id, envelope.model_dump_json()]
        flat = await self._script(keys=keys, args=args)
        return [
            (int(flat[i]), str(flat[i + 1]), int(flat[i + 2]), int(flat[i + 3]))
            for i in range(0, len(flat), 4)
        ]

    async def submit(self, envelope: Envelope) -> SubmitResult:
        """Accept ``envelope`` once; raise ServiceUnavailable if Redis cannot take it."""
        self._check(envelope)
        envelope, removed = redact_envelope(envelope)
        partition = self.keys.partition_of(envelope.conversation_id)
        try:
            created, value, place, mine = await self._submit((envelope, partition))
        except RETRYABLE as exc:
            raise ServiceUnavailable(
                "the message bus (Redis) is unavailable; the request was not accepted",
                hint="retry in a moment; `archops doctor` checks the connection",
            ) from exc
        if not created:
            return SubmitResult(value, False, None, partition)
        if removed:
            await self._tell(envelope, removed_notice(removed), "ev:redacted",
                             {"redacted": list(removed)})
        metrics.ACCEPTED.labels(source=envelope.source).inc()
        queued = place > self.admit_total or mine > self.admit_per_user
        if queued:
            await self._tell_queued(envelope, place, mine)
        return SubmitResult(envelope.request_id, True, value, partition, place, queued)

    async def _tell_queued(self, envelope: Envelope, place: int, mine: int) -> None:
        """"busy, queued as #N": the request is kept and runs in its turn."""
        if mine > self.admit_per_user:
            why = f"you have {mine} requests waiting or running"
        else:
            why = f"{place - 1} requests are ahead of it"
        text = (f"archops is busy: your request is queued as #{place} ({why}); it is kept and "
                "starts in its turn, nothing to resend.")
        await self._tell(envelope, text, "ev:queued", {"queued": place, "user_requests": mine})

    async def _tell(self, envelope: Envelope, text: str, once: str, data: dict[str, object]) -> None:
        try:
            await self.events.append(
                Event(type="status", conversation_id=envelope.conversation_id,
                      request_id=envelope.request_id, text=text, data=data),
                once_field=once,
            )
        except RETRYABLE as exc:  # accepted already: telling is best effort
            log.warning("could not tell the user about the request", error=str(exc))

