"""Accepting requests: an envelope becomes one entry in its conversation's partition stream.

Accepting is one atomic step in Redis (:data:`core.bus.scripts.SUBMIT`): the idempotency key is
claimed and the entry appended together, so a retried submission (a Slack retry, a client that
resubmits after a lost answer) is accepted once and answers with the first request id.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from core.bus import scripts
from core.bus.autopipe import Coalescer, autopipe
from core.bus.keys import GROUP, Keys
from core.envelope import Envelope
from core.errors import ServiceUnavailable, ValidationError
from core.redis_client import RETRYABLE

IDEMPOTENCY_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class SubmitResult:
    request_id: str
    accepted: bool  # False: a duplicate of an earlier submission
    entry_id: str | None  # the stream entry id (None for a duplicate)
    partition: int


class Submitter:
    def __init__(self, redis: aioredis.Redis, keys: Keys, *, max_text_chars: int = 8000) -> None:
        self.redis = redis
        self.keys = keys
        self.max_text_chars = max_text_chars
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

    async def _submit_many(self, items: list[tuple[Envelope, int]]) -> list[tuple[int, str]]:
        """One SUBMIT for every submission of this loop turn (see :class:`Coalescer`)."""
        keys: list[str] = []
        args: list[object] = [IDEMPOTENCY_TTL_S]
        for envelope, partition in items:
            keys += [self.keys.idem(envelope.idempotency_key), self.keys.ingress(partition)]
            args += [envelope.request_id, envelope.conversation_id, envelope.model_dump_json()]
        flat = await self._script(keys=keys, args=args)
        return [(int(flat[i]), str(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def submit(self, envelope: Envelope) -> SubmitResult:
        """Accept ``envelope`` once; raise ServiceUnavailable if Redis cannot take it."""
        self._check(envelope)
        partition = self.keys.partition_of(envelope.conversation_id)
        try:
            created, value = await self._submit((envelope, partition))
        except RETRYABLE as exc:
            raise ServiceUnavailable(
                "the message bus (Redis) is unavailable; the request was not accepted",
                hint="retry in a moment; `archops doctor` checks the connection",
            ) from exc
        if int(created):
            return SubmitResult(envelope.request_id, True, value, partition)
        return SubmitResult(value, False, None, partition)
