"""The web instance's side of egress routing.

One Pub/Sub subscription per instance receives the events routed to it (see
:mod:`core.bus.egress`) and hands each to the local SSE connections following that conversation.
Pub/Sub can drop messages during a gap, so when the subscription is re-established every
connection is told to catch up from the replayable stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

from core.bus import EventLog
from core.events import Event
from core.logging import get_logger
from core.redis_client import RETRYABLE

log = get_logger("archops.web.hub")
RESYNC = None  # sentinel: "you may have missed events, read the stream"


class Hub:
    def __init__(self, events: EventLog, instance_id: str) -> None:
        self.events = events
        self.instance_id = instance_id
        self.followers: dict[str, set[asyncio.Queue[Event | None]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def follow(self, conversation_id: str) -> asyncio.Queue[Event | None]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=10_000)
        self.followers[conversation_id].add(queue)
        return queue

    def unfollow(self, conversation_id: str, queue: asyncio.Queue[Event | None]) -> None:
        queues = self.followers.get(conversation_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.followers[conversation_id]

    def _deliver(self, event: Event) -> None:
        for queue in list(self.followers.get(event.conversation_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a stuck client: make it catch up from the stream
                with contextlib.suppress(asyncio.QueueEmpty):
                    while True:
                        queue.get_nowait()
                queue.put_nowait(RESYNC)

    def _resync_all(self) -> None:
        for queues in self.followers.values():
            for queue in queues:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(RESYNC)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 5)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        first = True
        while True:
            pubsub = None
            try:
                pubsub = await self.events.subscribe(self.instance_id)
                self.connected.set()
                if not first:
                    self._resync_all()
                first = False
                async for event in self.events.messages(pubsub):
                    self._deliver(event)
            except (*RETRYABLE, TimeoutError) as exc:
                self.connected.clear()
                log.warning("event subscription lost; reconnecting", error=str(exc))
                await asyncio.sleep(0.5)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
