"""Who may act on a Slack conversation: the requester and the approvers; anyone else is told
privately who can, and nothing reaches the bus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot import messages
from tests.bot.designs import small_module
from tests.bot.slack_requests import click, event_body, post_signed, queued, running, until
from tests.bot.slack_standin import SlackStandin
from tests.bot.test_egress import QUESTION, card, card_text, emit, start_request

FORM = "application/x-www-form-urlencoded"
ROOT = "1700000001.000100"


def reply(event_id: str, user: str, text: str, ts: str = "1700000800.000100") -> str:
    return event_body(event_id, type="message", text=text, user=user, ts=ts, thread_ts=ROOT,
                      channel="C0INFRA", channel_type="channel")


def buttons_shown(slack: SlackStandin) -> bool:
    return any(b["type"] == "actions" for b in card(slack)["blocks"])


async def asked(url: str, redis: Any, keys: Any, events: Any, slack: SlackStandin):
    """Alice asks; archops asks back with buttons; returns (her envelope, the card with them)."""
    env = await start_request(url, redis, keys)
    await emit(events, env, "question", QUESTION["prompt"], question=QUESTION)
    await until(lambda: "How available" in card_text(slack))
    return env, card(slack)


async def test_another_person_s_click_is_refused_privately(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env, ts = await asked(url, redis, keys, events, slack)
        status, _ = await post_signed(url, click(ts, "b.1", value="single", user="U0BOB"), content_type=FORM)
        assert status == 200
        [note] = await slack.wait_for("chat.postEphemeral")
        assert note["user"] == "U0BOB" and note["channel"] == "C0INFRA"
        assert note["text"] == "Only <@U0ALICE> can answer this."
        assert slack.ephemeral["C0INFRA"][0]["text"] == note["text"]  # the stand-in took it
        assert [e for e in await queued(redis, keys) if e.action] == []
        assert buttons_shown(slack)  # the question is still open for Alice
        # Alice's own click is the answer
        status, _ = await post_signed(url, click(ts, "a.1", value="multi"),
                                      content_type=FORM)
        assert status == 200
        await until(lambda: "chose *Two AZs*" in card_text(slack))
    [answer] = [e for e in await queued(redis, keys) if e.action]
    assert answer.user == "U0ALICE" and answer.action.value == "multi"
    assert answer.conversation_id == env.conversation_id


async def test_another_person_s_reply_in_words_does_not_answer(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        await asked(url, redis, keys, events, slack)
        assert (await post_signed(url, reply("Ev801", "U0BOB", "one AZ is fine")))[0] == 200
        [note] = await slack.wait_for("chat.postEphemeral")
        assert note["user"] == "U0BOB" and note["thread_ts"] == ROOT
        assert note["text"] == messages.ONLY_THEY_CAN_ANSWER.format(who="<@U0ALICE>")
        assert buttons_shown(slack)
    assert [e.text for e in await queued(redis, keys)] == ["a web app"]


async def test_another_person_cannot_go_on_in_someone_else_s_thread(bot, redis, keys, slack) -> None:
    _bot, url = bot
    await start_request(url, redis, keys)
    assert (await post_signed(url, reply("Ev802", "U0BOB", "and delete the database")))[0] == 200
    [note] = await slack.wait_for("chat.postEphemeral")
    assert note["text"] == messages.ONLY_THEY_CAN_ASK.format(who="<@U0ALICE>")
    assert note["thread_ts"] == ROOT
    # the requester goes on as before
    assert (await post_signed(url, reply("Ev803", "U0ALICE", "and a cache",
                                         ts="1700000801.000100")))[0] == 200
    assert [e.text for e in await queued(redis, keys)] == ["a web app", "and a cache"]


@pytest.fixture
async def approver_bot(settings, make_bot: Callable[..., Any]):
    settings.slack_approvers = frozenset({"U0CAROL"})
    return await make_bot()


async def test_an_approver_may_answer(approver_bot, redis, keys, events, slack) -> None:
    the_bot, url = approver_bot
    async with running(the_bot.egress):
        env, ts = await asked(url, redis, keys, events, slack)
        status, _ = await post_signed(url, click(ts, "b.2", value="single", user="U0BOB"), content_type=FORM)
        assert status == 200
        [note] = await slack.wait_for("chat.postEphemeral")
        assert note["text"] == "Only <@U0ALICE> or <@U0CAROL> can answer this."
        status, _ = await post_signed(url, click(ts, "c.1", value="global", user="U0CAROL"), content_type=FORM)
        assert status == 200
        await until(lambda: "<@U0CAROL> chose *Two regions*"
                    in card_text(slack))
    [answer] = [e for e in await queued(redis, keys) if e.action]
    assert answer.user == "U0CAROL" and answer.action.value == "global"
    assert answer.conversation_id == env.conversation_id


async def test_an_approver_may_answer_in_words(approver_bot, redis, keys, events, slack) -> None:
    the_bot, url = approver_bot
    async with running(the_bot.egress):
        await asked(url, redis, keys, events, slack)
        assert (await post_signed(url, reply("Ev804", "U0CAROL", "two AZs")))[0] == 200
        await until(lambda: "<@U0CAROL> chose *two AZs* (in the thread)" in card_text(slack))
    assert [e.text for e in await queued(redis, keys)] == ["a web app", "two AZs"]
    assert slack.of("chat.postEphemeral") == []


async def test_many_approvers_are_not_all_named(settings, make_bot, redis, keys, events, slack) -> None:
    settings.slack_approvers = frozenset({"U0A1", "U0A2", "U0A3", "U0A4"})
    the_bot, url = await make_bot()
    async with running(the_bot.egress):
        _env, ts = await asked(url, redis, keys, events, slack)
        await post_signed(url, click(ts, "b.3", value="single", user="U0BOB"),
                          content_type=FORM)
        [note] = await slack.wait_for("chat.postEphemeral")
    assert note["text"] == "Only <@U0ALICE> or an approver can answer this."


def test_approvers_setting_takes_comma_separated_slack_ids(monkeypatch) -> None:
    from pydantic import ValidationError

    from core.settings import Settings

    monkeypatch.setenv("ARCHOPS_SLACK_APPROVERS", "U0CAROL, W0DAVE,")
    assert Settings(_env_file=None).slack_approvers == frozenset({"U0CAROL", "W0DAVE"})
    monkeypatch.setenv("ARCHOPS_SLACK_APPROVERS", "carol")
    with pytest.raises(ValidationError, match="not Slack user ids"):
        Settings(_env_file=None)
    monkeypatch.delenv("ARCHOPS_SLACK_APPROVERS")
    assert Settings(_env_file=None).slack_approvers == frozenset()


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_ephemeral_like_slack_refuses_a_user_outside_the_channel(slack) -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token="xoxb-test", base_url=slack.url)
    slack.members["C0SMALL"] = {"U0ALICE"}
    answer = await client.chat_postEphemeral(channel="C0SMALL", user="U0ALICE", text="hi")
    assert answer["ok"] and answer["message_ts"]
    for kwargs, error in (({"channel": "C0SMALL", "user": "U0BOB", "text": "hi"},
                           "user_not_in_channel"),
                          ({"channel": "C0SMALL", "user": "U0ALICE", "text": ""}, "no_text")):
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postEphemeral(**kwargs)
        assert caught.value.response["error"] == error
    history = await client.conversations_history(channel="C0SMALL")
    assert history["messages"] == []  # ephemeral messages are never listed


async def test_another_person_cannot_change_or_regenerate_a_design(bot, redis, keys, events,
                                                                   slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "artifact", "Terraform module", **small_module())
        await emit(events, env, "done", "Designed it")
        await until(lambda: "Designed it" in card_text(slack))
        shown = card(slack)
        for number, which in enumerate(("Request a change", "Regenerate")):
            status, _ = await post_signed(url, click(shown, f"x.{number}", text=which, user="U0BOB"),
                                          content_type=FORM)
            assert status == 200
        notes = await slack.wait_for("chat.postEphemeral", 2)
        assert {n["user"] for n in notes} == {"U0BOB"}
        assert all(n["text"] == messages.ONLY_THEY_CAN_ASK.format(who="<@U0ALICE>") for n in notes)
    assert slack.of("views.open") == []
    assert [e.text for e in await queued(redis, keys)] == ["a web app"]


async def test_the_approvers_of_the_channel_s_project_may_answer(bot, redis, keys, events, slack,
                                                                settings) -> None:
    from core.store import Store

    store = await Store.open(settings.effective_database_url)
    try:
        await store.upsert_project("shop", name="Shop", slack_channel="C0INFRA",
                                   approvers=["U0DAVE"])
    finally:
        await store.close()
    the_bot, url = bot
    async with running(the_bot.egress):
        _env, shown = await asked(url, redis, keys, events, slack)
        status, _ = await post_signed(url, click(shown, "d.1", value="single", user="U0DAVE"),
                                      content_type=FORM)
        assert status == 200
        await until(lambda: "<@U0DAVE> chose *One AZ*" in card_text(slack))
    [answer] = [e for e in await queued(redis, keys) if e.action]
    assert answer.user == "U0DAVE"
