"""What the Slack edge remembers in Redis, so that a bot restart repeats nothing and misses nothing.

All keys live under ``{prefix}:slack:``:

``thread:{team}:{channel}:{root_ts}``  -> conversation id (the threads archops is part of)
``conv:{conversation_id}``            hash: team, channel, thread_ts (empty until a root is posted),
                                      owner (who started it)
``card:{conversation_id}``            hash: the conversation's one Slack card: what it shows (the
                                      request, progress, the open question, the answers so far, the
                                      result) and its sending (ts, version, sent_version, digest)
``msg:{request_id}``                  hash: a request the ingress recorded from a verified Slack
                                      request (origin "slack", user, conversation, kind) before it
                                      was submitted: the egress shows no other request's events
``posted:{channel}:{ts}``             -> conversation id of an archops card (clicks find it)
``active``                            sorted set: conversation id -> last activity (ms)
``cursor``                            hash: conversation id -> last event stream id applied
``dirty``                             sorted set: conversation id -> when its card may be sent (ms)
``user:{team}:{user}``                sorted set: a person's latest conversations -> last activity
``team:{team}``                       hash: an uninstalled app or revoked token (state, at, why)

Applying events (the card's fields, the cursor and the dirty mark) is one script that writes only
if the card's version is still the one the changes were computed from, so a crash either applied
an event completely or not at all, and a click that changed the card meanwhile is never
overwritten.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from core.bus.autopipe import autopipe
from core.bus.keys import Keys
from core.errors import ServiceUnavailable
from core.redis_client import RETRYABLE

T = TypeVar("T")
Updates = Callable[[dict[str, str]], Mapping[str, str]]
RETENTION_S = 30 * 24 * 3600
# a finished card quiet this long is no longer followed (a pull request comes within minutes)
SETTLED_S = 3600
USER_CONVERSATIONS = 200  # a person's latest conversations kept for App Home and status
_WATCH_TRIES = 20
_PAGE = 500  # conversations read per command when listing the followed ones

# After a card was sent: record it (and where a new card was posted), then forget the dirty
# mark when nothing changed since, else reschedule. KEYS card, dirty, posted ('' unless posted)
# ARGV cid, sent version, next at, digest ('' : nothing written), now, channel, ts, retention
_SETTLE = """
redis.call('HSET', KEYS[1], 'sent_version', ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'sent_digest', ARGV[4], 'sent_at', ARGV[5]) end
if KEYS[3] ~= '' then
  redis.call('HSET', KEYS[1], 'ts', ARGV[7], 'channel', ARGV[6])
  redis.call('HDEL', KEYS[1], 'posting')
  redis.call('SET', KEYS[3], ARGV[1], 'EX', tonumber(ARGV[8]))
end
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

# A click (or a modal, or words in the thread) answers the card's open question, once:
# KEYS card, dirty; ARGV question key ('' = whichever is open), user, value, label, via, now, cid,
# prompt. Returns the id of the request that asked, or false when nothing is open to answer.
_CLAIM = """
if redis.call('HGET', KEYS[1], 'phase') ~= 'question' then return false end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'question_key') ~= ARGV[1] then return false end
local asked = redis.call('HGET', KEYS[1], 'question_request')
local answers = redis.call('HGET', KEYS[1], 'answers')
local list = {}
if answers and answers ~= '' then list = cjson.decode(answers) end
table.insert(list, {prompt = ARGV[8], label = ARGV[4], by = ARGV[2], via = ARGV[5]})
redis.call('HSET', KEYS[1], 'phase', 'answered', 'answered_by', ARGV[2], 'answer', ARGV[3],
           'answer_label', ARGV[4], 'answer_via', ARGV[5], 'rejected', '',
           'answers', cjson.encode(list))
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('ZADD', KEYS[2], 'LT', ARGV[6], ARGV[7])
return asked or ''
"""

# Undo a claim whose answer could not be queued: the question is open again.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'phase') ~= 'answered' then return 0 end
local answers = redis.call('HGET', KEYS[1], 'answers')
if answers and answers ~= '' then
  local list = cjson.decode(answers)
  table.remove(list)
  if #list == 0 then redis.call('HSET', KEYS[1], 'answers', '[]')
  else redis.call('HSET', KEYS[1], 'answers', cjson.encode(list)) end
