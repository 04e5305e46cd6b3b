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


def action_payload(message_ts: str, action: dict[str, Any], trigger: str, user: str = "U0ALICE",
                   channel: str = "C0INFRA") -> str:
    """A block_actions payload as Slack sends it for a click on ``action`` in a message."""
    body = payload("block_actions.json")
    body["team"]["id"] = "T0ARCH"
    body["user"]["id"] = user
    body["channel"]["id"] = channel
    body["container"] = {"type": "message", "message_ts": message_ts, "channel_id": channel,
                         "is_ephemeral": False}
    body["trigger_id"] = trigger
    body["actions"] = [{"action_ts": "1700000100.000001", "block_id": "b", **action}]
    return form_payload(body)


def answer_click(message_ts: str, question_id: str, value: str, trigger: str,
                 user: str = "U0ALICE") -> str:
    """A click naming a question and a value the way no archops card names them (an old or a
    forged click): the card decides what it answers."""
    return action_payload(message_ts, {"action_id": f"archops:answer:{question_id}:1",
                                       "type": "button", "value": value,
                                       "text": {"type": "plain_text", "text": value}},
                          trigger, user)


def elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every interactive element of a message's blocks."""
    found: list[dict[str, Any]] = []
    for block in message.get("blocks") or []:
        if block.get("type") == "actions":
            found += block["elements"]
        if isinstance(block.get("accessory"), dict):
            found.append(block["accessory"])
    return found


def button(message: dict[str, Any], *, value: str | None = None, text: str | None = None,
           action_id: str | None = None) -> dict[str, Any]:
    for element in elements(message):
        if element.get("type") != "button":
            continue
        if ((value is None or element.get("value") == value)
                and (text is None or text in element["text"]["text"])
                and (action_id is None or element["action_id"].startswith(action_id))):
            return element
    raise AssertionError(f"no button {value or text or action_id} in {json.dumps(message)[:2000]}")


def click(message: dict[str, Any], trigger: str, *, user: str = "U0ALICE", channel: str = "C0INFRA",
          **which: Any) -> str:
    """A click on the button of ``message`` chosen by ``which`` (value=, text=, action_id=)."""
    element = button(message, **which)
    return action_payload(message["ts"], {"action_id": element["action_id"], "type": "button",
                                          "value": element.get("value", ""),
                                          "text": element["text"]}, trigger, user, channel)


def select(message: dict[str, Any], label: str, trigger: str, user: str = "U0ALICE") -> str:
    """A choice in the static select of ``message`` (by the option's label)."""
    [menu] = [e for e in elements(message) if e.get("type") == "static_select"]
    [option] = [o for o in menu["options"] if o["text"]["text"].startswith(label)]
    return action_payload(message["ts"], {"action_id": menu["action_id"], "type": "static_select",
                                          "selected_option": option}, trigger, user)


def submission(view: dict[str, Any], values: dict[str, str], *, user: str = "U0ALICE",
               view_id: str | None = None) -> str:
    """A view_submission payload for a modal archops opened, with ``values`` typed per block."""
    body = payload("view_submission.json")
    body["team"]["id"] = "T0ARCH"
    body["user"].update(id=user, team_id="T0ARCH")
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") == "input":
            action = block["element"]["action_id"]
            state[block["block_id"]] = {action: {"type": "plain_text_input",
                                                 "value": values.get(block["block_id"])}}
    body["view"] = {**body["view"], "id": view_id or view.get("id") or "V1",
                    "callback_id": view["callback_id"], "blocks": view["blocks"],
                    "private_metadata": view.get("private_metadata", ""),
                    "state": {"values": state}, "team_id": "T0ARCH",
                    "app_installed_team_id": "T0ARCH"}
    return form_payload(body)


def command(text: str, trigger: str, *, user: str = "U0ALICE", channel: str = "C0INFRA") -> str:
    from urllib.parse import urlencode

    form = payload("slash_command.parsed.json")
    form.update(command="/archops", text=text, team_id="T0ARCH", channel_id=channel,
                user_id=user, trigger_id=trigger)
    return urlencode(form)


async def run_command(url: str, text: str, trigger: str, **kwargs: Any) -> dict[str, Any]:
    """``/archops TEXT`` as Slack sends it; the JSON the bot answered with."""
    status, body = await post_signed(url, command(text, trigger, **kwargs),
                                     content_type="application/x-www-form-urlencoded")
    assert status == 200, body
    return json.loads(body) if body else {}


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
