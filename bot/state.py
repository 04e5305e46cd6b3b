"""What the Slack edge remembers in Redis, so that a bot restart repeats nothing and misses nothing.

All keys live under ``{prefix}:slack:``:

``thread:{team}:{channel}:{root_ts}``  -> conversation id (the threads archops is part of)
``conv:{conversation_id}``            hash: team, channel, thread_ts (empty until a root is posted),
                                      owner (who started it), asking (its open question)
``active``                            sorted set: conversation id -> last activity (ms)
``cursor``                            hash: conversation id -> last event stream id applied
``msg:{request_id}``                  hash: the request's Slack message (state, ts, versions);
                                      written first by the ingress (origin "slack", user) before
                                      the request is submitted: the egress posts for no other
``posted:{channel}:{ts}``             -> request id of an archops message (answers find it)
``dirty``                             sorted set: request id -> when its message may be sent (ms)

Applying an event (its fields, the cursor and the dirty mark) is one MULTI transaction, so a
crash either applied an event completely or not at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis

from core.bus.keys import Keys
from core.errors import ServiceUnavailable
from core.redis_client import RETRYABLE

T = TypeVar("T")
RETENTION_S = 30 * 24 * 3600

# After a message was sent: forget the dirty mark when nothing changed since, else reschedule.
_SETTLE = """
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""


