"""Events of Slack conversations -> one Slack card per conversation, updated in place.

Two loops share the work:

* the follower XREADs the event streams of the active Slack conversations from their cursors
  and applies each event to its conversation's card in Redis (:mod:`bot.transitions`; the card's
  fields, the cursor and a "dirty" mark in one transaction: a restart resumes at the cursor,
  repeating and missing nothing). It reads only the streams that grew, as the stream of changes
  (:attr:`core.bus.keys.Keys.changes`) names them, a few hundred per command: one XREAD of
  thousands of streams holds Redis, and every acknowledgement waiting on it, for milliseconds.
  A conversation it had not followed yet is read from its cursor once, and every one of them
  is swept (at start, every ``sweep_s``, after a read that failed, when the lease comes back,
  and when the changes were trimmed past the follower) in case a change went unread;
* the dispatcher hands the dirty cards to the :class:`~bot.sender.ChannelSender`, which writes
  each channel at Slack's per-channel pace, many channels at once, a 429 pausing only its own
  channel; a card is written at most once per ``min_interval_s``, and not at all when what it
  would show is what Slack shows already.

Only Slack's own requests are shown: an event is applied only when its request was recorded by
the ingress from a verified Slack request of that conversation (:meth:`SlackState.came_from_slack`).
An envelope that merely names a ``slack:`` conversation id (a web or CLI request, a forged one)
makes the bot post nothing: its events move the cursor and are otherwise ignored.

No double post: a card's ts is recorded. Between ``chat.postMessage`` and that record a crash
could post twice, so a card is posted with metadata naming its conversation, and a card marked
"posting" without a ts is first looked up in the thread before it is posted again. A design's
zip is uploaded once per version (:mod:`bot.uploads`). When Slack refuses a write for good
(``channel_not_found``, ``not_in_channel``...) the requester is told by direct message, once; a
team whose app was uninstalled gets no more writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.card import RenderContext, render
from bot.leader import Lease
from bot.sender import SKIPPED, ChannelSender, Outcome
from bot.state import SlackState, loads, now_ms
from bot.transitions import updates_for
from bot.uploads import module_zip, zip_name
from core.bus.keys import Keys
from core.events import Event, stream_id_key
from core.logging import get_logger
from core.redis_client import RETRYABLE

log = get_logger("archops.bot.egress")

METADATA_TYPE = "archops_card"
_RETRY_LATER_MS = 2000
_FIND_PAGES = 5
_TEAM_CACHE_S = 1.0
_CHANNEL_CACHE = 50_000
STREAMS_PER_READ = 256  # conversations' streams per XREAD
CHANGES_PER_READ = 2000  # entries of the stream of changes per XREAD
# Slack errors that say "not now" rather than "never"
TRANSIENT_ERRORS = frozenset({
    "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited",
    "team_added_to_org", "upload_failed",
})
# errors of archops' own making (a payload Slack would not take): logged loudly, not retried
OWN_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long",
                        "invalid_arguments", "invalid_metadata_format", "no_text"})


def retry_after(exc: SlackApiError) -> float:
    headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


def _updates(event: Event, request: dict[str, str]) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda card: updates_for(card, event, request)


def digest(text: str, blocks: list[dict[str, Any]]) -> str:
    raw = json.dumps([text, blocks], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class SlackEgress:
    """Follows Slack conversations' events and keeps each conversation's card current."""

    def __init__(
        self, redis: Any, keys: Keys, state: SlackState, client: AsyncWebClient, *,
        render_context: RenderContext | None = None, min_interval_s: float = 1.0,
        block_ms: int = 500, active_window_s: int = 7 * 24 * 3600, tick_s: float = 0.1,
        lease: Lease | None = None, channel_interval_s: float | None = None,
        concurrency: int = 32,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.state = state
        self.client = client
        self.render_context = render_context or RenderContext()
        self.interval_ms = int(min_interval_s * 1000)
        self.sender = ChannelSender(
            self.send_card, concurrency=concurrency,
            interval_s=min_interval_s if channel_interval_s is None else channel_interval_s)
        self.block_ms = block_ms
        self.active_window_s = active_window_s
        self.tick_s = tick_s
        self.lease = lease
        self._wake = asyncio.Event()
        self._events_prefix = keys.events("")
        self._channels: dict[str, str] = {}  # conversation -> its channel (never changes)
        self.refresh_s = 0.5
        self._cursors: dict[str, str] = {}
        self._followed_at = 0.0
        self._follow_stale = True
        self._teams: dict[str, tuple[float, bool]] = {}  # team -> (checked at, stopped)
        self.sweep_s = 30.0
        self._swept_at = -float("inf")
        self._changes_cursor: str | None = None  # in Keys.changes; None: sweep first
        self._read: set[str] = set()  # followed conversations read since they were followed

    # -- following -------------------------------------------------------------------------
    async def _followed(self) -> dict[str, str]:
        """The followed conversations and their cursors: read from Redis at most every
        ``refresh_s`` (or when the ingress of this process opened one), else as last applied."""
        now = time.monotonic()
        if self._follow_stale or now - self._followed_at > self.refresh_s:
            self._follow_stale = False
            self._followed_at = now
            self._cursors = await self.state.followed(self.active_window_s)
        return self._cursors

    async def _to_read(self, cursors: dict[str, str], wait_ms: int) -> list[str]:
        """The followed conversations whose streams may hold new events: all of them on a
        sweep; else those not read since they were followed, and those the stream of changes
        names (waiting up to ``wait_ms`` for one when there is nothing else)."""
        self._read &= cursors.keys()
        if self._changes_cursor is None or time.monotonic() - self._swept_at > self.sweep_s:
            # where the changes are now, then everything: what grows later is in the changes
            last = await self.redis.xrevrange(self.keys.changes, count=1)
            self._changes_cursor = last[0][0] if last else "0-0"
            self._swept_at = time.monotonic()
            self._read = set(cursors)
            return list(cursors)
        due = {cid for cid in cursors if cid not in self._read}
        self._read |= due
        after = self._changes_cursor
        replies = await self.redis.xread({self.keys.changes: after}, count=CHANGES_PER_READ,
                                         block=None if due else max(1, wait_ms))
        for _stream, entries in replies or []:
            if len(entries) == CHANGES_PER_READ and await self._trimmed_past(after):
                self._changes_cursor = None  # this far behind, changes were lost: sweep
                return await self._to_read(cursors, wait_ms)
            for entry_id, fields in entries:
                self._changes_cursor = entry_id
                cid = str(fields.get("s") or "")[len(self._events_prefix):]
                if cid in cursors:
                    due.add(cid)
        return list(due)

    async def _trimmed_past(self, cursor: str) -> bool:
        """Whether the stream of changes no longer holds what came after ``cursor`` (it is
        capped): its first entry is newer than the cursor."""
        first = await self.redis.xrange(self.keys.changes, count=1)
        return bool(first) and stream_id_key(first[0][0]) > stream_id_key(cursor)

    async def follow_once(self, block_ms: int | None = None) -> int:
        """Read and apply the next events of the followed conversations; return how many."""
        wait = self.block_ms if block_ms is None else block_ms
        cursors = await self._followed()
        if not cursors:
            await asyncio.sleep(min(wait / 1000, self.refresh_s))
            return 0
        due = await self._to_read(cursors, min(wait, int(self.refresh_s * 1000)))
        try:
            applied = await self._read_and_apply(due, cursors)
        except BaseException:
            self._changes_cursor = None  # what was due is not all applied: sweep next time
            raise
        if applied:
            self._wake.set()
        return applied

    async def _read_and_apply(self, due: list[str], cursors: dict[str, str]) -> int:
        """Read the ``due`` conversations' streams from their cursors, a few hundred per
        XREAD, and apply what they hold; return how many events."""
        replies: list[Any] = []
        for start in range(0, len(due), STREAMS_PER_READ):
            streams = {self.keys.events(cid): cursors[cid]
                       for cid in due[start:start + STREAMS_PER_READ]}
            replies += await self.redis.xread(streams, count=200) or []
        applied = 0
        records: dict[str, dict[str, str]] = {}
        for stream, entries in replies or []:
            cid = stream[len(self._events_prefix):]
            batch: list[tuple[str, Any]] = []
            for entry_id, raw in entries:
                try:
                    event: Event | None = Event.from_fields(entry_id, raw)
                except (ValueError, TypeError) as exc:
                    log.warning("unreadable event skipped", entry_id=entry_id, error=str(exc))
                    event = None
                request = await self._record(records, event, cid)
                batch.append((entry_id, None if event is None or request is None
                              else _updates(event, request)))
            if batch:
                await self.state.apply(cid, batch)
                cursors[cid] = batch[-1][0]
                applied += len(batch)
            if len(entries) == 200:
                self._read.discard(cid)  # more to come: read it again next time
        return applied

    async def _record(self, records: dict[str, dict[str, str]], event: Event | None, cid: str
                      ) -> dict[str, str] | None:
        """The Slack record of the event's request, or None when it is not a Slack request of
        this conversation (its events are not shown)."""
        if event is None or not event.request_id:
            return None
        if event.request_id not in records:
            record = await self.state.request(event.request_id)
            ours = record.get("conversation_id") == cid and (
                record.get("origin") == "slack" or bool(record.get("user")))
            if not ours:
                log.warning("event of a request that did not come from Slack ignored",
                            conversation_id=cid, request_id=event.request_id)
            records[event.request_id] = record if ours else {}
        return records[event.request_id] or None

    # -- dispatching -----------------------------------------------------------------------
    async def dispatch_once(self) -> int:
        """Hand every due card to its channel's queue; return how many were queued."""
        due = [cid for cid in await self.state.due() if not self.sender.holds(cid)]
        unknown = [cid for cid in due if cid not in self._channels]
        if unknown:
            async with self.redis.pipeline(transaction=False) as pipe:
                for cid in unknown:
                    pipe.hget(self.state.conv_key(cid), "channel")
                found = await pipe.execute()
            if len(self._channels) > _CHANNEL_CACHE:
                self._channels.clear()
            for cid, channel in zip(unknown, found, strict=True):
                self._channels[cid] = channel or ""
        queued = 0
        for cid in due:
            if self.sender.offer(self._channels.get(cid) or "-", cid):
                queued += 1
        return queued

    async def _team_stopped(self, team: str) -> bool:
        now = time.monotonic()
        checked = self._teams.get(team)
        if checked is None or now - checked[0] > _TEAM_CACHE_S:
            stopped = bool((await self.state.team(team)).get("state"))
            self._teams[team] = checked = (now, stopped)
        return checked[1]

    # -- sending one card ------------------------------------------------------------------
    async def send_card(self, channel: str, cid: str) -> Outcome:
        """Write ``cid``'s card if it changed (and its zip once per version)."""
        card, conv = await self.state.card_to_send(cid)
        if not card:  # the record expired: nothing left to show
            await self.redis.zrem(self.state.dirty_key, cid)
            return SKIPPED
        version = int(card.get("version") or 0)
        if card.get("failed") or version <= int(card.get("sent_version") or 0):
            await self.state.settle(cid, version, now_ms())
            return SKIPPED
        if not conv.get("channel"):
            await self.state.give_up(cid, "no Slack channel recorded for the conversation")
            return SKIPPED
        if await self._team_stopped(conv.get("team") or card.get("team") or "-"):
            await self.state.give_up(cid, "the app was uninstalled from this workspace")
            return SKIPPED
        next_at = int(card.get("sent_at") or 0) + self.interval_ms
        if next_at > now_ms():
            await self.state.postpone(cid, next_at)
            return SKIPPED
        text, blocks = render({**card, "conversation_id": cid}, self.render_context)
        shown = digest(text, blocks)
        wrote = False
        posted: tuple[str, str] | None = None
        try:
            if shown != card.get("sent_digest") or not card.get("ts"):
                posted = await self._write(cid, card, conv, text, blocks)
                wrote = True
            if self._upload_due(card):
                if posted is not None:  # the zip goes into the card's thread: record it first
                    await self.state.settle(cid, version, now_ms() + self.interval_ms, shown,
                                            posted=posted)
                    posted = None
                wrote = True
                refused = await self._upload_or_say_why(cid, card, conv)
                if refused is not None:
                    return refused
        except SlackApiError as exc:
            return await self._on_slack_error(cid, card, conv, exc)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("slack unreachable; will retry", conversation_id=cid, error=str(exc))
            await self.state.postpone(cid, now_ms() + _RETRY_LATER_MS)
            return SKIPPED
        if wrote:
            await self.state.settle(cid, version, now_ms() + self.interval_ms, shown,
                                    posted=posted)
        else:  # what Slack shows already: nothing sent
            await self.state.settle(cid, version, now_ms())
        return Outcome(wrote=wrote)

    async def _write(self, cid: str, card: dict[str, str], conv: dict[str, str], text: str,
                     blocks: list[dict[str, Any]]) -> tuple[str, str] | None:
        """Update the card, or post it; (channel, ts) when it was posted (not yet recorded)."""
        channel = card.get("channel") or conv["channel"]
        ts = card.get("ts")
        thread_ts = conv.get("thread_ts") or None
        if not ts and card.get("posted_before"):  # marked posting by a send that never finished
            ts = await self._find_posted(cid, channel, thread_ts)
            if ts:
                await self.state.record_posted(cid, channel, ts)
                card["ts"] = ts
        if ts:
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            return None
        response = await self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=blocks, unfurl_links=False,
            metadata={"event_type": METADATA_TYPE, "event_payload": {"conversation_id": cid}},
        )
        ts = str(response["ts"])
        card["ts"] = ts
        if not thread_ts:  # a slash command's card is its thread's root
            await self.state.record_posted(cid, channel, ts)
            await self.state.set_thread_root(cid, conv.get("team", "-"), channel, ts)
            conv["thread_ts"] = ts
            return None
        return channel, ts

    async def _find_posted(self, cid: str, channel: str, thread_ts: str | None) -> str | None:
        """The ts of a card posted for ``cid`` before a crash, if Slack has one."""
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
                        and payload.get("conversation_id") == cid):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    # -- the zip ---------------------------------------------------------------------------
    @staticmethod
    def _upload_due(card: dict[str, str]) -> bool:
        result = loads(card.get("result"), {})
        version = str(result.get("version") or "")
        uploaded = loads(card.get("zip"), {})
        return bool(version and result.get("entry_id") and card.get("ts")
                    and card.get("upload_version") == version
                    and str(uploaded.get("version") or "") != version
                    and card.get("phase") in {"done", "error"})

    async def _upload_or_say_why(self, cid: str, card: dict[str, str], conv: dict[str, str]
                                 ) -> Outcome | None:
        """Upload the zip; a refusal (a missing scope, files turned off) is shown on the card and
        stops only the upload, never the card. None when it went (or was recorded as refused)."""
        try:
            await self._upload(cid, card, conv)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown_error")
            if exc.response.status_code == 429 or error == "ratelimited":
                return Outcome(wrote=True, retry_after_s=retry_after(exc))
            if error in TRANSIENT_ERRORS:
                await self.state.postpone(cid, now_ms() + _RETRY_LATER_MS)
                return SKIPPED
            log.warning("slack refused the zip", conversation_id=cid, error=error)
            result = loads(card.get("result"), {})
            await self.state.update_card(cid, {"uploading": "", "zip": json.dumps(
                {"version": result.get("version"), "name": zip_name(result), "error": error})})
        return None

    async def _upload(self, cid: str, card: dict[str, str], conv: dict[str, str]) -> None:
        result = loads(card.get("result"), {})
        version, name = int(result["version"]), zip_name(result)
        channel = card.get("channel") or conv["channel"]
        thread_ts = conv.get("thread_ts") or card.get("ts")
        if card.get("uploading") == str(version):  # a crash during the upload: did it land?
            found = await self._find_upload(channel, name)
            if found is not None:
                await self._record_upload(cid, version, name, found)
                return
        files = await self._module_files(cid, str(result["entry_id"]))
        if files is None:
            await self.state.update_card(cid, {"zip": json.dumps(
                {"version": version, "name": name, "error": "the module is no longer kept"})})
            return
        await self.state.update_card(cid, {"uploading": str(version)}, send_at_ms=now_ms() + 60_000)
        folder = name.removesuffix(".zip")
        response = await self.client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, file=module_zip(files, folder),
            filename=name, title=name,
            initial_comment=f"Terraform of version {version} ({len(files)} files)")
        await self._record_upload(cid, version, name, response.get("file") or {})

    async def _record_upload(self, cid: str, version: int, name: str, file: dict[str, Any]) -> None:
        await self.state.update_card(cid, {"uploading": "", "zip": json.dumps({
            "version": version, "name": name, "id": file.get("id"),
            "permalink": file.get("permalink") or file.get("url_private") or ""})})

    async def _find_upload(self, channel: str, name: str) -> dict[str, Any] | None:
        response = await self.client.files_list(channel=channel, count=100)
        for file in response.get("files") or []:
            if file.get("title") == name or file.get("name") == name:
                return dict(file)
        return None

    async def _module_files(self, cid: str, entry_id: str) -> dict[str, Any] | None:
        entries = await self.redis.xrange(self.keys.events(cid), entry_id, entry_id)
        if not entries:
            return None
        event = Event.from_fields(entries[0][0], entries[0][1])
        files = event.data.get("files")
        return files if isinstance(files, dict) else None

    # -- Slack's refusals ------------------------------------------------------------------
    async def _on_slack_error(self, cid: str, card: dict[str, str], conv: dict[str, str],
                              exc: SlackApiError) -> Outcome:
        error = str(exc.response.get("error") or "unknown_error")
        if exc.response.status_code == 429 or error == "ratelimited":
            wait = retry_after(exc)
            log.info("slack says wait", conversation_id=cid, wait_s=wait)
            return Outcome(retry_after_s=wait)  # the card stays dirty and first in its channel
        if error in TRANSIENT_ERRORS:
            log.info("slack says later", conversation_id=cid, error=error)
            await self.state.postpone(cid, now_ms() + _RETRY_LATER_MS)
        elif error == "message_not_found":
            await self.state.forget_ts(cid)  # deleted in Slack: post it again
            await self.state.postpone(cid, now_ms())
        elif error in OWN_ERRORS:
            log.error("slack refused what archops sent", conversation_id=cid, error=error)
            await self.state.give_up(cid, error)
        else:
            log.warning("slack refused the write", conversation_id=cid, error=error)
            await self.state.give_up(cid, error)
            await self._tell_requester(cid, card, conv, error)
        return SKIPPED

    async def _tell_requester(self, cid: str, card: dict[str, str], conv: dict[str, str],
                              error: str) -> None:
        """A refused write is told to the person who asked, in a direct message, once."""
        user = card.get("user") or conv.get("owner")
        if not user or not await self.state.mark_told(cid):
            return
        channel = card.get("channel") or conv.get("channel") or ""
        text = messages.refused_write(channel, error, card.get("asked") or "")
        try:
            await self.client.chat_postMessage(channel=user, text=text)
        except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("could not tell the requester by DM", conversation_id=cid,
                        error=str(exc))

    # -- loops -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Follow and send until ``stop`` is set; Redis outages are waited out."""
        tasks = [asyncio.create_task(self._loop(stop, self._follow_step)),
                 asyncio.create_task(self._loop(stop, self._dispatch_step))]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.sender.close()
            if self.lease is not None:
                with contextlib.suppress(*RETRYABLE):
                    await self.lease.release()

    async def _follow_step(self) -> None:
        await self.follow_once()

    async def _dispatch_step(self) -> None:
        await self.dispatch_once()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.tick_s):
                await self._wake.wait()
        self._wake.clear()

    def wake(self) -> None:
        """Something is due now (a click, a new request): dispatch without waiting a tick, and
        follow the conversations anew (a new one may be among them)."""
        self._follow_stale = True
        self._wake.set()

    async def _loop(self, stop: asyncio.Event, step: Any) -> None:
        while not stop.is_set():
            try:
                if self.lease is not None and not await self.lease.hold():
                    self._changes_cursor = None  # when this bot writes again, it sweeps first
                    await asyncio.sleep(self.lease.ttl_ms / 1000 / 4)  # another bot writes
                    continue
                await step()
            except RETRYABLE as exc:
                log.warning("redis unavailable; slack egress waits", error=str(exc))
                await asyncio.sleep(1)
