"""What a request handler gets from the worker: the envelope, events out, effects once.

The worker builds a :class:`RequestContext` for each delivery of a request. ``emit`` and ``once``
are idempotent across redeliveries: a request that is processed again after a crash re-emits no
event and repeats no side effect that the earlier delivery already completed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from core.envelope import Envelope
from core.events import EventType

T = TypeVar("T")


class RequestContext(Protocol):
    envelope: Envelope
    # how many times this request has been delivered (1 on the first try)
    attempt: int

    async def emit(self, type: EventType, text: str | None = None, **data: Any) -> None:
        """Send an event to whoever follows the conversation (at most once per position)."""

    async def once(
        self,
        name: str,
        fn: Callable[[], Awaitable[T]],
        *,
        reconcile: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        """Run a side effect (a reply, a commit, a pull request) at most once per request.

        The result must be JSON-serialisable: a redelivery gets the recorded result back
        without running ``fn`` again. When an earlier delivery crashed inside ``fn``,
        ``reconcile`` (when given) asks the outside world whether the effect happened; its
        non-None answer is recorded instead of running ``fn`` again.
        """

    async def notice(self, key: str, text: str, **data: Any) -> None:
        """A status event sent at most once per ``key``, outside the numbered sequence of the
        request's events (what a waiting effect says, which a redelivery may not repeat)."""


Handler = Callable[[RequestContext], Awaitable[None]]
