"""Conversation events -> Slack threads: one message per request, updated in place, no repeats."""

from __future__ import annotations

import asyncio
from typing import Any

from bot import messages
from core.bus import EventLog
from core.envelope import Envelope
from core.events import Event
from tests.bot.slack_requests import (
    answer_click,
    event_body,
    mention,
    post_signed,
    queued,
    running,
    until,
)
from tests.bot.slack_standin import BOT_USER_ID, SlackStandin

CONV = "slack:T0ARCH:C0INFRA:1700000001.000100"
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


async def start_request(url: str, redis: Any, keys: Any, event_id: str = "Ev100") -> Envelope:
    assert (await post_signed(url, mention(event_id, f"<@{BOT_USER_ID}> a web app")))[0] == 200
    return (await queued(redis, keys))[-1]


def emit(events: EventLog, env: Envelope, type: str, text: str | None = None, **data: Any):
    return events.append(Event(type=type, conversation_id=env.conversation_id,  # type: ignore[arg-type]
                               request_id=env.request_id, text=text, data=data))


def last_text(slack: SlackStandin) -> str:
    [message] = slack.messages["C0INFRA"]
    return str(message["text"])


async def test_status_then_done_is_one_message_updated_in_place(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    await emit(events, env, "status", "Reading the request")
    async with running(the_bot.egress):
        [post] = await slack.wait_for("chat.postMessage")
        assert post["thread_ts"] == "1700000001.000100"
        assert post["metadata"]["event_payload"] == {"request_id": env.request_id}
        await emit(events, env, "status", "Planning")
        await emit(events, env, "artifact", "Terraform module", kind="module",
                   files={"main.tf": "", "network.tf": "", "versions.tf": ""})
        await emit(events, env, "done", "Designed 3 files; all checks passed")
        await until(lambda: "Designed 3 files" in last_text(slack))
    assert len(slack.of("chat.postMessage")) == 1
    updates = slack.of("chat.update")
    assert updates and all(u["ts"] == post_ts(slack) for u in updates)
    blocks = str(slack.messages["C0INFRA"][0]["blocks"])
    assert "`main.tf`, `network.tf`, `versions.tf`" in blocks
    assert "https://archops.example.com/?conversation=slack%3AT0ARCH" in blocks


def post_ts(slack: SlackStandin) -> str:
    return str(slack.messages["C0INFRA"][0]["ts"])


async def test_updates_are_spaced_by_the_minimum_interval(make_bot, redis, keys, events, slack) -> None:
    the_bot, url = await make_bot(min_interval_s=0.3)
    env = await start_request(url, redis, keys)
    async with running(the_bot.egress):
        for step in range(12):
            await emit(events, env, "status", f"step {step}")
            await asyncio.sleep(0.05)
        await emit(events, env, "done", "finished")
        await until(lambda: "finished" in last_text(slack))
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
        await until(lambda: "AWS only" in str(slack.messages.get("C0INFRA")))
    assert "ask for an AWS design" in str(slack.messages["C0INFRA"][0]["blocks"])


async def test_question_becomes_buttons_and_a_click_is_an_answer(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    await emit(events, env, "question", QUESTION["prompt"], question=QUESTION)
    async with running(the_bot.egress):
        [post] = await slack.wait_for("chat.postMessage")
        [actions] = [b for b in post["blocks"] if b["type"] == "actions"]
        buttons = actions["elements"]
        assert [b["value"] for b in buttons] == ["single", "multi", "global"]
        assert all(b["action_id"].startswith("archops:answer:availability:") for b in buttons)
        assert buttons[1]["style"] == "primary" and "(recommended)" in buttons[1]["text"]["text"]
        assert "≈ $70/month, survives an AZ outage" in str(post["blocks"])

        ts = post_ts(slack)
        status, _ = await post_signed(url, answer_click(ts, "availability", "multi", "t.1"),
                                      content_type="application/x-www-form-urlencoded")
        assert status == 200
        # a second click (another person, or a double click) is not a second answer
        status, _ = await post_signed(url, answer_click(ts, "availability", "single", "t.2"),
                                      content_type="application/x-www-form-urlencoded")
        assert status == 200
        [ephemeral] = await slack.wait_for("chat.postEphemeral")
        assert ephemeral["text"] == messages.ALREADY_ANSWERED
        # the question message loses its buttons and says what was chosen
        await until(lambda: "chose *Two AZs*" in str(slack.messages["C0INFRA"][0]["blocks"]))
        assert "actions" not in str([b["type"] for b in slack.messages["C0INFRA"][0]["blocks"]])
    answers = [e for e in await queued(redis, keys) if e.action]
    assert len(answers) == 1
    assert answers[0].action.question_id == "availability" and answers[0].action.value == "multi"
    assert answers[0].conversation_id == env.conversation_id
    assert answers[0].idempotency_key == "slack:action:t.1"


async def test_many_choices_become_a_select_with_the_default_chosen(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    regions = [{"value": f"r{i}", "label": f"Region {i}", "detail": None} for i in range(7)]
    question = {"id": "region", "prompt": "Which region?", "choices": regions, "default": "r3",
                "free_text": True}
    await emit(events, env, "question", "Which region?", question=question)
    async with running(the_bot.egress):
        [post] = await slack.wait_for("chat.postMessage")
    [actions] = [b for b in post["blocks"] if b["type"] == "actions"]
    [select] = actions["elements"]
    assert select["type"] == "static_select" and len(select["options"]) == 7
    assert select["initial_option"]["value"] == "r3"
    assert "own words" in str(post["blocks"])


async def test_restart_midway_repeats_nothing_and_misses_nothing(make_bot, redis, keys, events, slack) -> None:
    first, url = await make_bot()
    env = await start_request(url, redis, keys)
    await emit(events, env, "status", "Reading the request")
    async with running(first.egress):
        await slack.wait_for("chat.postMessage")
    # the bot is gone; the worker goes on
    await emit(events, env, "status", "Planning")
    await emit(events, env, "done", "All done after the restart")
    second, _ = await make_bot()
    async with running(second.egress):
        await until(lambda: "All done after the restart" in last_text(slack))
        await asyncio.sleep(0.2)  # a repeat would show up here
    assert len(slack.of("chat.postMessage")) == 1
    texts = [u["text"] for u in slack.of("chat.update")]
    assert texts.count(texts[-1]) == 1  # the final state was sent once


async def test_crash_between_post_and_record_does_not_post_twice(make_bot, redis, keys, events, slack) -> None:
    first, url = await make_bot()
    env = await start_request(url, redis, keys)
    await emit(events, env, "status", "Reading the request")
    slack.delay["chat.postMessage"] = 0.5  # Slack posts, but the answer never reaches the bot
    async with running(first.egress):
        await slack.wait_for("chat.postMessage")
    slack.delay.clear()
    await emit(events, env, "done", "Finished")
    second, _ = await make_bot()
    async with running(second.egress):
        await until(lambda: "Finished" in last_text(slack))
    assert len(slack.of("chat.postMessage")) == 1
    assert slack.of("conversations.replies")


async def test_rate_limited_post_waits_for_retry_after(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    await emit(events, env, "done", "Short and sweet")
    slack.rate_limit["chat.postMessage"] = (1, 1)
    async with running(the_bot.egress):
        await slack.wait_for("chat.postMessage", timeout=8)
    [limited] = [c for c in slack.calls if c.method == "chat.postMessage:429"]
    [posted] = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert posted.at - limited.at >= 1.0
    assert "Short and sweet" in last_text(slack)


async def test_slash_command_conversation_gets_its_own_thread(bot, redis, keys, events, slack) -> None:
    from urllib.parse import urlencode

    from tests.bot.slack_requests import payload

    the_bot, url = bot
    form = payload("slash_command.parsed.json")
    form.update(command="/archops", text="an API with Lambda", team_id="T0ARCH",
                channel_id="C0INFRA", user_id="U0ALICE", trigger_id="9.9.start")
    await post_signed(url, urlencode(form), content_type="application/x-www-form-urlencoded")
    [env] = await queued(redis, keys)
    await emit(events, env, "question", QUESTION["prompt"], question=QUESTION)
    async with running(the_bot.egress):
        [post] = await slack.wait_for("chat.postMessage")
        assert "thread_ts" not in post or not post["thread_ts"]
        assert "<@U0ALICE> asked: an API with Lambda" in str(post["blocks"])
        root = post_ts(slack)
        for _ in range(100):  # the bot records the new thread once Slack answered the post
            if (await the_bot.egress.state.conversation(env.conversation_id)).get("thread_ts"):
                break
            await asyncio.sleep(0.02)
        # a reply in that new thread continues the same conversation
        reply = mention("Ev200", "a bigger database", ts="1700000500.000100").replace(
            '"app_mention"', '"message"')
        import json
        body = json.loads(reply)
        body["event"].update(thread_ts=root, channel_type="channel")
        await post_signed(url, json.dumps(body))
    envs = await queued(redis, keys)
    assert [e.conversation_id for e in envs] == [env.conversation_id] * 2
    assert envs[1].text == "a bigger database"


async def test_two_bot_instances_write_each_message_once(make_bot, redis, keys, events, slack) -> None:
    first, url = await make_bot()
    second, _ = await make_bot()
    env = await start_request(url, redis, keys)
    async with running(first.egress), running(second.egress):
        for step in range(5):
            await emit(events, env, "status", f"step {step}")
            await asyncio.sleep(0.03)
        await emit(events, env, "done", "Both bots saw this")
        await until(lambda: "Both bots saw this" in last_text(slack))
        await asyncio.sleep(0.2)
    assert len(slack.of("chat.postMessage")) == 1
    assert [u["text"] for u in slack.of("chat.update")].count(last_text(slack)) == 1


async def test_a_dead_bot_s_lease_passes_to_another(make_bot, redis, keys, events, slack) -> None:
    first, url = await make_bot(egress_lease_ms=300)
    assert await first.egress.lease.hold()  # it took the lease, then died without a word
    second, _ = await make_bot(egress_lease_ms=300)
    env = await start_request(url, redis, keys)
    await emit(events, env, "done", "Taken over")
    async with running(second.egress):
        await until(lambda: "Taken over" in str(slack.messages.get("C0INFRA")))
    assert len(slack.of("chat.postMessage")) == 1


async def test_writes_to_one_channel_are_spaced(make_bot, redis, keys, events, slack) -> None:
    the_bot, url = await make_bot(min_interval_s=0.3)
    first = await start_request(url, redis, keys, "Ev400")
    body = mention("Ev401", f"<@{BOT_USER_ID}> a queue", ts="1700000002.000100")
    assert (await post_signed(url, body))[0] == 200
    second = (await queued(redis, keys))[-1]
    async with running(the_bot.egress):
        await emit(events, first, "done", "first done")
        await emit(events, second, "done", "second done")
        await until(lambda: len(slack.of("chat.postMessage")) == 2)
    a, b = [c.at for c in slack.calls if c.method == "chat.postMessage"]
    assert b - a >= 0.27


async def test_transient_slack_error_is_retried_and_a_refusal_is_not(make_bot, redis, keys, events, slack) -> None:
    the_bot, url = await make_bot()
    first = await start_request(url, redis, keys, "Ev600")
    await emit(events, first, "done", "after a hiccup")
    slack.fail_next["chat.postMessage"] = "internal_error"
    async with running(the_bot.egress):
        await until(lambda: "after a hiccup" in str(slack.messages.get("C0INFRA")), timeout=6)
        assert len(slack.of("chat.postMessage")) == 2  # the failed try, then the post
        body = mention("Ev601", f"<@{BOT_USER_ID}> a queue", ts="1700000002.000100")
        assert (await post_signed(url, body))[0] == 200
        second = (await queued(redis, keys))[-1]
        slack.fail_next["chat.postMessage"] = "not_in_channel"
        await emit(events, second, "done", "never shown")
        await until(lambda: len(slack.of("chat.postMessage")) == 3)
        await asyncio.sleep(0.3)
    assert len(slack.of("chat.postMessage")) == 3  # a refusal is not retried
    assert (await the_bot.egress.state.message(second.request_id))["failed"] == "not_in_channel"


async def test_a_reply_in_words_closes_the_open_question(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    env = await start_request(url, redis, keys)
    await emit(events, env, "question", QUESTION["prompt"], question=QUESTION)
    async with running(the_bot.egress):
        [post] = await slack.wait_for("chat.postMessage")
        reply = event_body("Ev700", type="message", text="two AZs, but keep it cheap",
                           user="U0ALICE", ts="1700000800.000100", thread_ts="1700000001.000100",
                           channel="C0INFRA", channel_type="channel")
        assert (await post_signed(url, reply))[0] == 200
        await until(lambda: "<@U0ALICE> answered in the thread"
                    in str(slack.messages["C0INFRA"][0]["blocks"]))
        status, _ = await post_signed(url, answer_click(post_ts(slack), "availability", "multi",
                                                        "late.1"),
                                      content_type="application/x-www-form-urlencoded")
        assert status == 200
        [note] = await slack.wait_for("chat.postEphemeral")
        assert note["text"] == messages.ALREADY_ANSWERED
    envs = await queued(redis, keys)
    assert [e.text for e in envs] == ["a web app", "two AZs, but keep it cheap"]
    assert not [e for e in envs if e.action]
