"""Notices: what archops tells a project's people outside a conversation (alerts, digests).

The port between a part that has something to say (the monitor) and an edge that says it
(Slack). The producer publishes a :class:`Notice` to one Redis stream, ``{prefix}:notify``; an
edge consumes it with :class:`NoticeConsumer` and a ``send`` coroutine of its own. Slack's is
:func:`slack_sender` over its Web API client (``chat.postMessage`` of ``notice.slack_message()``)::

    await NoticeConsumer(redis, prefix, slack_sender(client), consumer=instance_id).run(stop)

Guarantees:

- a notice is published once per ``id`` (``SET NX`` of ``{prefix}:notify:id:{id}`` and the
  ``XADD`` in one script), so a monitor that retries, or two that race, post one message;
- a consumer acknowledges a notice only after ``send`` returned: one that raises stays pending
  and is claimed again after ``min_idle_ms`` (by this or another consumer of the group), up to
  ``max_deliveries``, then it moves to ``{prefix}:notify:dead`` with the error;
- every consumer group sees every notice (Slack is one group; another edge can be another).

A notice is already grouped: one alert carries every severe finding of a project found since
the last one, one digest a project's week. Its ``text`` is the whole message in the project's
language (the fallback Slack shows in notifications); ``slack_message()`` adds blocks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import ResponseError

from core.logging import get_logger
from core.redis_client import RETRYABLE

log = get_logger("archops.notify")

NOTICE_VERSION = 1
DEDUPE_TTL_S = 30 * 24 * 3600
RETENTION_S = 14 * 24 * 3600
SEVERITY_MARK = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":white_circle:"}

# claim the id, append the notice, trim entries older than the retention (by MINID)
_PUBLISH = """
if redis.call('set', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return false end
local id = redis.call('xadd', KEYS[2], '*', 'body', ARGV[2])
redis.call('xtrim', KEYS[2], 'MINID', '~', ARGV[3])
return id
"""


class NoticeItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    insight_id: str
    severity: Literal["info", "warning", "critical"]
    title: str
    detail: str = ""  # the evidence and the recommendation, one or two sentences
    resource: str = ""
    monthly_usd: float | None = None


class Notice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    id: str = Field(min_length=1, max_length=300)  # the same notice always has the same id
    kind: Literal["alert", "digest"]
    project_id: str
    channel: str | None = None  # the project's Slack channel; None: no channel bound
    language: Literal["en", "ko"] = "en"
    title: str
    text: str
    items: list[NoticeItem] = Field(default_factory=list)
    link: str | None = None  # the project's metrics page
    created_at: float = Field(default_factory=time.time)

    def slack_message(self, max_items: int = 10) -> dict[str, Any]:
        """Keyword arguments for ``chat.postMessage``: channel, the text fallback, blocks."""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}}]
        for item in self.items[:max_items]:
            line = f"{SEVERITY_MARK[item.severity]} *{_mrkdwn(item.title)}*"
            if item.detail:
                line += f"\n{_mrkdwn(item.detail)}"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line[:2900]}})
        more = len(self.items) - max_items
        footer = []
        if more > 0:
            footer.append(f"+{more} " + ("more" if self.language == "en" else "건 더"))
        if self.link:
            footer.append(f"<{self.link}|{'metrics' if self.language == 'en' else '지표 보기'}>")
        if footer:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(footer)}]})
        if not self.items:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(self.text)[:2900]}})
        return {
            "channel": self.channel, "text": self.text[:3900], "blocks": blocks,
            "unfurl_links": False, "unfurl_media": False,
            # lets an edge find a message it posted before a crash (no double post)
            "metadata": {"event_type": "archops_notice", "event_payload": {"notice_id": self.id}},
        }


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def stream_key(prefix: str) -> str:
    return f"{prefix}:notify"


class Notices:
    """Publishes notices (the producer side)."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "archops",
                 retention_s: int = RETENTION_S) -> None:
        self.redis = redis
        self.prefix = prefix
        self.retention_s = retention_s
        self._script = redis.register_script(_PUBLISH)

    async def publish(self, notice: Notice) -> str | None:
        """The stream entry id, or None when a notice with this id was published before."""
        oldest = f"{int((time.time() - self.retention_s) * 1000)}-0"
        entry = await self._script(
            keys=[f"{self.prefix}:notify:id:{notice.id}", stream_key(self.prefix)],
            args=[DEDUPE_TTL_S, notice.model_dump_json(), oldest])
        if entry is None:
            log.info("notice already published", notice_id=notice.id)
            return None
        return entry.decode() if isinstance(entry, bytes) else str(entry)

    async def read(self, count: int = 100) -> list[Notice]:
        """The newest notices (newest last), for a page or a test to show."""
        entries: list[Any] = list(await self.redis.xrevrange(stream_key(self.prefix), count=count) or [])
        return [Notice.model_validate_json(_body(fields)) for _id, fields in reversed(entries)]


