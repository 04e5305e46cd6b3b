"""Slack -> the bus: signed requests through the real bolt app over HTTP, read back from Redis."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from bot import messages
from tests.bot.slack_requests import (
    event_body,
    mention,
    payload,
    post_signed,
    queued,
)
from tests.bot.slack_standin import BOT_USER_ID, SlackStandin


async def test_mention_becomes_one_envelope_in_its_thread(bot, redis, keys) -> None:
    _bot, url = bot
    status, _ = await post_signed(url, mention("Ev001", f"<@{BOT_USER_ID}> a web app with Postgres"))
    assert status == 200
    [env] = await queued(redis, keys)
    assert env.source == "slack"
    assert env.text == "a web app with Postgres"
    assert env.user == "U0ALICE"
    assert env.conversation_id == "slack:T0ARCH:C0INFRA:1700000001.000100"
    assert env.reply_to == {"channel": "C0INFRA", "team": "T0ARCH", "thread_ts": "1700000001.000100"}
    assert env.idempotency_key == "slack:event:Ev001"


async def test_mention_inside_a_thread_continues_that_thread(bot, redis, keys) -> None:
    _bot, url = bot
    body = mention("Ev002", f"<@{BOT_USER_ID}> add a cache", ts="1700000009.000100",
                   thread_ts="1700000001.000100")
    assert (await post_signed(url, body))[0] == 200
    [env] = await queued(redis, keys)
    assert env.conversation_id == "slack:T0ARCH:C0INFRA:1700000001.000100"
    assert env.reply_to["thread_ts"] == "1700000001.000100"


async def test_slack_retry_of_the_same_event_is_accepted_once(bot, redis, keys) -> None:
    _bot, url = bot
    body = mention("Ev003", f"<@{BOT_USER_ID}> a queue and a worker")
    assert (await post_signed(url, body))[0] == 200
    for retry in ("1", "2"):
        status, _ = await post_signed(
            url, body, headers={"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"})
        assert status == 200
    assert len(await queued(redis, keys)) == 1


async def test_bad_signature_and_stale_timestamp_are_refused(bot, redis, keys) -> None:
    _bot, url = bot
    body = mention("Ev004", f"<@{BOT_USER_ID}> a bucket")
    assert (await post_signed(url, body, secret="not-the-secret"))[0] == 401
    stale = int(time.time()) - 600
    assert (await post_signed(url, body, timestamp=stale))[0] == 401
    assert await queued(redis, keys) == []


async def test_url_verification_answers_the_challenge(bot) -> None:
    _bot, url = bot
    body = payload("url_verification.json")
    status, text = await post_signed(url, json.dumps(body))
    assert status == 200
    assert body["challenge"] in text


async def test_empty_mention_gets_a_threaded_hint_and_queues_nothing(bot, redis, keys, slack) -> None:
    _bot, url = bot
    assert (await post_signed(url, mention("Ev005", f"<@{BOT_USER_ID}>   ")))[0] == 200
    [reply] = await slack.wait_for("chat.postMessage")
    assert reply["thread_ts"] == "1700000001.000100"
    assert reply["text"] == messages.EMPTY_MENTION
    assert await queued(redis, keys) == []


async def test_oversize_message_is_refused_in_the_thread(bot, redis, keys, slack, settings) -> None:
    _bot, url = bot
    text = "x" * (settings.max_message_chars + 1)
    assert (await post_signed(url, mention("Ev006", f"<@{BOT_USER_ID}> {text}")))[0] == 200
    [reply] = await slack.wait_for("chat.postMessage")
    assert "limit is 8000" in reply["text"] and "Nothing was queued" in reply["text"]
    assert await queued(redis, keys) == []


async def test_direct_message_and_thread_reply_are_requests(bot, redis, keys) -> None:
    _bot, url = bot
    dm = event_body("Ev007", type="message", text="a static site", user="U0BOB",
                    ts="1700000002.000100", channel="D0BOB", channel_type="im")
    assert (await post_signed(url, dm))[0] == 200
    # a reply in a thread archops is part of (the DM's thread) goes on; others are ignored
    reply = event_body("Ev008", type="message", text="in eu-west-1 please", user="U0BOB",
                       ts="1700000003.000100", thread_ts="1700000002.000100", channel="D0BOB",
                       channel_type="im")
    stranger = event_body("Ev009", type="message", text="lunch?", user="U0BOB",
                          ts="1700000004.000100", thread_ts="1600000000.000100",
                          channel="C0RANDOM", channel_type="channel")
    for body in (reply, stranger):
        assert (await post_signed(url, body))[0] == 200
    envs = await queued(redis, keys)
    assert [e.text for e in envs] == ["a static site", "in eu-west-1 please"]
    assert {e.conversation_id for e in envs} == {"slack:T0ARCH:D0BOB:1700000002.000100"}


async def test_bot_messages_edits_and_joins_are_ignored(bot, redis, keys) -> None:
    _bot, url = bot
    bodies = [
        event_body("Ev010", type="message", text="I am a bot", bot_id="B0OTHER", user="U0X",
                   ts="1.1", channel="D0BOB", channel_type="im"),
        event_body("Ev011", type="message", subtype="message_changed", channel="D0BOB",
                   channel_type="im", ts="1.2", message={"text": "edited", "user": "U0BOB"}),
        event_body("Ev012", type="message", subtype="channel_join", user="U0BOB", text="joined",
                   channel="D0BOB", channel_type="im", ts="1.3"),
    ]
    for body in bodies:
        assert (await post_signed(url, body))[0] == 200
    assert await queued(redis, keys) == []


async def test_the_app_s_own_messages_are_never_requests(bot, redis, keys, slack) -> None:
    """The app's own posts come back as events (in its threads, in a direct message); they are
    acknowledged and dropped, whether they carry the app's user or only its bot id."""
    _bot, url = bot
    assert (await post_signed(url, mention("Ev030", f"<@{BOT_USER_ID}> a web app")))[0] == 200
    thread = "1700000001.000100"
    own = [
        event_body("Ev031", type="app_mention", text=f"<@{BOT_USER_ID}> as I said", user=BOT_USER_ID,
                   ts="1700000011.000100", thread_ts=thread, channel="C0INFRA"),
        event_body("Ev032", type="message", text="step 2 of 5", user=BOT_USER_ID,
                   ts="1700000012.000100", thread_ts=thread, channel="C0INFRA",
                   channel_type="channel"),
        event_body("Ev033", type="message", text="hello", user=BOT_USER_ID,
                   ts="1700000013.000100", channel="D0BOB", channel_type="im"),
        event_body("Ev034", type="message", text="hello", bot_id="BARCHOPS",
                   ts="1700000014.000100", channel="D0BOB", channel_type="im"),
    ]
    for body in own:
        assert (await post_signed(url, body))[0] == 200
    assert [e.text for e in await queued(redis, keys)] == ["a web app"]
    assert slack.of("chat.postEphemeral") == []  # nor told that only the owner may ask
    assert len(slack.of("auth.test")) == 1  # asked once, not per event