end
redis.call('HSET', KEYS[1], 'phase', 'question')
redis.call('HDEL', KEYS[1], 'answered_by', 'answer', 'answer_label', 'answer_via')
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('ZADD', KEYS[2], 'LT', ARGV[1], ARGV[2])
return 1
"""


# The ingress' record of a request, in one round trip (see SlackState.open_request).
# KEYS team, thread ('' when none), conv, msg, card, user, active, cursor, dirty, the bus'
#      idempotency key of the request ('' when none)
# ARGV cid, team, channel, thread_ts, user, request_id, kind, text, now, retention, kept per user
_OPEN = """
if KEYS[10] ~= '' and redis.call('EXISTS', KEYS[10]) == 1 then
  return -1  -- a retry of a request the bus took already: its record and card stand
end
local resumed = redis.call('DEL', KEYS[1])
local ttl = tonumber(ARGV[10])
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], ARGV[1], 'EX', ttl) end
redis.call('HSETNX', KEYS[3], 'owner', ARGV[5])
redis.call('HSETNX', KEYS[3], 'team', ARGV[2])
redis.call('HSETNX', KEYS[3], 'channel', ARGV[3])
redis.call('HSETNX', KEYS[3], 'thread_ts', ARGV[4])
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('HSET', KEYS[4], 'origin', 'slack', 'user', ARGV[5], 'conversation_id', ARGV[1],
           'kind', ARGV[7])
redis.call('EXPIRE', KEYS[4], ttl)
if ARGV[7] == 'text' then
  local phase = redis.call('HGET', KEYS[5], 'phase')
  if not phase then
    redis.call('HSET', KEYS[5], 'user', ARGV[5], 'asked', ARGV[8], 'phase', 'accepted',
               'request_id', ARGV[6], 'team', ARGV[2])
  elseif phase == 'done' or phase == 'error' or phase == 'accepted' then
    redis.call('HSET', KEYS[5], 'follow_up', ARGV[8], 'follow_up_by', ARGV[5],
               'phase', 'accepted', 'request_id', ARGV[6])
  else
    redis.call('HSET', KEYS[5], 'follow_up', ARGV[8], 'follow_up_by', ARGV[5])
  end
  redis.call('HINCRBY', KEYS[5], 'version', 1)
  redis.call('EXPIRE', KEYS[5], ttl)
  redis.call('ZADD', KEYS[9], 'NX', ARGV[9], ARGV[1])
end
redis.call('ZADD', KEYS[6], ARGV[9], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -(tonumber(ARGV[11]) + 1))
redis.call('EXPIRE', KEYS[6], ttl)
redis.call('ZADD', KEYS[7], ARGV[9], ARGV[1])
redis.call('HSETNX', KEYS[8], ARGV[1], '0-0')
return resumed
"""


# A card to send and its conversation; a card without a ts is marked "posting" on the way, and
# said to be "posted_before" when an earlier send marked it and did not record a ts.
_FETCH = """
local card = redis.call('HGETALL', KEYS[1])
if #card > 0 and redis.call('HEXISTS', KEYS[1], 'ts') == 0
   and redis.call('HSETNX', KEYS[1], 'posting', '1') == 0 then
  table.insert(card, 'posted_before')  -- an earlier send may have posted it
  table.insert(card, '1')