Send = Callable[[Notice], Awaitable[None]]


def slack_sender(client: Any) -> Send:
    """The Slack edge's ``send``: ``chat.postMessage`` on its Web API client (a slack_sdk
    ``AsyncWebClient``); a notice of a project without a channel is dropped. A Slack error
    raises, so the notice stays pending and is retried."""

    async def send(notice: Notice) -> None:
        if not notice.channel:
            log.info("notice without a channel: not posted", notice_id=notice.id)
            return
        await client.chat_postMessage(**notice.slack_message())

    return send


class NoticeConsumer:
    """Delivers notices to ``send``, once each per group, retrying what failed (see above)."""

    def __init__(self, redis: aioredis.Redis, prefix: str, send: Send, *, group: str = "slack",
                 consumer: str = "edge", max_deliveries: int = 5, min_idle_ms: int = 30_000,
                 block_ms: int = 1000) -> None:
        self.redis, self.prefix, self.send = redis, prefix, send
        self.group, self.consumer = group, consumer
        self.max_deliveries, self.min_idle_ms, self.block_ms = max_deliveries, min_idle_ms, block_ms
        self.stream = stream_key(prefix)

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stop: Any) -> None:
        """Deliver until ``stop`` (an asyncio.Event) is set; Redis outages are waited out."""
        import asyncio

        await self.ensure_group()
        while not stop.is_set():
            try:
                await self.step()
            except RETRYABLE as exc:
                log.warning("notices: redis unavailable", error=str(exc))
                await asyncio.sleep(1.0)

    async def step(self) -> int:
        """Claim stale pending notices, then read new ones; deliver each. How many were acked."""
        done = 0
        claimed: Any = await self.redis.xautoclaim(self.stream, self.group, self.consumer,
                                                   min_idle_time=self.min_idle_ms, start_id="0-0", count=50)
        for entry_id, fields in claimed[1]:
            if fields is not None:
                done += await self._deliver(entry_id, fields, retried=True)
        answer: Any = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                                  count=50, block=self.block_ms)
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                done += await self._deliver(entry_id, fields, retried=False)
        return done

    async def _deliver(self, entry_id: str, fields: dict[Any, Any], *, retried: bool) -> int:
        try:
            notice = Notice.model_validate_json(_body(fields))
        except ValueError as exc:
            await self._dead(entry_id, fields, f"malformed notice: {exc}")
            return 0
        if retried:
            info = await self.redis.xpending_range(self.stream, self.group, min=entry_id,
                                                   max=entry_id, count=1)
            if info and int(info[0]["times_delivered"]) > self.max_deliveries:
                await self._dead(entry_id, fields, "delivery failed too many times")
                return 0
        try:
            await self.send(notice)
        except Exception as exc:  # the edge's failure: left pending, claimed again later
            log.warning("notice not delivered; it will be retried", notice_id=notice.id,
                        error=str(exc)[:300])
            return 0
        await self.redis.xack(self.stream, self.group, entry_id)
        return 1

    async def _dead(self, entry_id: str, fields: dict[Any, Any] | None, why: str) -> None:
        raw = fields.get("body", fields.get(b"body", "")) if fields else ""
        await self.redis.xadd(f"{self.stream}:dead", {"body": str(raw)[:100_000], "error": why},
                              maxlen=10_000, approximate=True)
        await self.redis.xack(self.stream, self.group, entry_id)
        log.error("notice dropped", entry_id=entry_id, reason=why)


def _body(fields: dict[Any, Any]) -> str:
    body = fields.get("body", fields.get(b"body"))
    if isinstance(body, bytes):
        body = body.decode()
    if not isinstance(body, str):
        raise ValueError("a notice entry without a body")
    json.loads(body)  # fail early on what is not JSON
    return body


__all__ = ["Notice", "NoticeConsumer", "NoticeItem", "Notices", "slack_sender", "stream_key"]
