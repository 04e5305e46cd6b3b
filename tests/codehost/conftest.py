"""Fixtures of the code-host tests: the GitHub stand-in, a bare repository, and request contexts
that are the worker's own (:class:`core.bus.context.DeliveryContext` on the tests' redis-server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.bus import EventLog, Keys, scripts
from core.bus.autopipe import autopipe
from core.bus.context import DeliveryContext
from core.codehost.local import LocalHost
from core.envelope import Envelope
from tests.codehost.github_standin import GitHubStandIn

LEASE_TOKEN = "test-worker:0001"


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    standin = GitHubStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def bare(tmp_path) -> LocalHost:
    return LocalHost.ensure(tmp_path / "repos" / "shop.git", "shop", web_base="http://archops.test")


@pytest.fixture
def keys(prefix: str) -> Keys:
    return Keys(prefix, partitions=1)


def envelope(conversation: str, request: str, text: str = "a web shop") -> Envelope:
    return Envelope(conversation_id=conversation, request_id=request, source="web", user="alice",
                    text=text)


@pytest.fixture
def make_ctx(redis, keys):  # type: ignore[no-untyped-def]
    """A delivery of a request as the worker makes it: events and effects recorded in Redis,
    fenced by the partition lease (held by these tests)."""
    events = EventLog(redis, keys)
    record = autopipe(redis).script(scripts.RECORD)

    async def make(conversation: str, request: str, attempt: int = 1) -> DeliveryContext:
        await redis.set(keys.lease(0), LEASE_TOKEN, px=600_000)
        return DeliveryContext(envelope(conversation, request), attempt, redis=redis, keys=keys,
                               events=events, lease=(keys.lease(0), LEASE_TOKEN), record=record)

    make.events = events  # type: ignore[attr-defined]
    return make


async def events_of(events: EventLog, conversation: str) -> list[dict[str, Any]]:
    return [{"type": e.type, "text": e.text, **e.data} for e in await events.read(conversation)]
