"""`archops bot`'s composition root: HTTP on a port, Socket Mode with an app token, egress."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import ClientSession
from pydantic import SecretStr

from bot import service
from bot.service import run_bot
from core.events import Event
from tests.bot.slack_requests import event_body, queued, until
from tests.bot.slack_standin import BOT_USER_ID, SlackStandin


@pytest.fixture(autouse=True)
def test_process_keeps_its_gc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "tune_gc", lambda: None)  # run_bot tunes the process's GC


async def test_socket_mode_event_is_acked_queued_and_answered(settings, redis_url, redis, keys,
                                                             events, slack: SlackStandin) -> None:
    settings.slack_app_token = SecretStr("xapp-1-A1-standin")
    settings.bot_port = 0
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    bot = asyncio.create_task(run_bot(settings, redis_url, stop, ready, min_interval_s=0.05))
    try:
        url = await asyncio.wait_for(ready, 10)
        async with ClientSession() as session, session.get(url.replace("/slack/events", "/healthz")) as r:
            assert r.status == 200
        body = json.loads(event_body("Ev500", type="app_mention", user="U0ALICE",
                                     text=f"<@{BOT_USER_ID}> a VPC with private subnets",
                                     ts="1700000700.000100", channel="C0INFRA"))
        await slack.outbox.put({"envelope_id": "env-1", "type": "events_api", "payload": body,
                                "accepts_response_payload": False, "retry_attempt": 0})
        await until(lambda: any(a.get("envelope_id") == "env-1" for a in slack.acks))
        [env] = await queued(redis, keys)
        assert env.text == "a VPC with private subnets"
        await events.append(Event(type="done", conversation_id=env.conversation_id,
                                  request_id=env.request_id, text="VPC designed"))
        await until(lambda: "VPC designed" in str(slack.cards("C0INFRA")))
        [post] = slack.of("chat.postMessage")
        assert post["thread_ts"] == "1700000700.000100"
    finally:
        stop.set()
        await bot


async def test_socket_mode_malformed_payloads_are_acked_and_dropped(settings, redis_url, redis,
                                                                   keys, slack: SlackStandin) -> None:
    settings.slack_app_token = SecretStr("xapp-1-A1-standin")
    settings.bot_port = 0
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    bot = asyncio.create_task(run_bot(settings, redis_url, stop, ready, min_interval_s=0.05))
    try:
        await asyncio.wait_for(ready, 10)
        good = json.loads(event_body("Ev510", type="app_mention", user="U0ALICE",
                                     text=f"<@{BOT_USER_ID}> a queue", ts="1700000710.000100",
                                     channel="C0INFRA"))
        bad = [
            {**good, "event": {**good["event"], "text": 5}},
            {**good, "event": None},
            {**good, "authorizations": "abc"},
            {**good, "type": ["event_callback"]},
        ]
        for index, body in enumerate([*bad, good]):
            await slack.outbox.put({"envelope_id": f"bad-{index}", "type": "events_api",
                                    "payload": body, "accepts_response_payload": False,
                                    "retry_attempt": 0})
        await until(lambda: {f"bad-{i}" for i in range(5)}
                    <= {a.get("envelope_id") for a in slack.acks})
        envs = await queued(redis, keys)
        assert [e.text for e in envs] == ["a queue"]  # only the well-formed one
    finally:
        stop.set()
        await bot


async def test_the_egress_runs_in_a_process_of_its_own_and_comes_back_when_it_dies(
        settings, redis_url, redis, keys, events, slack: SlackStandin) -> None:
    import os
    import signal

    from tests.bot.slack_requests import mention, post_signed

    settings.slack_egress = "process"
    settings.bot_port = 0
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    bot = asyncio.create_task(run_bot(settings, redis_url, stop, ready, min_interval_s=0.05))
    try:
        url = await asyncio.wait_for(ready, 10)
        assert (await post_signed(url, mention("Ev520", f"<@{BOT_USER_ID}> a bucket")))[0] == 200
        await until(lambda: bool(slack.cards("C0INFRA")), timeout=60)  # from the child process
        children = [c for c in slack.calls if c.method == "chat.postMessage"]
        assert len(children) == 1
        [env] = await queued(redis, keys)
        # the egress process dies; another takes its place and goes on where it was
        pid = await wait_for_child()
        os.kill(pid, signal.SIGKILL)
        await events.append(Event(type="done", conversation_id=env.conversation_id,
                                  request_id=env.request_id, text="Written by the next one"))
        await until(lambda: "Written by the next one" in str(slack.cards("C0INFRA")), timeout=60)
        assert len(slack.of("chat.postMessage")) == 1  # no second card
    finally:
        stop.set()
        await bot


async def wait_for_child() -> int:
    import multiprocessing

    for _ in range(100):
        children = [p for p in multiprocessing.active_children() if p.name == "archops-slack-egress"]
        if children:
            return int(children[0].pid)
        await asyncio.sleep(0.05)
    raise AssertionError("no egress process")


async def test_the_monitor_s_notices_are_posted_in_their_project_s_channel(
        settings, redis_url, redis, slack: SlackStandin) -> None:
    from core.notify import Notice, NoticeItem, Notices

    settings.bot_port = 0  # the egress in this process (conftest): notices run beside it
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    bot = asyncio.create_task(run_bot(settings, redis_url, stop, ready, min_interval_s=0.05))
    try:
        await asyncio.wait_for(ready, 10)
        notice = Notice(id="alert:shop:1", kind="alert", project_id="shop", channel="C0SHOP",
                        title="Shop: 1 finding", text="The database is nearly full",
                        items=[NoticeItem(insight_id="i1", severity="critical",
                                          title="RDS storage 92% used", detail="grow it")])
        assert await Notices(redis, settings.redis_prefix).publish(notice)
        [post] = await slack.wait_for("chat.postMessage", timeout=15)
        assert post["channel"] == "C0SHOP" and "RDS storage 92% used" in str(post["blocks"])
        assert post["metadata"]["event_payload"] == {"notice_id": "alert:shop:1"}
    finally:
        stop.set()
        await bot
