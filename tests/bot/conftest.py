"""The Slack edge under test: the real bolt app over HTTP, a Slack Web API stand-in, real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.service import EVENTS_PATH, Bot, build_bot
from core.bus import EventLog, Keys
from core.settings import Settings
from tests.bot.slack_requests import SECRET
from tests.bot.slack_standin import SlackStandin


@pytest.fixture
def keys(prefix: str) -> Keys:
    return Keys(prefix, partitions=4)


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandin]:
    standin = SlackStandin()
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
def settings(slack: SlackStandin, prefix: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        redis_prefix=prefix,
        partitions=4,
        slack_bot_token=SecretStr("xoxb-test-0000-archops"),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=slack.url,
        public_url="https://archops.example.com",
        slack_egress="inline",  # the egress runs in the test's loop (its own process: test_service)
    )


@pytest.fixture
async def make_bot(settings: Settings, redis_url: str) -> AsyncIterator[Callable[..., Any]]:
    """Start a bot (its HTTP app on a free port); a second call is a restarted bot."""
    servers: list[TestServer] = []

    async def make(**kwargs: Any) -> tuple[Bot, str]:
        kwargs.setdefault("min_interval_s", 0.05)
        bot = build_bot(settings, redis_url, **kwargs)
        server = TestServer(bot.app)
        await server.start_server()
        servers.append(server)
        bot.egress.block_ms = 20
        return bot, str(server.make_url(EVENTS_PATH))

    yield make
    for server in servers:
        await server.close()


@pytest.fixture
async def bot(make_bot: Callable[..., Any]) -> tuple[Bot, str]:
    return await make_bot()  # type: ignore[no-any-return]


@pytest.fixture
def events(redis: Any, keys: Keys) -> EventLog:
    return EventLog(redis, keys)


