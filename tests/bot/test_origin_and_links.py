"""The bot posts only for requests that came from Slack, and its links open one conversation."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from bot.state import now_ms
from core.bus import Submitter
from core.envelope import Envelope
from core.errors import Forbidden
from tests.bot.slack_requests import queued, running, until
from tests.bot.test_egress import CONV, QUESTION, card_text, emit, start_request

LINK = re.compile(r"<(https://archops\.example\.com/[^|>]+)\|Open the live stream in archops>")


def web_envelope(conversation_id: str, text: str = "post this into their thread") -> Envelope:
    return Envelope(conversation_id=conversation_id, source="web", user="web", text=text,
                    reply_to={"channel": "C0INFRA", "thread_ts": "1700000001.000100"})


async def test_link_in_the_message_opens_its_conversation_only(bot, redis, keys, events, slack,
                                                               settings) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    await emit(events, env, "question", QUESTION["prompt"], question=QUESTION)
    async with running(the_bot.egress):
        await until(lambda: "How available" in card_text(slack))
    [link] = LINK.findall(card_text(slack))
    parts = urlsplit(link)
    assert parts.path == "/c/" + quote(env.conversation_id, safe="")
    [token] = parse_qs(parts.query)["cap"]
    signer = settings.signer()  # the web app verifies with the same keys
    cap = signer.verify(token, scope="conversation", subject=env.conversation_id, action="read")
    assert cap.actions == frozenset({"read"})
    with pytest.raises(Forbidden):
        signer.verify(token, scope="conversation", subject="slack:T0ARCH:C0INFRA:1.1")
    with pytest.raises(Forbidden):
        signer.verify(token, scope="design", subject=env.conversation_id)
    with pytest.raises(Forbidden):
        signer.verify(token, scope="conversation", subject=env.conversation_id, action="write")
    with pytest.raises(Forbidden):
        signer.verify(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),
                      scope="conversation", subject=env.conversation_id)


async def test_a_slack_conversation_named_from_elsewhere_gets_no_post(bot, redis, keys, events,
                                                                      slack) -> None:
    """A web request naming a Slack thread's conversation id (predictable) posts nothing there,
    while the Slack request of that very thread is answered as before."""
    the_bot, url = bot
    alice = await start_request(url, redis, keys)
    forged = web_envelope(alice.conversation_id)
    assert (await Submitter(redis, keys).submit(forged)).accepted
    async with running(the_bot.egress):
        await emit(events, forged, "status", "rebuilding their design")
        await emit(events, forged, "question", "Which bucket?", question={
            "id": "bucket", "prompt": "Which bucket?", "choices": [{"value": "x"}]})
        await emit(events, forged, "done", "posted from the web")
        await emit(events, alice, "done", "Alice's own design")
        await until(lambda: "Alice's own design" in str(slack.messages.get("C0INFRA")))
        await asyncio.sleep(0.2)
    assert len(slack.of("chat.postMessage")) == 1
    assert "posted from the web" not in str(slack.calls)
    assert "Which bucket" not in str(slack.calls)
    assert (await the_bot.egress.state.card(alice.conversation_id))["phase"] == "done"
    assert await the_bot.egress.state.request(forged.request_id) == {}


async def test_a_slack_id_that_never_came_from_slack_posts_nowhere(bot, redis, keys, events,
                                                                   slack, settings, redis_url
                                                                   ) -> None:
    """The whole path: a real worker answers a web request naming `slack:T:C:ts`."""
    from agents.process import run_worker

    the_bot, _url = bot
    forged = web_envelope("slack:T0ARCH:C0INFRA:1699999999.000100", "a static website")
    assert (await Submitter(redis, keys).submit(forged)).accepted
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, redis_url, stop))
    try:
        async with running(the_bot.egress):
            # the worker answers into the conversation's event stream ...
            for _ in range(300):
                if await redis.xlen(keys.events(forged.conversation_id)) >= 2:
                    break
                await asyncio.sleep(0.05)
            assert await redis.xlen(keys.events(forged.conversation_id)) >= 2
            await asyncio.sleep(0.3)
    finally:
        stop.set()
        await worker
    # ... and the bot posted nothing, anywhere
    assert slack.of("chat.postMessage") == [] and slack.of("chat.update") == []
    assert slack.of("chat.postEphemeral") == []
    assert [e.request_id for e in await queued(redis, keys)] == [forged.request_id]


async def test_events_of_the_same_request_id_in_another_conversation_are_ignored(
        bot, redis, keys, events, slack) -> None:
    """A request recorded for one Slack conversation shows nothing of another's stream."""
    the_bot, url = bot
    alice = await start_request(url, redis, keys)
    assert alice.conversation_id == CONV
    other = "slack:T0ARCH:C0OTHER:1700000009.000100"
    state = the_bot.egress.state  # a conversation the bot follows in another channel
    await state.redis.hset(state.conv_key(other), mapping={
        "team": "T0ARCH", "channel": "C0OTHER", "thread_ts": "1700000009.000100"})
    await state.redis.zadd(state.active_key, {other: now_ms()})
    await state.redis.hset(state.cursor_key, other, "0-0")
    stray = Envelope(conversation_id=other, source="web", user="web", text="x",
                     request_id=alice.request_id)
    await emit(events, stray, "done", "misrouted")
    async with running(the_bot.egress):
        await until(lambda: bool(slack.of("chat.postMessage")))  # Alice's own card, queued
        await asyncio.sleep(0.3)
    assert "misrouted" not in str(slack.calls)
    assert [c["channel"] for c in slack.of("chat.postMessage")] == ["C0INFRA"]
