"""Events of Slack conversations -> one Slack message per request, updated in place.

Two loops share the work:

* the follower XREADs the event streams of the active Slack conversations from their cursors
  and applies each event to its request's message state in Redis (state, cursor and a "dirty"
  mark in one transaction: a restart resumes at the cursor, repeating and missing nothing);
* the sender posts or updates the dirty messages, at most one send per message every
  ``min_interval_s``, and at most one write per channel every ``channel_interval_s`` (Slack
  allows about one message per second per channel), so a burst of status events becomes one
  update.

Only Slack's own requests are shown: an event is applied only when its request was recorded by
the ingress from a verified Slack request of that conversation (:meth:`SlackState.came_from_slack`).
An envelope that merely names a ``slack:`` conversation id (a web or CLI request, a forged one)
makes the bot post nothing: its events move the cursor and are otherwise ignored.

No double reply: the message ts is recorded per request. Between ``chat.postMessage`` and that
record a crash could post twice, so a message is posted with metadata naming its request, and a
request marked "posting" without a ts is first looked up in the thread before posting again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import LinkMaker, render
from bot.leader import Lease
from bot.state import SlackState, now_ms
from core.bus.keys import Keys
from core.events import Event
from core.logging import get_logger
from core.redis_client import RETRYABLE

log = get_logger("archops.bot.egress")

METADATA_TYPE = "archops_request"
_RETRY_LATER_MS = 2000
_FIND_PAGES = 5
# Slack errors that say "not now" rather than "never"
TRANSIENT_ERRORS = frozenset({
    "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited",
    "team_added_to_org",
})


def fields_of(event: Event) -> tuple[dict[str, str], bool]:
    """The message-state fields an event sets, and whether it counts as a step."""
    if event.type == "status":
        return {"phase": "working", "status": event.text or ""}, True
    if event.type == "artifact" and "files" in event.data:
        files = event.data["files"]
        names = sorted(files) if isinstance(files, dict) else [str(f) for f in files]
        return {"files": json.dumps(names)}, False
    if event.type == "question":
        question = event.data.get("question") or {"id": "q", "prompt": event.text or ""}
        return {"phase": "question", "question": json.dumps(question),
                "final": event.text or ""}, False
    if event.type == "done":
        return {"phase": "done", "final": event.text or ""}, False
    if event.type == "error":
        return {"phase": "error", "final": event.text or "",
                "hint": str(event.data.get("hint") or "")}, False
    return {}, False  # tokens and other artifacts do not change the Slack message


class SlackEgress:
    """Follows Slack conversations' events and keeps each request's Slack message current."""

    def __init__(
        self, redis: aioredis.Redis, keys: Keys, state: SlackState, client: AsyncWebClient, *,
        links: LinkMaker | None = None, min_interval_s: float = 1.0, block_ms: int = 500,
        active_window_s: int = 7 * 24 * 3600, tick_s: float = 0.1, lease: Lease | None = None,
        channel_interval_s: float | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.state = state
        self.client = client
        self.links = links
        self.interval_ms = int(min_interval_s * 1000)
        self.channel_interval_ms = int(
            (min_interval_s if channel_interval_s is None else channel_interval_s) * 1000)
        self._channel_next: dict[str, int] = {}  # channel -> when it may be written again (ms)
        self.block_ms = block_ms
        self.active_window_s = active_window_s
        self.tick_s = tick_s
        self.lease = lease
        self._wake = asyncio.Event()
        self._events_prefix = keys.events("")

    # -- following -------------------------------------------------------------------------
    async def follow_once(self, block_ms: int | None = None) -> int:
        """Read and apply the next events of the followed conversations; return how many."""
        cursors = await self.state.followed(self.active_window_s)
        if not cursors:
            await asyncio.sleep((block_ms if block_ms is not None else self.block_ms) / 1000)
            return 0
        streams = {self.keys.events(cid): cursor for cid, cursor in cursors.items()}
        replies = await self.redis.xread(
            streams, count=200, block=block_ms if block_ms is not None else self.block_ms
        )
        applied = 0
        ours: dict[tuple[str, str], bool] = {}  # (conversation, request) -> came from Slack
        for stream, entries in replies or []:
            cid = stream[len(self._events_prefix):]
            for entry_id, raw in entries:
                try:
                    event = Event.from_fields(entry_id, raw)
                except (ValueError, TypeError) as exc:
                    log.warning("unreadable event skipped", entry_id=entry_id, error=str(exc))
                    event = None
                fields, step = fields_of(event) if event else ({}, False)
                request_id = event.request_id if event else None
                if request_id and fields:
                    if (cid, request_id) not in ours:
                        ours[(cid, request_id)] = await self.state.came_from_slack(request_id, cid)
                        if not ours[(cid, request_id)]:
                            log.warning("event of a request that did not come from Slack ignored",
                                        conversation_id=cid, request_id=request_id)
                    if not ours[(cid, request_id)]:
                        fields, step = {}, False
                await self.state.apply(cid, entry_id, request_id, fields, step, now_ms())
                applied += 1
        if applied:
            self._wake.set()
        return applied

    # -- sending ---------------------------------------------------------------------------
    async def flush_once(self) -> int:
        """Send every message that is due; return how many were sent."""
        sent = 0
        for request_id in await self.state.due():
            if await self._flush(request_id):
                sent += 1
        return sent

    async def _flush(self, request_id: str) -> bool:
        state = await self.state.message(request_id)
        if not state:  # the record expired: nothing left to show
            await self.redis.zrem(self.state.dirty_key, request_id)
            return False
        if state.get("origin") != "slack" and not state.get("user"):
            await self.state.give_up(request_id, "not a request that came from Slack")
            return False
        version = int(state.get("version") or 0)
        if state.get("failed") or version <= int(state.get("sent_version") or 0):
            await self.state.settle(request_id, version, now_ms())
            return False
        next_at = int(state.get("sent_at") or 0) + self.interval_ms
        if next_at > now_ms():
            await self.state.postpone(request_id, next_at)
            return False
        conv = await self.state.conversation(state.get("conversation_id", ""))
        if not conv.get("channel"):
            await self.state.give_up(request_id, "no Slack channel recorded for the conversation")
            return False
        channel = state.get("channel") or conv["channel"]
        if self._channel_next.get(channel, 0) > now_ms():
            await self.state.postpone(request_id, self._channel_next[channel])
            return False
        self._channel_next = {c: t for c, t in self._channel_next.items() if t > now_ms()}
        self._channel_next[channel] = now_ms() + self.channel_interval_ms
        try:
            await self._send(request_id, state, conv)
        except SlackApiError as exc:
            await self._on_slack_error(request_id, exc)
            return False
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("slack unreachable; will retry", request_id=request_id, error=str(exc))
            await self.state.postpone(request_id, now_ms() + _RETRY_LATER_MS)
            return False
        await self.state.settle(request_id, version, now_ms() + self.interval_ms)
        return True

    async def _send(self, request_id: str, state: dict[str, str], conv: dict[str, str]) -> None:
        text, blocks = render(state, self.links)
        channel = state.get("channel") or conv["channel"]
        ts = state.get("ts")
        thread_ts = conv.get("thread_ts") or None
        if not ts and state.get("posting"):
            ts = await self._find_posted(request_id, channel, thread_ts)
            if ts:
                await self.state.record_posted(request_id, channel, ts)
        if ts:
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            return
        await self.state.mark_posting(request_id)
        response = await self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=blocks,
            metadata={"event_type": METADATA_TYPE, "event_payload": {"request_id": request_id}},
        )
        ts = str(response["ts"])
        await self.state.record_posted(request_id, channel, ts)
        if not thread_ts:
            await self.state.set_thread_root(
                state["conversation_id"], conv.get("team", "-"), channel, ts)

    async def _find_posted(self, request_id: str, channel: str, thread_ts: str | None) -> str | None:
        """The ts of a message posted for ``request_id`` before a crash, if Slack has one."""
        cursor = None
        for _page in range(_FIND_PAGES):
            if thread_ts:
                response = await self.client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200,
                    cursor=cursor)
            else:  # a root message of a slash command: among the channel's latest
                response = await self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=200, cursor=cursor)
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (metadata.get("event_type") == METADATA_TYPE
                        and payload.get("request_id") == request_id):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    async def _on_slack_error(self, request_id: str, exc: SlackApiError) -> None:
        error = str(exc.response.get("error") or "unknown_error")
        if error in TRANSIENT_ERRORS or exc.response.status_code == 429:
            headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
            retry_after = headers.get("retry-after")
            wait_ms = int(float(retry_after[0] if isinstance(retry_after, list) else retry_after)
                          * 1000) if retry_after else _RETRY_LATER_MS
            log.info("slack says later", request_id=request_id, error=error, wait_ms=wait_ms)
            await self.state.postpone(request_id, now_ms() + wait_ms)
        elif error == "message_not_found":
            await self.state.forget_ts(request_id)  # deleted in Slack: post it again
            await self.state.postpone(request_id, now_ms())
        else:
            log.warning("slack refused the message", request_id=request_id, error=error)
            await self.state.give_up(request_id, error)

    # -- loops -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Follow and send until ``stop`` is set; Redis outages are waited out."""
        tasks = [asyncio.create_task(self._loop(stop, self._follow_step)),
                 asyncio.create_task(self._loop(stop, self._flush_step))]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.lease is not None:
                with contextlib.suppress(*RETRYABLE):
                    await self.lease.release()

    async def _follow_step(self) -> None:
        await self.follow_once()

    async def _flush_step(self) -> None:
        await self.flush_once()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.tick_s):
                await self._wake.wait()
        self._wake.clear()

    async def _loop(self, stop: asyncio.Event, step: Any) -> None:
        while not stop.is_set():
            try:
                if self.lease is not None and not await self.lease.hold():
                    await asyncio.sleep(self.lease.ttl_ms / 1000 / 4)  # another bot writes
                    continue
                await step()
            except RETRYABLE as exc:
                log.warning("redis unavailable; slack egress waits", error=str(exc))
                await asyncio.sleep(1)