def now_ms() -> int:
    return int(time.time() * 1000)


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Redis call; a connection failure becomes ServiceUnavailable."""
    try:
        return await call()
    except RETRYABLE as exc:
        raise ServiceUnavailable(
            "the message bus (Redis) is unavailable", hint="retry in a moment"
        ) from exc


class SlackState:
    """Redis records of the Slack edge: threads, active conversations, cursors, messages."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.base = f"{keys.prefix}:slack"
        self._settle = redis.register_script(_SETTLE)

    # -- keys ------------------------------------------------------------------------------
    def thread_key(self, team: str, channel: str, root_ts: str) -> str:
        return f"{self.base}:thread:{team}:{channel}:{root_ts}"

    def conv_key(self, conversation_id: str) -> str:
        return f"{self.base}:conv:{conversation_id}"

    def msg_key(self, request_id: str) -> str:
        return f"{self.base}:msg:{request_id}"

    def posted_key(self, channel: str, ts: str) -> str:
        return f"{self.base}:posted:{channel}:{ts}"

    @property
    def active_key(self) -> str:
        return f"{self.base}:active"

    @property
    def cursor_key(self) -> str:
        return f"{self.base}:cursor"

    @property
    def dirty_key(self) -> str:
        return f"{self.base}:dirty"

    # -- conversations ---------------------------------------------------------------------
    async def conversation_of_thread(self, team: str, channel: str, root_ts: str) -> str | None:
        """The conversation a thread belongs to, or None when archops is not part of it."""
        return await guarded(lambda: self.redis.get(self.thread_key(team, channel, root_ts)))

    async def open_conversation(
        self, conversation_id: str, team: str, channel: str, thread_ts: str | None,
        owner: str | None = None,
    ) -> None:
        """Remember where a conversation lives (and who started it); follow its events."""
        async with self.redis.pipeline(transaction=True) as pipe:
            if thread_ts:
                pipe.set(self.thread_key(team, channel, thread_ts), conversation_id, ex=RETENTION_S)
            conv = self.conv_key(conversation_id)
            if owner:
                pipe.hsetnx(conv, "owner", owner)
            pipe.hsetnx(conv, "team", team)
            pipe.hsetnx(conv, "channel", channel)
            pipe.hsetnx(conv, "thread_ts", thread_ts or "")
            pipe.expire(conv, RETENTION_S)
            pipe.zadd(self.active_key, {conversation_id: now_ms()})
            pipe.hsetnx(self.cursor_key, conversation_id, "0-0")
            await guarded(pipe.execute)

    async def conversation(self, conversation_id: str) -> dict[str, str]:
        return await self.redis.hgetall(self.conv_key(conversation_id))  # type: ignore[no-any-return]

    async def set_thread_root(self, conversation_id: str, team: str, channel: str, ts: str) -> None:
        """A conversation started without a thread (a slash command) lives under ``ts`` now."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.conv_key(conversation_id), "thread_ts", ts)
            pipe.set(self.thread_key(team, channel, ts), conversation_id, ex=RETENTION_S)
            await pipe.execute()

    async def followed(self, window_s: int) -> dict[str, str]:
        """Active conversations (seen within ``window_s``) and their cursors."""
        since = now_ms() - window_s * 1000
        idle = await self.redis.zrangebyscore(self.active_key, "-inf", f"({since}")
        if idle:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(self.active_key, *idle)
                pipe.hdel(self.cursor_key, *idle)
                await pipe.execute()
        ids = await self.redis.zrangebyscore(self.active_key, since, "+inf")
        if not ids:
            return {}
        cursors = await self.redis.hmget(self.cursor_key, ids)
        return {cid: cursor or "0-0" for cid, cursor in zip(ids, cursors, strict=True)}

    # -- request messages ------------------------------------------------------------------
    async def start_message(self, request_id: str, **fields: str) -> None:
        """Record what the ingress knows of a request's message (who asked, what)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.msg_key(request_id), mapping=fields)
            pipe.expire(self.msg_key(request_id), RETENTION_S)
            await guarded(pipe.execute)

    async def forget_message(self, request_id: str) -> None:
        """Drop the record of a request that was not accepted (a duplicate, a failure)."""
        await guarded(lambda: self.redis.delete(self.msg_key(request_id)))

    async def came_from_slack(self, request_id: str, conversation_id: str) -> bool:
        """True when the ingress recorded ``request_id`` as a Slack request of this conversation
        (records from before ``origin`` existed carry the asker as ``user``)."""
        origin, user, conv = await self.redis.hmget(
            self.msg_key(request_id), ["origin", "user", "conversation_id"])
        return conv == conversation_id and (origin == "slack" or bool(user))

    async def apply(
        self, conversation_id: str, entry_id: str, request_id: str | None,
        fields: dict[str, str], step: bool, send_at_ms: int,
    ) -> None:
        """Apply one event to its request's message and move the cursor, atomically."""
        async with self.redis.pipeline(transaction=True) as pipe:
            if request_id and fields:
                key = self.msg_key(request_id)
                pipe.hset(key, mapping={"conversation_id": conversation_id, **fields})
                if step:
                    pipe.hincrby(key, "steps", 1)
                pipe.hincrby(key, "version", 1)
                pipe.expire(key, RETENTION_S)
                pipe.zadd(self.dirty_key, {request_id: send_at_ms}, nx=True)
                if fields.get("phase") == "question":  # the conversation's open question
                    pipe.hset(self.conv_key(conversation_id), "asking", request_id)
            pipe.hset(self.cursor_key, conversation_id, entry_id)
            pipe.zadd(self.active_key, {conversation_id: now_ms()})
            await pipe.execute()

    async def message(self, request_id: str) -> dict[str, str]:
        return await self.redis.hgetall(self.msg_key(request_id))  # type: ignore[no-any-return]

    async def claim_answer(self, request_id: str, user: str, value: str) -> bool:
        """Mark a question answered (``value`` "" : in words, in the thread); False when someone
        answered it already. Its buttons disappear at the next send."""
        key = self.msg_key(request_id)
        if not await guarded(lambda: self.redis.hsetnx(key, "answered_by", user)):
            return False
        conversation = await self.redis.hget(key, "conversation_id")
        async with self.redis.pipeline(transaction=True) as pipe:
            if conversation:
                pipe.hdel(self.conv_key(conversation), "asking")
            pipe.hset(key, mapping={"answer": value, "phase": "answered"})
            pipe.hincrby(key, "version", 1)
            pipe.zadd(self.dirty_key, {request_id: now_ms()}, nx=True)
            await guarded(pipe.execute)
        return True

    async def release_answer(self, request_id: str) -> None:
        """Undo :meth:`claim_answer` when the answer could not be queued."""
        key = self.msg_key(request_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(key, "answered_by", "answer")
            pipe.hset(key, "phase", "question")
            pipe.hincrby(key, "version", 1)
            await pipe.execute()

    async def request_of_message(self, channel: str, ts: str) -> str | None:
        return await guarded(lambda: self.redis.get(self.posted_key(channel, ts)))

    async def due(self, limit: int = 100) -> list[str]:
        """Requests whose message may be sent now."""
        return await self.redis.zrangebyscore(  # type: ignore[no-any-return]
            self.dirty_key, "-inf", now_ms(), start=0, num=limit
        )

    async def mark_posting(self, request_id: str) -> None:
        await self.redis.hset(self.msg_key(request_id), "posting", "1")

    async def record_posted(self, request_id: str, channel: str, ts: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.msg_key(request_id), mapping={"ts": ts, "channel": channel})
            pipe.hdel(self.msg_key(request_id), "posting")
            pipe.set(self.posted_key(channel, ts), request_id, ex=RETENTION_S)
            await pipe.execute()

    async def forget_ts(self, request_id: str) -> None:
        await self.redis.hdel(self.msg_key(request_id), "ts", "posting")

    async def settle(self, request_id: str, sent_version: int, next_at_ms: int) -> None:
        """Record a send; keep the message dirty (for ``next_at_ms``) if it changed meanwhile."""
        await self.redis.hset(
            self.msg_key(request_id), mapping={"sent_version": sent_version, "sent_at": now_ms()}
        )
        await self._settle(
            keys=[self.msg_key(request_id), self.dirty_key],
            args=[request_id, sent_version, next_at_ms],
        )

    async def postpone(self, request_id: str, at_ms: int) -> None:
        await self.redis.zadd(self.dirty_key, {request_id: at_ms}, xx=True)

    async def give_up(self, request_id: str, reason: str) -> None:
        """A permanent Slack error: record why and stop trying."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.msg_key(request_id), "failed", reason)
            pipe.zrem(self.dirty_key, request_id)
            await pipe.execute()


def loads(value: str | None, default: Any) -> Any:
    """JSON stored in a hash field, or ``default`` when absent."""
    return json.loads(value) if value else default
