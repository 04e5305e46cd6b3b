from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestServer

from core.bus import EventLog, Keys, Submitter
from core.capability import Signer
from web.app import WebContext, create_app
from web.auth import LOCAL_PRINCIPAL, Access, AccessStore
from web.hub import Hub

CLI_TOKEN = "test-cli-token-0123456789abcdef"
# what make_server passes to the Hub (the rest goes to the WebContext: projects, github...)
HUB_OPTIONS = frozenset({"max_pending", "write_timeout_s", "keepalive_s", "check_s", "page",
                         "max_batch", "retry_ms"})


@pytest.fixture
def keys(prefix: str) -> Keys:
    return Keys(prefix, partitions=4)


@pytest.fixture
def signer() -> Signer:
    return Signer([b"k" * 32])


@pytest.fixture
def access_store(redis, keys) -> AccessStore:
    return AccessStore(redis, keys.prefix)


@pytest.fixture
def cli_headers() -> dict[str, str]:
    """The CLI's credential: the servers of these tests accept CLI_TOKEN."""
    return {"Authorization": f"Bearer {CLI_TOKEN}"}


@pytest.fixture
def own(access_store) -> Callable[[str], object]:
    """Make the CLI's principal the owner of a conversation written straight to the event log."""

    async def claim(conversation_id: str, principal: str = LOCAL_PRINCIPAL) -> None:
        await access_store.claim(conversation_id, principal)

    return claim


@pytest.fixture
async def make_server(redis, redis_url, keys, signer) -> AsyncIterator[Callable[..., object]]:
    """A web instance on a free port (or ``port``), sharing the tests' redis-server; options
    named in HUB_OPTIONS go to its :class:`Hub` (heartbeat interval, write timeout...), the
    others to its WebContext (projects, github)."""
    servers: list[TestServer] = []

    async def make(instance_id: str, public_url: str | None = None,
                   slack_sign_in: object = None, drain_timeout_s: float = 5.0,
                   port: int | None = None, **options: object) -> TestServer:
        hub = {k: v for k, v in options.items() if k in HUB_OPTIONS}
        parts = {k: v for k, v in options.items() if k not in HUB_OPTIONS}
        events = EventLog(redis, keys, client_ttl_s=30)
        submitter = Submitter(redis, keys, max_text_chars=1000)
        await submitter.ensure_groups()
        access = Access(AccessStore(redis, keys.prefix), signer, cli_token=CLI_TOKEN,
                        public_url=public_url, slack_sign_in=slack_sign_in)
        ctx = WebContext(submitter, events, Hub(events, instance_id, **hub),  # type: ignore[arg-type]
                         instance_id, access=access, redis_url=redis_url,
                         drain_timeout_s=drain_timeout_s, **parts)  # type: ignore[arg-type]
        server = TestServer(create_app(ctx), port=port)
        await server.start_server()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()
