"""The Slack edge under test: the real bolt app over HTTP, a Slack Web API stand-in, real Redis."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier

from bot.service import EVENTS_PATH, Bot, build_bot
from core.bus import EventLog, Keys
from core.settings import Settings
from tests.bot.slack_standin import SlackStandin

SECRET = "archops-test-signing-secret"
PAYLOADS = Path("/work/shared/reference/slack-payloads")


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


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


async def post_signed(
    url: str, body: str, *, content_type: str = "application/json",
    headers: dict[str, str] | None = None, timestamp: int | None = None, secret: str = SECRET,
) -> tuple[int, str]:
    """Send ``body`` to the bot as Slack does (signed); return (status, response text)."""
    sent = {"Content-Type": content_type, **sign(body, timestamp, secret), **(headers or {})}
    async with ClientSession() as session, session.post(url, data=body.encode(), headers=sent) as resp:
        return resp.status, await resp.text()


def event_body(event_id: str, **event: Any) -> str:
    body = payload("event_callback_app_mention.json")
    body["team_id"] = "T0ARCH"
    body["event_id"] = event_id
    body["event"] = {"team": "T0ARCH", **event}
    return json.dumps(body)


def form_payload(data: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(data)})