async def test_slash_command_help_and_start(bot, redis, keys) -> None:
    _bot, url = bot
    form = payload("slash_command.parsed.json")
    form.update(command="/archops", text="help", team_id="T0ARCH", channel_id="C0INFRA",
                user_id="U0ALICE", trigger_id="111.222.help")
    status, text = await post_signed(url, urlencode(form),
                                     content_type="application/x-www-form-urlencoded")
    assert status == 200 and "/archops" in json.loads(text)["text"]
    assert await queued(redis, keys) == []
    form.update(text="new a data pipeline with S3 and Glue", trigger_id="111.222.start")
    status, text = await post_signed(url, urlencode(form),
                                     content_type="application/x-www-form-urlencoded")
    assert status == 200 and json.loads(text)["text"] == messages.COMMAND_ACCEPTED
    [env] = await queued(redis, keys)
    assert env.text == "a data pipeline with S3 and Glue"
    assert env.reply_to == {"channel": "C0INFRA", "team": "T0ARCH"}


async def test_redis_down_tells_the_user(settings, slack: SlackStandin, tmp_path) -> None:
    from aiohttp.test_utils import TestServer

    from bot.service import EVENTS_PATH, build_bot
    from core.redis_server import EmbeddedRedis

    own = EmbeddedRedis(tmp_path / "redis").start()
    server = TestServer(build_bot(settings, own.url).app)
    await server.start_server()
    try:
        own.kill()
        started = time.monotonic()
        body = mention("Ev013", f"<@{BOT_USER_ID}> a VPC")
        status, _ = await post_signed(str(server.make_url(EVENTS_PATH)), body)
        assert status == 200 and time.monotonic() - started < 3
        [reply] = await slack.wait_for("chat.postMessage")
        assert "could not accept" in reply["text"]
        assert reply["thread_ts"] == "1700000001.000100"
    finally:
        await server.close()
        own.stop()


