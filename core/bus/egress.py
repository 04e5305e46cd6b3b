"""What the user sees: per-conversation event streams, routed to the web instance that holds
each client's SSE connection.

* Every event is appended to the conversation's stream (replayable: a client that reconnects with
  ``Last-Event-ID`` reads what it missed with :meth:`EventLog.read`).
* The same script names the stream in one capped stream of changes (:attr:`Keys.changes`), so
  that a reader of many conversations reads only those that grew.
* It publishes it to the Pub/Sub channel of each web instance that registered a
  client following the conversation (routing by client id, a registry with TTL). Pub/Sub alone
  loses messages during a subscriber's gap; the stream is what makes it safe.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Sequence

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import NoScriptError

from core.bus import scripts
from core.bus.autopipe import autopipe
from core.bus.keys import Keys
from core.events import Event
from core.redaction import redact_data, redact_text

# entries kept in the changes stream (Keys.changes): ~8 MB; a reader further behind than this
# sweeps every stream it follows (bot.egress)
CHANGES_MAXLEN = 100_000

# The registry rows of many clients of one instance in one call (a connect burst, a TTL tick).
# ARGV: instance, ttl_s, expires_ms, retention_s, client prefix, watchers prefix,
#       then (client id, conversation id) pairs -> the number of clients
REGISTER = """
for i = 7, #ARGV, 2 do
  redis.call('SET', ARGV[5] .. ARGV[i], ARGV[1], 'EX', ARGV[2])
  local watchers = ARGV[6] .. ARGV[i + 1]
  redis.call('ZADD', watchers, ARGV[3], ARGV[i])
  redis.call('EXPIRE', watchers, ARGV[4])
end
return (#ARGV - 6) / 2
"""

# Forget clients of one instance, but only where the registry still routes them to it: a client
# that already reconnected to another instance (same client id) stays routed there.
# ARGV: instance, client prefix, watchers prefix, then (client id, conversation id) pairs
UNREGISTER = """
local n = 0
for i = 4, #ARGV, 2 do
  local key = ARGV[2] .. ARGV[i]
  local holder = redis.call('GET', key)
  if not holder or holder == ARGV[1] then
    redis.call('DEL', key)
    redis.call('ZREM', ARGV[3] .. ARGV[i + 1], ARGV[i])
    n = n + 1
  end
end
return n
"""


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
        self._register_sha = hashlib.sha1(REGISTER.encode()).hexdigest()
        self._unregister_sha = hashlib.sha1(UNREGISTER.encode()).hexdigest()

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
                    self.keys.changes,
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
                    CHANGES_MAXLEN,
                ],
            )
        )

    async def read(
        self, conversation_id: str, after: str | None = None, count: int = 1000
    ) -> list[Event]:
        """Events of a conversation after stream id ``after`` (exclusive), oldest first."""
        start = f"({after}" if after else "-"
        entries = await self.redis.xrange(self.keys.events(conversation_id), start, "+", count)
        return [Event.from_fields(str(entry_id), dict(fields or {}))
                for entry_id, fields in entries or []]

    async def exchange(
        self,
        instance_id: str,
        *,
        register: Sequence[tuple[str, str]] = (),
        unregister: Sequence[tuple[str, str]] = (),
        reads: Sequence[tuple[str, str | None, int]] = (),
    ) -> list[list[Event] | Exception]:
        """One round trip for many SSE connections: registry changes first, then reads.

        ``register`` and ``unregister`` are (client id, conversation id) pairs of clients on
        ``instance_id``; ``reads`` are (conversation id, after, count) as :meth:`read` takes.
        Everything goes down one non-transactional pipeline (one connection). A client must be
        registered (this call returned) before its replay read is asked for: an event is then
        either in the read or published to the instance (or both; the caller dedupes by id).
        Returns each read's events, or the error of that read alone.
        """
        expires_ms = int((time.time() + self.client_ttl_s) * 1000)
        scripted: list[tuple[str, str, list[str | int]]] = []  # (sha, script, args)
        if unregister:
            args: list[str | int] = [instance_id, self.keys.client_prefix(), self.keys.watchers("")]
            for pair in unregister:
                args.extend(pair)
            scripted.append((self._unregister_sha, UNREGISTER, args))
        if register:
            args = [
                instance_id, self.client_ttl_s, expires_ms, self.retention_s,
                self.keys.client_prefix(), self.keys.watchers(""),
            ]
            for pair in register:
                args.extend(pair)
            scripted.append((self._register_sha, REGISTER, args))
        async with self.redis.pipeline(transaction=False) as pipe:
            for sha, _, args in scripted:
                pipe.evalsha(sha, 0, *args)
            for conversation_id, after, count in reads:
                start = f"({after}" if after else "-"
                pipe.xrange(self.keys.events(conversation_id), start, "+", count)
            replies = await pipe.execute(raise_on_error=False)
        skip = len(scripted)
        for (sha, script, args), reply in zip(scripted, replies[:skip], strict=True):
            if isinstance(reply, NoScriptError):  # a restarted Redis: load it, run it again
                await self.redis.script_load(script)
                await self.redis.evalsha(sha, 0, *args)
            elif isinstance(reply, Exception):
                raise reply
        out: list[list[Event] | Exception] = []
        for reply in replies[skip:]:
            if isinstance(reply, Exception):
                out.append(reply)
            else:
                out.append([Event.from_fields(entry_id, fields) for entry_id, fields in reply])
        return out

    # -- routing registry ------------------------------------------------------------------
    async def register(self, client_id: str, conversation_id: str, instance_id: str) -> None:
        """Say that ``client_id`` (on ``instance_id``) follows ``conversation_id`` for a TTL."""
        expires_ms = int((time.time() + self.client_ttl_s) * 1000)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.client(client_id), instance_id, ex=self.client_ttl_s)
            pipe.zadd(self.keys.watchers(conversation_id), {client_id: expires_ms})
            pipe.expire(self.keys.watchers(conversation_id), self.retention_s)
            await pipe.execute()

    async def unregister(self, client_id: str, conversation_id: str, instance_id: str) -> None:
        """Forget ``client_id`` unless it is routed to another instance than ``instance_id``."""
        await self.exchange(instance_id, unregister=[(client_id, conversation_id)])

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
    async def messages(pubsub: PubSub) -> AsyncIterator[Event | None]:
        """Live events from a subscription (the caller dedupes by id and closes it).

        ``None`` means the subscription was re-established (redis-py reconnects and subscribes
        again on its own): whatever was published meanwhile is lost, read the streams.
        """
        async for message in pubsub.listen():
            if message.get("type") == "subscribe":
                yield None
                continue
            if message.get("type") != "message":
                continue
            entry_id, _, body = str(message["data"]).partition("\n")
            yield Event.from_fields(entry_id, {"body": body})