end
return {card, redis.call('HGETALL', KEYS[2])}
"""


_READ = "return redis.call('HGETALL', KEYS[1])"

# Events applied to a card, if its version is still the one read. KEYS card, cursor, active,
# dirty; ARGV cid, version read ('*': nothing to change, only the cursor moves), last entry id,
# now, retention, n, field1, value1, ...
_APPLY = """
if ARGV[2] ~= '*' and (redis.call('HGET', KEYS[1], 'version') or '0') ~= ARGV[2] then return 0 end
local n = tonumber(ARGV[6])
if n > 0 then
  redis.call('HSET', KEYS[1], 'conversation_id', ARGV[1], unpack(ARGV, 7, 6 + 2 * n))
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
  redis.call('ZADD', KEYS[4], 'NX', ARGV[4], ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
"""


def _pairs(flat: list[Any]) -> dict[str, str]:
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}


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


def loads(value: str | None, default: Any) -> Any:
    """JSON stored in a hash field, or ``default`` when absent (or not of the default's type)."""
    if not value:
        return default
    try:
        found = json.loads(value)
    except ValueError:
        return default
    if isinstance(default, list) and isinstance(found, dict) and not found:
        return []  # Lua's cjson writes an empty list as {}
    return found if default is None or isinstance(found, type(default)) else default


class SlackState:
    """Redis records of the Slack edge: threads, conversations, cards, cursors, teams."""

    def __init__(self, redis: Any, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self.base = f"{keys.prefix}:slack"
        # the calls made for every request and every card share one round trip per loop turn
        # with each other and with the bus' (core.bus.autopipe), in the order they were made
        pipe = autopipe(redis)
        self._settle = pipe.script(_SETTLE)
        self._open = pipe.script(_OPEN)
        self._fetch = pipe.script(_FETCH)
        self._read = pipe.script(_READ)
        self._apply = pipe.script(_APPLY)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)

    # -- keys ------------------------------------------------------------------------------
    def thread_key(self, team: str, channel: str, root_ts: str) -> str:
        return f"{self.base}:thread:{team}:{channel}:{root_ts}"

    def conv_key(self, conversation_id: str) -> str:
        return f"{self.base}:conv:{conversation_id}"

    def card_key(self, conversation_id: str) -> str:
        return f"{self.base}:card:{conversation_id}"

    def msg_key(self, request_id: str) -> str:
        return f"{self.base}:msg:{request_id}"

    def posted_key(self, channel: str, ts: str) -> str:
        return f"{self.base}:posted:{channel}:{ts}"

    def user_key(self, team: str, user: str) -> str:
        return f"{self.base}:user:{team}:{user}"

    def team_key(self, team: str) -> str:
        return f"{self.base}:team:{team}"

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
        found: str | None = await guarded(
            lambda: self.redis.get(self.thread_key(team, channel, root_ts)))
        return found

    async def open_request(
        self, conversation_id: str, *, team: str, channel: str, thread_ts: str | None,
        user: str, request_id: str, kind: str, text: str | None = None,
        idempotency_key: str | None = None,
    ) -> bool:
        """Before a request is submitted: remember where its conversation lives and who started
        it, record the request as a Slack one, and put it on the card (a new card is posted at
        once: people see that archops took it). One round trip. True when this request resumed
        a team whose app had been uninstalled (a person's request means it is installed again).
        A retry of a request the bus has taken already (the same ``idempotency_key``: Slack
        resends an event it thinks was lost) changes nothing: the card shows no second ask."""
        keys = [self.team_key(team),
                self.thread_key(team, channel, thread_ts) if thread_ts else "",
                self.conv_key(conversation_id), self.msg_key(request_id),
                self.card_key(conversation_id), self.user_key(team, user), self.active_key,
                self.cursor_key, self.dirty_key,
                self.keys.idem(idempotency_key) if idempotency_key else ""]
        resumed = await guarded(lambda: self._open(
            keys=keys, args=[conversation_id, team, channel, thread_ts or "", user, request_id,
                             kind, text or "", now_ms(), RETENTION_S, USER_CONVERSATIONS]))
        return int(resumed) == 1

    async def conversation(self, conversation_id: str) -> dict[str, str]:
        found: dict[str, str] = await self.redis.hgetall(self.conv_key(conversation_id))
        return found

    async def set_thread_root(self, conversation_id: str, team: str, channel: str, ts: str) -> None:
        """A conversation started without a thread (a slash command) lives under ``ts`` now."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.conv_key(conversation_id), "thread_ts", ts)
            pipe.set(self.thread_key(team, channel, ts), conversation_id, ex=RETENTION_S)
            await pipe.execute()

    async def followed(self, window_s: int, settled_s: int = SETTLED_S) -> dict[str, str]:
        """Active conversations and their cursors: those seen within ``window_s``, except those
        whose card is finished (done, failed) and quiet for ``settled_s`` (a new request from
        Slack follows them again; until then nothing of theirs would be shown)."""
        now = now_ms()
        since = now - window_s * 1000
        idle = await self.redis.zrangebyscore(self.active_key, "-inf", f"({since}")
        quiet = await self.redis.zrangebyscore(self.active_key, since, now - settled_s * 1000,
                                               start=0, num=1000)
        settled: list[str] = []
        if quiet:
            async with self.redis.pipeline(transaction=False) as pipe:
                for cid in quiet:
                    pipe.hget(self.card_key(cid), "phase")
                phases = await pipe.execute()
            settled = [cid for cid, phase in zip(quiet, phases, strict=True)
                       if phase in {"done", "error"}]
        if idle or settled:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(self.active_key, *idle, *settled)
                if idle:  # a settled one keeps its cursor: followed again, it goes on from there
                    pipe.hdel(self.cursor_key, *idle)
                await pipe.execute()
        # a page at a time (one long command would hold up Slack's acknowledgements), by ZSCAN:
        # a conversation whose score changes meanwhile is still listed (paging by rank would
        # skip the one that moved into a page already read)
        found: dict[str, str] = {}
        page: list[str] = []

        async def add(ids: list[str]) -> None:
            cursors = await self.redis.hmget(self.cursor_key, ids)
            found.update((cid, cursor or "0-0") for cid, cursor in zip(ids, cursors, strict=True))

        async for cid, score in self.redis.zscan_iter(self.active_key, count=_PAGE):
            if score >= since and cid not in found:
                page.append(cid)
                if len(page) >= _PAGE:
                    await add(page)
                    page = []
        if page:
            await add(page)
        return found

    async def conversations_of(self, team: str, user: str, limit: int = 20) -> list[str]:
        """A person's conversations, the most recently active first."""
        found: list[str] = await self.redis.zrevrange(self.user_key(team, user), 0, limit - 1)
        return found

    # -- requests --------------------------------------------------------------------------
    async def forget_request(self, request_id: str) -> None:
        """Drop the record of a request that was not accepted (a duplicate)."""
        await guarded(lambda: self.redis.delete(self.msg_key(request_id)))

    async def request(self, request_id: str) -> dict[str, str]:
        found: dict[str, str] = await self.redis.hgetall(self.msg_key(request_id))
        return found

    async def came_from_slack(self, request_id: str, conversation_id: str) -> bool:
        """True when the ingress recorded ``request_id`` as a Slack request of this conversation
        (records from before ``origin`` existed carry the asker as ``user``)."""
        origin, user, conv = await self.redis.hmget(
            self.msg_key(request_id), ["origin", "user", "conversation_id"])
        return bool(conv == conversation_id and (origin == "slack" or user))

    # -- cards -----------------------------------------------------------------------------
    async def card(self, conversation_id: str) -> dict[str, str]:
        found: dict[str, str] = await self.redis.hgetall(self.card_key(conversation_id))
        return found

    async def card_to_send(self, conversation_id: str) -> tuple[dict[str, str], dict[str, str]]:
        """(card, conversation) of a card about to be sent, in one round trip. A card never
        posted is marked "posting" first: should the bot die between Slack's answer and its
        record, the next one looks for the card in Slack before posting it again."""
        card, conv = await self._fetch(
            keys=[self.card_key(conversation_id), self.conv_key(conversation_id)], args=[])
        return _pairs(card), _pairs(conv)

    async def cards(self, conversation_ids: list[str]) -> list[dict[str, str]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for cid in conversation_ids:
                pipe.hgetall(self.card_key(cid))
            found: list[dict[str, str]] = await pipe.execute()
        return found

    async def apply(
        self, conversation_id: str, entries: list[tuple[str, Updates | None]],
    ) -> bool:
        """Apply a conversation's next events to its card (each ``updates(card)`` -> changed
        fields, in order) and move the cursor past the last, atomically: the changes are written
        only if the card's version is still the one they were computed from (a click meanwhile
        means computing them again). True when the card changed."""
        key = self.card_key(conversation_id)
        last = entries[-1][0]
        wanted = any(updates is not None for _entry, updates in entries)
        for _ in range(_WATCH_TRIES):
            card = _pairs(await self._read(keys=[key], args=[])) if wanted else {}
            changed: dict[str, str] = {}
            for _entry, updates in entries:
                if updates is not None:
                    changed.update(updates({**card, **changed}))
            flat = [part for pair in changed.items() for part in pair]
            if await self._apply(
                    keys=[key, self.cursor_key, self.active_key, self.dirty_key],
                    args=[conversation_id, (card.get("version") or "0") if wanted else "*",
                          last, now_ms(),
                          RETENTION_S, len(changed), *flat]):
                return bool(changed)
        raise ServiceUnavailable("the card kept changing while an event was applied")

    async def update_card(self, conversation_id: str, fields: Mapping[str, str], *,
                          send_at_ms: int | None = None) -> None:
        """Change a card outside the event stream (an upload's outcome, a pull request)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.card_key(conversation_id), mapping=dict(fields))
            pipe.hincrby(self.card_key(conversation_id), "version", 1)
            pipe.zadd(self.dirty_key, {conversation_id: send_at_ms or now_ms()}, nx=True)
            await pipe.execute()

    async def claim_answer(self, conversation_id: str, *, question_key: str, user: str,
                           value: str, label: str, via: str, prompt: str) -> str | None:
        """Mark the card's open question answered (once); the id of the request that asked, or
        None when it is answered already (or no longer open). Its buttons go at the next send,
        which is due at once."""
        asked = await guarded(lambda: self._claim(
            keys=[self.card_key(conversation_id), self.dirty_key],
            args=[question_key, user, value, label, via, now_ms(), conversation_id, prompt]))
        return None if asked is None else str(asked)

    async def release_answer(self, conversation_id: str) -> None:
        """Undo :meth:`claim_answer` when the answer could not be queued."""
        await self._release(keys=[self.card_key(conversation_id), self.dirty_key],
                            args=[now_ms(), conversation_id])

    async def conversation_of_card(self, channel: str, ts: str) -> str | None:
        found: str | None = await guarded(lambda: self.redis.get(self.posted_key(channel, ts)))
        return found

    # -- sending ---------------------------------------------------------------------------
    async def due(self, limit: int = 500) -> list[str]:
        """Conversations whose card may be sent now."""
        found: list[str] = await self.redis.zrangebyscore(
            self.dirty_key, "-inf", now_ms(), start=0, num=limit)
        return found

    async def record_posted(self, conversation_id: str, channel: str, ts: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.card_key(conversation_id), mapping={"ts": ts, "channel": channel})
            pipe.hdel(self.card_key(conversation_id), "posting")
            pipe.set(self.posted_key(channel, ts), conversation_id, ex=RETENTION_S)
            await pipe.execute()

    async def forget_ts(self, conversation_id: str) -> None:
        await self.redis.hdel(self.card_key(conversation_id), "ts", "posting")

    async def settle(self, conversation_id: str, sent_version: int, next_at_ms: int,
                     digest: str | None = None, *, posted: tuple[str, str] | None = None) -> None:
        """Record a send (and, for a new card, where it was ``posted``: channel, ts); keep the
        card dirty (for ``next_at_ms``) if it changed meanwhile. One script, pipelined with the
        other cards' calls of the same moment."""
        channel, ts = posted or ("", "")
        await self._settle(
            keys=[self.card_key(conversation_id), self.dirty_key,
                  self.posted_key(channel, ts) if posted else ""],
            args=[conversation_id, sent_version, next_at_ms, digest or "", now_ms(), channel, ts,
                  RETENTION_S])

    async def postpone(self, conversation_id: str, at_ms: int) -> None:
        await self.redis.zadd(self.dirty_key, {conversation_id: at_ms}, xx=True)

    async def give_up(self, conversation_id: str, reason: str) -> None:
        """A permanent Slack error: record why and stop trying."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.card_key(conversation_id), "failed", reason)
            pipe.zrem(self.dirty_key, conversation_id)
            await pipe.execute()

    async def mark_told(self, conversation_id: str) -> bool:
        """True the first time: the requester is told of a refused write once."""
        told: int = await self.redis.hsetnx(self.card_key(conversation_id), "told", "1")
        return bool(told)

    # -- teams -----------------------------------------------------------------------------
    async def stop_team(self, team: str, state: str, why: str) -> None:
        await self.redis.hset(self.team_key(team), mapping={"state": state, "why": why,
                                                            "at": now_ms()})

    async def team(self, team: str) -> dict[str, str]:
        found: dict[str, str] = await self.redis.hgetall(self.team_key(team))
        return found
