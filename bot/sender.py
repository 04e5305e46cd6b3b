"""The sender: one queue per Slack channel, written at Slack's per-channel pace, many at once.

Slack allows about one message write per second per channel, and answers a burst beyond it with
HTTP 429 and ``Retry-After``. So each channel has its own queue of cards waiting to be written,
drained by its own task: at most one write per ``interval_s`` in that channel, while any number
of channels are written in parallel (at most ``concurrency`` calls in flight in all). A 429
pauses only its channel, for as long as ``Retry-After`` says (the Web API client never sleeps
inside a call: its rate-limit retry handler is off); every other channel goes on.

A queue holds each card once: a card changed again while its channel waits (paced, or paused by
a 429) is still one entry, and when its turn comes its latest state is written, once. So
updates coalesce exactly where Slack makes them wait.

The sender knows no Slack method: ``send(channel, key)`` does the write and reports an
:class:`Outcome`. What must be written lives in Redis (:class:`bot.state.SlackState`'s dirty
set), so the queues are only a schedule: a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.logging import get_logger

log = get_logger("archops.bot.sender")


@dataclass(frozen=True)
class Outcome:
    """What one send did: ``wrote`` when a write reached Slack (the channel's pace applies),
    ``retry_after_s`` when Slack said 429 (the channel waits that long, the card stays queued)."""

    wrote: bool = False
    retry_after_s: float | None = None


SKIPPED = Outcome()
WROTE = Outcome(wrote=True)
Send = Callable[[str, str], Awaitable[Outcome]]


class ChannelSender:
    """Per-channel queues at ``interval_s`` per write; ``concurrency`` writes in flight in all."""

    def __init__(self, send: Send, *, interval_s: float = 1.0, concurrency: int = 32) -> None:
        self._send = send
        self.interval_s = interval_s
        self._slots = asyncio.Semaphore(concurrency)
        self._queues: dict[str, dict[str, None]] = {}  # channel -> keys in order, each once
        self._held: dict[str, str] = {}  # key -> its channel, while queued or being sent
        self._next: dict[str, float] = {}  # channel -> when it may be written again (loop time)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.pauses = 0  # 429s seen (for logs and benchmarks)

    def holds(self, key: str) -> bool:
        return key in self._held

    def waiting(self, channel: str) -> int:
        return len(self._queues.get(channel) or ())

    def paused_for(self, channel: str) -> float:
        """Seconds until ``channel`` may be written again (0: now)."""
        return max(0.0, self._next.get(channel, 0.0) - asyncio.get_running_loop().time())

    def offer(self, channel: str, key: str) -> bool:
        """Queue ``key`` for ``channel``; False when it is queued already (coalesced)."""
        if key in self._held:
            return False
        self._held[key] = channel
        self._queues.setdefault(channel, {})[key] = None
        if channel not in self._tasks:
            self._tasks[channel] = asyncio.get_running_loop().create_task(self._drain(channel))
        return True

    async def _drain(self, channel: str) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queues[channel]
        try:
            while queue:
                wait = self._next.get(channel, 0.0) - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                key = next(iter(queue))
                del queue[key]
                try:
                    async with self._slots:
                        outcome = await self._send(channel, key)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug must not stop the channel: logged, retried later
                    log.exception("slack send failed", channel=channel, key=key, error=repr(exc))
                    outcome = SKIPPED
                if outcome.retry_after_s is not None:
                    self.pauses += 1
                    self._next[channel] = loop.time() + outcome.retry_after_s
                    queue_items = {key: None, **queue}  # it goes first once the channel may write
                    queue.clear()
                    queue.update(queue_items)
                    log.info("slack channel paused", channel=channel, wait_s=outcome.retry_after_s)
                    continue
                self._held.pop(key, None)
                if outcome.wrote:
                    self._next[channel] = loop.time() + self.interval_s
        finally:
            for key in list(queue):
                self._held.pop(key, None)
            self._queues.pop(channel, None)
            self._tasks.pop(channel, None)
            if self._next.get(channel, 0.0) <= loop.time():
                self._next.pop(channel, None)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._held.clear()
