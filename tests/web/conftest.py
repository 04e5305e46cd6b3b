from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestServer

from core.bus import EventLog, Keys, Submitter
from web.app import WebContext, create_app
from web.hub import Hub


@pytest.fixture
def keys(prefix: str) -> Keys:
    return Keys(prefix, partitions=4)


@pytest.fixture
async def make_server(redis, keys) -> AsyncIterator[Callable[[str], object]]:
    servers: list[TestServer] = []

    async def make(instance_id: str) -> TestServer:
        events = EventLog(redis, keys, client_ttl_s=30)
        submitter = Submitter(redis, keys, max_text_chars=1000)
        await submitter.ensure_groups()
        ctx = WebContext(submitter, events, Hub(events, instance_id), instance_id)
        server = TestServer(create_app(ctx))
        await server.start_server()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()


