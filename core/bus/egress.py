"""What the user sees: per-conversation event streams, routed to the web instance that holds
each client's SSE connection.

* Every event is appended to the conversation's stream (replayable: a client that reconnects with
  ``Last-Event-ID`` reads what it missed with :meth:`EventLog.read`).
* The same script publishes it to the Pub/Sub channel of each web instance that registered a
  client following the conversation (routing by client id, a registry with TTL). Pub/Sub alone
  loses messages during a subscriber's gap; the stream is what makes it safe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from core.bus import scripts
from core.bus.autopipe import autopipe
from core.bus.keys import Keys
from core.events import Event
from core.redaction import redact_data, redact_text


class EventLog:
    """Append, route and replay the events of conversations."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        maxlen: int = 10_000,
        retention_s: int = 7 * 24 * 3600,
        client_ttl_s: int = 60,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.maxlen = maxlen
        self.retention_s = retention_s
        self.client_ttl_s = client_ttl_s
        self._emit = autopipe(redis).script(scripts.EMIT)

    async def append(
        self,
        event: Event,
        *,
        lease: tuple[str, str] | None = None,
        once_field: str | None = None,
    ) -> str:
        """Store and route ``event``; with ``once_field`` a second call returns the first id.

        ``lease`` is (lease key, token): the append is refused once that lease is lost.
        """
        event = event.model_copy(update={
            "text": redact_text(event.text).text if event.text else event.text,
            "data": redact_data(event.data),
        })
        lease_key, token = lease or ("", "")
        request_key = self.keys.request(event.request_id or "-")
        return str(
            await self._emit(
                keys=[
                    lease_key,
                    request_key,
                    self.keys.events(event.conversation_id),
                    self.keys.watchers(event.conversation_id),
                ],
                args=[
                    token,
                    once_field or "",
                    self.maxlen,
                    self.retention_s,
                    int(time.time() * 1000),
                    self.keys.client_prefix(),
                    self.keys.instance_prefix(),
                    event.type,
                    event.model_dump_json(exclude={"id"}),
                ],
            )
        )

    async def read(
        self, conversation_id: str, after: str | None = None, count: int = 1000
    ) -> list[Event]:
        """Events of a conversation after stream id ``after`` (exclusive), oldest first."""
        start = f"({after}" if after else "-"
        entries = await self.redis.xrange(self.keys.events(conversation_id), start, "+", count)
        return [Event.from_fields(entry_id, fields) for entry_id, fields in entries]

    # -- routing registry ------------------------------------------------------------------
    async def register(self, client_id: str, conversation_id: str, instance_id: str) -> None:
        """Say that ``client_id`` (on ``instance_id``) follows ``conversation_id`` for a TTL."""
        expires_ms = int((time.time() + self.client_ttl_s) * 1000)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.client(client_id), instance_id, ex=self.client_ttl_s)
            pipe.zadd(self.keys.watchers(conversation_id), {client_id: expires_ms})
            pipe.expire(self.keys.watchers(conversation_id), self.retention_s)
            await pipe.execute()

    async def unregister(self, client_id: str, conversation_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.watchers(conversation_id), client_id)
            pipe.delete(self.keys.client(client_id))
            await pipe.execute()

    async def subscribe(self, instance_id: str) -> PubSub:
        """Subscribe to what is routed to ``instance_id``; returns once the server confirmed."""
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(self.keys.instance_channel(instance_id))
        async with asyncio.timeout(5):
            while True:
                message = await pubsub.get_message(timeout=1)
                if message and message.get("type") == "subscribe":
                    return pubsub

    @staticmethod
    async def messages(pubsub: PubSub) -> AsyncIterator[Event]:
        """Live events from a subscription (the caller dedupes by id and closes it)."""
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            entry_id, _, body = str(message["data"]).partition("\n")
            yield Event.from_fields(entry_id, {"body": body})