async def test_mention_in_an_archops_thread_is_one_request_not_two(bot, redis, keys) -> None:
    """Slack sends both app_mention and message for a mention in a channel thread."""
    _bot, url = bot
    assert (await post_signed(url, mention("Ev020", f"<@{BOT_USER_ID}> a web app")))[0] == 200
    text = f"<@{BOT_USER_ID}> and a cache"
    both = [
        mention("Ev021", text, ts="1700000010.000100", thread_ts="1700000001.000100"),
        event_body("Ev022", type="message", text=text, user="U0ALICE", ts="1700000010.000100",
                   thread_ts="1700000001.000100", channel="C0INFRA", channel_type="channel"),
    ]
    for body in both:
        assert (await post_signed(url, body))[0] == 200
    envs = await queued(redis, keys)
    assert [e.text for e in envs] == ["a web app", "and a cache"]


def test_archops_bot_without_slack_settings_says_what_to_set(monkeypatch, capsys, tmp_path) -> None:
    from cli.main import main

    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("ARCHOPS_SLACK_BOT_TOKEN", "ARCHOPS_SLACK_SIGNING_SECRET", "ARCHOPS_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARCHOPS_SLACK_BOT_TOKEN", "xoxb-1-2-3")
    assert main(["bot"]) == 78
    err = capsys.readouterr().err
    assert "ARCHOPS_SLACK_SIGNING_SECRET" in err and "ARCHOPS_SLACK_BOT_TOKEN" not in err
    assert "xoxb-1-2-3" not in err


async def test_message_longer_than_any_envelope_is_refused_in_the_thread(bot, redis, keys, slack) -> None:
    _bot, url = bot
    text = "y" * 30_000  # Slack allows 40,000 characters
    assert (await post_signed(url, mention("Ev030", f"<@{BOT_USER_ID}> {text}")))[0] == 200
    [reply] = await slack.wait_for("chat.postMessage")
    assert "30000 characters" in reply["text"] and reply["thread_ts"] == "1700000001.000100"
    assert await queued(redis, keys) == []


async def test_envelope_carries_the_bot_s_trace(bot, redis, keys) -> None:
    import asyncio

    from core.settings import Settings
    from core.tracing import setup_tracing, shutdown_tracing
    from tests.tracing.zipkin_standin import ZipkinStandIn

    zipkin = await ZipkinStandIn().start()
    try:
        setup_tracing(Settings(_env_file=None, zipkin_endpoint=zipkin.endpoint, instance_id="t"))
        _bot, url = bot
        assert (await post_signed(url, mention("Ev031", f"<@{BOT_USER_ID}> a bucket")))[0] == 200
        [env] = await queued(redis, keys)
        await asyncio.to_thread(shutdown_tracing)
        [submit] = [s for s in await zipkin.wait_for(1) if s["name"] == "bot.submit"]
        assert env.trace["traceparent"].split("-")[1:3] == [submit["traceId"], submit["id"]]
    finally:
        await asyncio.to_thread(shutdown_tracing)
        await zipkin.stop()
