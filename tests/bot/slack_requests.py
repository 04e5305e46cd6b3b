"""Helpers the Slack tests share: signed Slack requests, what is on the bus, waiting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession
from slack_sdk.signature import SignatureVerifier

from bot.egress import SlackEgress
from core.bus import Keys
from core.envelope import Envelope

SECRET = "archops-test-signing-secret"

PAYLOADS = Path("/work/shared/reference/slack-payloads")


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


def mention(event_id: str, text: str, ts: str = "1700000001.000100", **extra: Any) -> str:
    return event_body(event_id, type="app_mention", text=text, user="U0ALICE", ts=ts,
                      channel="C0INFRA", event_ts=ts, **extra)


def answer_click(message_ts: str, question_id: str, value: str, trigger: str,
                 user: str = "U0ALICE") -> str:
    body = payload("block_actions.json")
    body["team"]["id"] = "T0ARCH"
    body["user"]["id"] = user
    body["channel"]["id"] = "C0INFRA"
    body["container"] = {"type": "message", "message_ts": message_ts, "channel_id": "C0INFRA",
                         "is_ephemeral": False}
    body["trigger_id"] = trigger
    body["actions"] = [{"action_id": f"archops:answer:{question_id}:1", "block_id": "q",
                        "type": "button", "value": value, "action_ts": "1700000100.000001",
                        "text": {"type": "plain_text", "text": value}}]
    return form_payload(body)


async def queued(redis: Any, keys: Keys) -> list[Envelope]:
    """Every envelope on the ingress streams, in partition order."""
    found: list[Envelope] = []
    for partition in range(keys.partitions):
        for _id, fields in await redis.xrange(keys.ingress(partition)):
            found.append(Envelope.from_fields(fields))
    return found


@contextlib.asynccontextmanager
async def running(egress: SlackEgress) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(egress.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
