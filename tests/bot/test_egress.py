"""Events -> one card per conversation in Slack: posted once, updated in place, never repeated."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from bot import messages
from core.bus import EventLog
from core.envelope import Envelope
from core.events import Event
from tests.bot.slack_requests import (
    answer_click,
    click,
    event_body,
    mention,
    post_signed,
    queued,
    running,
    select,
    until,
)
from tests.bot.slack_standin import BOT_USER_ID, SlackStandin

CONV = "slack:T0ARCH:C0INFRA:1700000001.000100"
FORM = "application/x-www-form-urlencoded"
QUESTION = {
    "id": "availability",
    "prompt": "How available must it be?",
    "choices": [
        {"value": "single", "label": "One AZ", "detail": "≈ $35/month"},
        {"value": "multi", "label": "Two AZs", "detail": "≈ $70/month, survives an AZ outage"},
        {"value": "global", "label": "Two regions", "detail": "≈ $160/month"},
    ],
    "default": "multi",
    "free_text": False,
}


async def start_request(url: str, redis: Any, keys: Any, event_id: str = "Ev100",
                        ts: str = "1700000001.000100", channel: str = "C0INFRA") -> Envelope:
    body = mention(event_id, f"<@{BOT_USER_ID}> a web app", ts=ts).replace("C0INFRA", channel)
    assert (await post_signed(url, body))[0] == 200
    return (await queued(redis, keys))[-1]


def emit(events: EventLog, env: Envelope, type: str, text: str | None = None, **data: Any):
    return events.append(Event(type=type, conversation_id=env.conversation_id,  # type: ignore[arg-type]
                               request_id=env.request_id, text=text, data=data))


def card(slack: SlackStandin, channel: str = "C0INFRA") -> dict[str, Any]:
    """The card as Slack shows it now (a copy: later updates do not change it)."""
    [found] = slack.cards(channel)
    return copy.deepcopy(found)


def card_text(slack: SlackStandin, channel: str = "C0INFRA") -> str:
    cards = slack.cards(channel)
    return str(cards[0]["blocks"]) if cards else ""


def writes(slack: SlackStandin) -> list[str]:
    return [c.method for c in slack.calls if c.method in {"chat.postMessage", "chat.update"}]


async def test_the_card_is_posted_at_once_then_updated_in_place(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        [post] = await slack.wait_for("chat.postMessage")  # before any worker answered
        assert post["thread_ts"] == "1700000001.000100"
        assert post["metadata"]["event_payload"] == {"conversation_id": env.conversation_id}
        assert "<@U0ALICE> asked: a web app" in str(post["blocks"]) and "Queued" in str(post["blocks"])
        await emit(events, env, "status", "Reading the request", node="route")
        await until(lambda: "Step 1 of 6: Reading the request" in card_text(slack))
        await emit(events, env, "status", "Planned 3 blueprints in 2 levels", node="resource_planner")
        await until(lambda: "Step 3 of 6: Planning" in card_text(slack))
        assert "Planned 3 blueprints in 2 levels" in card_text(slack)
        await emit(events, env, "done", "Designed 3 files; all checks passed")
        await until(lambda: "Designed 3 files" in card_text(slack))
    assert len(slack.of("chat.postMessage")) == 1
    assert all(u["ts"] == card(slack)["ts"] for u in slack.of("chat.update"))
    assert "https://archops.example.com/c/slack%3AT0ARCH" in card_text(slack)


async def test_a_status_that_shows_nothing_new_sends_nothing(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "status", "Checking the module", node="terraform_fixer")
        await until(lambda: "Step 6 of 6: Checking" in card_text(slack))
        await asyncio.sleep(0.2)
        before = len(writes(slack))
        for _ in range(5):  # the same step again and again: nothing to show
            await emit(events, env, "status", "Checking the module", node="terraform_fixer")
        await asyncio.sleep(0.5)
        assert len(writes(slack)) == before


async def test_updates_are_spaced_by_the_minimum_interval(make_bot, redis, keys, events, slack) -> None:
    the_bot, url = await make_bot(min_interval_s=0.3)
    env = await start_request(url, redis, keys)
    async with running(the_bot.egress):
        for step in range(12):
            await emit(events, env, "status", f"level {step}", node="level_executor")
            await asyncio.sleep(0.05)
        await emit(events, env, "done", "finished")
        await until(lambda: "finished" in card_text(slack))
    sends = [c.at for c in slack.calls if c.method in {"chat.postMessage", "chat.update"}]
    assert len(slack.of("chat.postMessage")) == 1
    assert len(sends) < 13  # bursts were coalesced
    gaps = [b - a for a, b in zip(sends, sends[1:], strict=False)]
    assert min(gaps) >= 0.27, gaps


async def test_error_is_shown_with_its_hint(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    await emit(events, env, "error", "archops works on AWS only", hint="ask for an AWS design")
    async with running(the_bot.egress):
        await until(lambda: "AWS only" in card_text(slack))
    assert "ask for an AWS design" in card_text(slack)


async def test_question_buttons_go_the_moment_someone_answers(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    await emit(events, env, "question", QUESTION["prompt"], question=QUESTION)
    async with running(the_bot.egress):
        await until(lambda: "How available" in card_text(slack))
        shown = card(slack)
        buttons = [b for b in shown["blocks"] if b["type"] == "actions"][0]["elements"]
        assert [b["value"] for b in buttons] == ["single", "multi", "global"]
        assert buttons[1]["style"] == "primary" and "(recommended)" in buttons[1]["text"]["text"]
        assert "≈ $70/month, survives an AZ outage" in str(shown["blocks"])
        status, _ = await post_signed(url, click(shown, "t.1", value="multi"), content_type=FORM)
        assert status == 200
        # a second click (another person, or a double click) is not a second answer
        status, _ = await post_signed(url, click(shown, "t.2", value="single"), content_type=FORM)
        assert status == 200
        [ephemeral] = await slack.wait_for("chat.postEphemeral")
        assert ephemeral["text"] == messages.ALREADY_ANSWERED
        await until(lambda: "<@U0ALICE> chose *Two AZs*" in card_text(slack))
        assert "actions" not in [b["type"] for b in card(slack)["blocks"]]
    answers = [e for e in await queued(redis, keys) if e.action]
    assert len(answers) == 1
    assert answers[0].action.question_id == "availability" and answers[0].action.value == "multi"
    assert answers[0].conversation_id == env.conversation_id
    assert answers[0].idempotency_key == "slack:action:t.1"


async def test_a_click_the_card_did_not_offer_answers_nothing(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    await emit(events, env, "question", QUESTION["prompt"], question=QUESTION)
    async with running(the_bot.egress):
        await until(lambda: "How available" in card_text(slack))
        forged = answer_click(card(slack)["ts"], "availability", "delete-everything", "f.1")
        assert (await post_signed(url, forged, content_type=FORM))[0] == 200
        [note] = await slack.wait_for("chat.postEphemeral")
        assert note["text"] == messages.QUESTION_CLOSED
    assert [e for e in await queued(redis, keys) if e.action] == []


async def test_many_choices_become_a_select_with_the_default_chosen(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    regions = [{"value": f"r{i}", "label": f"Region {i}", "detail": None} for i in range(7)]
    question = {"id": "region", "prompt": "Which region?", "choices": regions, "default": "r3",
                "free_text": False}
    await emit(events, env, "question", "Which region?", question=question)
    async with running(the_bot.egress):
        await until(lambda: "Which region?" in card_text(slack))
        shown = card(slack)
        [menu] = [e for b in shown["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert menu["type"] == "static_select" and len(menu["options"]) == 7
        assert menu["initial_option"]["text"]["text"].startswith("Region 3")
        assert (await post_signed(url, select(shown, "Region 5", "s.1"), content_type=FORM))[0] == 200
        await until(lambda: "chose *Region 5*" in card_text(slack))
    [answer] = [e for e in await queued(redis, keys) if e.action]
    assert answer.action.value == "r5"


async def test_restart_midway_repeats_nothing_and_misses_nothing(make_bot, redis, keys, events, slack) -> None:
    first, url = await make_bot()
    env = await start_request(url, redis, keys)
    await emit(events, env, "status", "Reading the request", node="route")
    async with running(first.egress):
        await until(lambda: "Step 1 of 6" in card_text(slack))
    # the bot is gone; the worker goes on
    await emit(events, env, "status", "Planning", node="resource_planner")
    await emit(events, env, "done", "All done after the restart")
    second, _ = await make_bot()
    async with running(second.egress):
        await until(lambda: "All done after the restart" in card_text(slack))
        await asyncio.sleep(0.2)  # a repeat would show up here
    assert len(slack.of("chat.postMessage")) == 1
    texts = [u["text"] for u in slack.of("chat.update")]
    assert texts.count(texts[-1]) == 1  # the final state was sent once


async def test_crash_between_post_and_record_does_not_post_twice(make_bot, redis, keys, events, slack) -> None:
    first, url = await make_bot()
    env = await start_request(url, redis, keys)
    slack.delay["chat.postMessage"] = 0.5  # Slack posts, but the answer never reaches the bot
    async with running(first.egress):
        await slack.wait_for("chat.postMessage")
    slack.delay.clear()
    await emit(events, env, "done", "Finished")
    second, _ = await make_bot()
    async with running(second.egress):
        await until(lambda: "Finished" in card_text(slack))
    assert len(slack.of("chat.postMessage")) == 1
    assert slack.of("conversations.replies")


async def test_rate_limited_post_waits_for_retry_after_outside_the_call(bot, redis, keys, events,
                                                                       slack) -> None:
    the_bot, url = bot
    slack.rate_limit["chat.postMessage"] = (1, 1)
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "done", "Short and sweet")
        await until(lambda: "Short and sweet" in card_text(slack), timeout=8)
    [limited] = [c for c in slack.calls if c.method == "chat.postMessage:429"]
    [posted] = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert posted.at - limited.at >= 1.0
    assert the_bot.egress.sender.pauses == 1  # the sender waited, not slack_sdk


async def test_slash_command_conversation_gets_its_own_thread(bot, redis, keys, events, slack) -> None:
    from tests.bot.slack_requests import run_command

    the_bot, url = bot
    answer = await run_command(url, "new an API with Lambda", "9.9.start")
    assert answer["text"] == messages.COMMAND_ACCEPTED and answer["response_type"] == "ephemeral"
    [env] = await queued(redis, keys)
    await emit(events, env, "question", QUESTION["prompt"], question=QUESTION)
    async with running(the_bot.egress):
        await until(lambda: "How available" in card_text(slack))
        shown = card(slack)
        assert not shown.get("thread_ts")
        assert "<@U0ALICE> asked: an API with Lambda" in str(shown["blocks"])
        for _ in range(100):  # the bot records the new thread once Slack answered the post
            if (await the_bot.egress.state.conversation(env.conversation_id)).get("thread_ts"):
                break
            await asyncio.sleep(0.02)
        # a reply in that new thread continues the same conversation
        reply = event_body("Ev200", type="message", text="a bigger database", user="U0ALICE",
                           ts="1700000500.000100", thread_ts=shown["ts"], channel="C0INFRA",
                           channel_type="channel")
        await post_signed(url, reply)
    envs = await queued(redis, keys)
    assert [e.conversation_id for e in envs] == [env.conversation_id] * 2
    assert envs[1].text == "a bigger database"


async def test_two_bot_instances_write_each_card_once(make_bot, redis, keys, events, slack) -> None:
    first, url = await make_bot()
    second, _ = await make_bot()
    env = await start_request(url, redis, keys)
    async with running(first.egress), running(second.egress):
        for step in range(5):
            await emit(events, env, "status", f"level {step}", node="level_executor")
            await asyncio.sleep(0.03)
        await emit(events, env, "done", "Both bots saw this")
        await until(lambda: "Both bots saw this" in card_text(slack))
        await asyncio.sleep(0.2)
    assert len(slack.of("chat.postMessage")) == 1
    assert [u["text"] for u in slack.of("chat.update")].count(card(slack)["text"]) == 1


async def test_a_dead_bot_s_lease_passes_to_another(make_bot, redis, keys, events, slack) -> None:
    first, url = await make_bot(egress_lease_ms=300)
    assert await first.egress.lease.hold()  # it took the lease, then died without a word
    second, _ = await make_bot(egress_lease_ms=300)
    env = await start_request(url, redis, keys)
    await emit(events, env, "done", "Taken over")
    async with running(second.egress):
        await until(lambda: "Taken over" in card_text(slack))
    assert len(slack.of("chat.postMessage")) == 1


async def test_writes_to_one_channel_are_spaced(make_bot, redis, keys, events, slack) -> None:
    the_bot, url = await make_bot(min_interval_s=0.3)
    await start_request(url, redis, keys, "Ev400")
    await start_request(url, redis, keys, "Ev401", ts="1700000002.000100")
    async with running(the_bot.egress):
        await until(lambda: len(slack.of("chat.postMessage")) == 2)
    a, b = [c.at for c in slack.calls if c.method == "chat.postMessage"]
    assert b - a >= 0.27


async def test_transient_slack_error_is_retried_and_a_refusal_is_told_by_dm(make_bot, redis, keys,
                                                                           events, slack) -> None:
    the_bot, url = await make_bot()
    slack.fail_next["chat.postMessage"] = "internal_error"
    async with running(the_bot.egress):
        first = await start_request(url, redis, keys, "Ev600")
        await emit(events, first, "done", "after a hiccup")
        await until(lambda: "after a hiccup" in card_text(slack), timeout=6)
        assert len(slack.of("chat.postMessage")) == 2  # the failed try, then the post
        slack.refuse_channel["C0GONE"] = "channel_not_found"
        second = await start_request(url, redis, keys, "Ev601", ts="1700000002.000100",
                                     channel="C0GONE")
        await emit(events, second, "done", "never shown")
        await until(lambda: bool(slack.dm("U0ALICE")))
        await emit(events, second, "status", "more work", node="route")
        await asyncio.sleep(0.3)
    refused = [c for c in slack.calls if c.method == "chat.postMessage"
               and c.args.get("channel") == "C0GONE"]
    assert len(refused) == 1  # a refusal is not retried
    [dm] = slack.dm("U0ALICE")
    assert "<#C0GONE>" in dm["text"] and "channel_not_found" in dm["text"] and "a web app" in dm["text"]
    assert (await the_bot.egress.state.card(second.conversation_id))["failed"] == "channel_not_found"


async def test_a_reply_in_words_closes_the_open_question(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    await emit(events, env, "question", QUESTION["prompt"], question=QUESTION)
    async with running(the_bot.egress):
        await until(lambda: "How available" in card_text(slack))
        shown = card(slack)
        reply = event_body("Ev700", type="message", text="two AZs, but keep it cheap",
                           user="U0ALICE", ts="1700000800.000100", thread_ts="1700000001.000100",
                           channel="C0INFRA", channel_type="channel")
        assert (await post_signed(url, reply))[0] == 200
        await until(lambda: "chose *two AZs, but keep it cheap* (in the thread)" in card_text(slack))
        status, _ = await post_signed(url, click(shown, "late.1", value="multi"), content_type=FORM)
        assert status == 200
        [note] = await slack.wait_for("chat.postEphemeral")
        assert note["text"] == messages.ALREADY_ANSWERED
    envs = await queued(redis, keys)
    assert [e.text for e in envs] == ["a web app", "two AZs, but keep it cheap"]
    assert not [e for e in envs if e.action]


async def test_a_rejected_answer_opens_the_question_again_saying_why(bot, redis, keys, events,
                                                                     slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    await emit(events, env, "question", QUESTION["prompt"], question=QUESTION)
    async with running(the_bot.egress):
        await until(lambda: "How available" in card_text(slack))
        await post_signed(url, click(card(slack), "r.1", value="global"), content_type=FORM)
        await until(lambda: "chose *Two regions*" in card_text(slack))
        [answer] = [e for e in await queued(redis, keys) if e.action]
        await emit(events, answer, "error", "Two regions are not offered for this design",
                   hint="choose one AZ or two")
        await until(lambda: "That answer was not taken: Two regions are not offered" in card_text(slack))
        assert "choose one AZ or two" in card_text(slack)
        assert "chose *Two regions*" not in card_text(slack)
        # the buttons are back: the question can be answered again
        await post_signed(url, click(card(slack), "r.2", value="multi"), content_type=FORM)
        await until(lambda: "chose *Two AZs*" in card_text(slack))
    assert [e.action.value for e in await queued(redis, keys) if e.action] == ["global", "multi"]


async def test_a_slack_retry_of_a_finished_request_leaves_its_card_as_it_is(
        bot, redis, keys, events, slack) -> None:
    """Slack resends an event it thinks was lost (a slow or failed acknowledgement), even after
    archops answered it: the card neither shows it as asked again nor goes back to waiting."""
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys, event_id="Ev777")
        await emit(events, env, "done", "Designed a web app")
        await until(lambda: "Designed a web app" in card_text(slack))
        body = mention("Ev777", f"<@{BOT_USER_ID}> a web app")
        status, _ = await post_signed(
            url, body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
        assert status == 200
        await asyncio.sleep(0.5)  # the egress would have shown a change by now
    state = the_bot.egress.state
    card_fields = await state.card(env.conversation_id)
    assert card_fields.get("phase") == "done" and not card_fields.get("follow_up"), card_fields
    assert ":repeat:" not in card_text(slack) and "Designed a web app" in card_text(slack)
    assert len(await queued(redis, keys)) == 1


async def test_a_finished_quiet_conversation_is_followed_again_from_where_it_was(
        bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    state = the_bot.egress.state
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "done", "First answer")
        await until(lambda: "First answer" in card_text(slack))
    await redis.zadd(state.active_key, {env.conversation_id: 1})  # quiet for ages ...
    assert await state.followed(24 * 3600 * 365 * 60, settled_s=60) == {}  # ... and finished
    cursor = await redis.hget(state.cursor_key, env.conversation_id)
    assert cursor and cursor != "0-0"
    async with running(the_bot.egress):
        reply = event_body("Ev990", type="message", text="and a cache", user="U0ALICE",
                           ts="1700000990.000100", thread_ts="1700000001.000100",
                           channel="C0INFRA", channel_type="channel")
        assert (await post_signed(url, reply))[0] == 200
        follow_up = (await queued(redis, keys))[-1]
        await emit(events, follow_up, "done", "Second answer")
        await until(lambda: "Second answer" in card_text(slack))
    # the old events were not applied again: "First answer" was shown once, in one update
    assert sum("First answer" in u["text"] for u in slack.of("chat.update")) == 1


async def test_the_follower_reads_what_changed_among_hundreds_of_conversations(
        bot, redis, keys, events, slack, monkeypatch) -> None:
    """Hundreds of followed conversations (more than one read's worth) are all read once, then
    only the one that grew; a change trimmed before it was read is caught by the next sweep, a
    stream of changes trimmed past the follower and a read cut by Redis by a sweep at once."""
    from bot import egress as egress_module

    the_bot, _url = bot
    egress, state = the_bot.egress, the_bot.egress.state
    convs = []
    for i in range(600):
        cid, ts = f"slack:T0ARCH:C0MANY:{1700002000 + i}.000100", f"{1700002000 + i}.000100"
        await state.open_request(cid, team="T0ARCH", channel="C0MANY", thread_ts=ts,
                                 user="U0ALICE", request_id=f"req-many-{i}", kind="text", text="x")
        await events.append(Event(type="status", conversation_id=cid, request_id=f"req-many-{i}",
                                  text=f"Reading request {i}", data={"node": "route"}))
        convs.append(cid)
    reads: list[int] = []
    xread = egress.redis.xread

    async def counted(streams: dict[str, str], **kwargs: Any) -> Any:
        if keys.changes not in streams:
            reads.append(len(streams))
        return await xread(streams, **kwargs)

    egress.redis.xread = counted  # type: ignore[method-assign]

    async def cursor(cid: str) -> str:
        return str(await redis.hget(state.cursor_key, cid) or "")

    async def last_id(cid: str) -> str:
        return str((await redis.xrevrange(keys.events(cid), count=1))[0][0])

    assert await egress.follow_once(block_ms=10) == 600
    assert max(reads) <= 256 and sum(reads) == 600  # in several reads, each stream once
    assert [await cursor(c) for c in convs] == [await last_id(c) for c in convs]
    reads.clear()
    assert await egress.follow_once(block_ms=10) == 0
    await events.append(Event(type="status", conversation_id=convs[417], request_id="req-many-417",
                              text="Planned", data={"node": "resource_planner"}))
    assert await egress.follow_once(block_ms=10) == 1
    assert reads == [1]  # the one that grew, not all 600
    assert await cursor(convs[417]) == await last_id(convs[417])
    # a change trimmed before it was read: the sweep reads every followed stream again
    await events.append(Event(type="status", conversation_id=convs[5], request_id="req-many-5",
                              text="Planned", data={"node": "resource_planner"}))
    await redis.xtrim(keys.changes, maxlen=0)
    assert await egress.follow_once(block_ms=10) == 0
    egress.sweep_s = 0.0
    assert await egress.follow_once(block_ms=10) == 1
    assert await cursor(convs[5]) == await last_id(convs[5])
    egress.sweep_s = 30.0

    async def grow(numbers: range) -> None:
        for i in numbers:
            await events.append(Event(type="status", conversation_id=convs[i],
                                      request_id=f"req-many-{i}", text="Checking",
                                      data={"node": "review"}))

    # the stream of changes trimmed past where the follower was (it fell that far behind)
    monkeypatch.setattr(egress_module, "CHANGES_PER_READ", 5)
    await grow(range(100, 110))
    await redis.xtrim(keys.changes, maxlen=5)
    assert await egress.follow_once(block_ms=10) == 10
    assert [await cursor(c) for c in convs] == [await last_id(c) for c in convs]
    # Redis failing in the middle of a read: the next read takes up everything that was due
    await grow(range(200, 520))
    failed = []

    async def failing_once(streams: dict[str, str], **kwargs: Any) -> Any:
        if keys.changes not in streams and not failed and len(streams) > 1:
            failed.append(len(streams))
            raise ConnectionError("redis went away")
        return await counted(streams, **kwargs)

    egress.redis.xread = failing_once  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await egress.follow_once(block_ms=10)
    assert failed and await egress.follow_once(block_ms=10) == 320
    assert [await cursor(c) for c in convs] == [await last_id(c) for c in convs]
