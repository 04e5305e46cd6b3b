"""App Home, unfurls of archops links for people allowed to see them, and an uninstalled app."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

from tests.bot.designs import small_module
from tests.bot.slack_requests import payload, post_signed, run_command, running, until
from tests.bot.test_egress import card_text, emit, start_request


def home_opened(user: str) -> str:
    body = payload("event_callback_app_mention.json")
    body.update(team_id="T0ARCH", event_id=f"EvHome{user}")
    body["event"] = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                     "event_ts": "1700000900.000100"}
    return json.dumps(body)


def link_shared(user: str, urls: list[str], *, team: str = "T0ARCH", event_id: str = "EvLink") -> str:
    body = payload("event_callback_app_mention.json")
    body.update(team_id=team, event_id=event_id)
    body["event"] = {"type": "link_shared", "channel": "C0LOUNGE", "user": user,
                     "message_ts": "1700000950.000100", "source": "conversations_history",
                     "unfurl_id": "U-1", "event_ts": "1700000950.000100",
                     "links": [{"domain": "archops.example.com", "url": u} for u in urls]}
    return json.dumps(body)


def lifecycle(name: str, **event: Any) -> str:
    body = payload(name)
    body["team_id"] = "T0ARCH"
    body["event"] = {**body["event"], **event}
    return json.dumps(body)


async def designed(url: str, redis: Any, keys: Any, events: Any, slack: Any) -> Any:
    env = await start_request(url, redis, keys)
    await emit(events, env, "artifact", "Terraform module", **small_module())
    await emit(events, env, "done", "Designed it")
    await until(lambda: "Designed it" in card_text(slack))
    return env


async def test_app_home_lists_the_person_s_conversations_and_projects(bot, redis, keys, events,
                                                                     slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        await designed(url, redis, keys, events, slack)
        await run_command(url, "new a queue and a worker", "h.1")
        assert (await post_signed(url, home_opened("U0ALICE")))[0] == 200
        await slack.wait_for("views.publish")
        assert (await post_signed(url, home_opened("U0BOB")))[0] == 200
        await slack.wait_for("views.publish", 2)
    home = json.dumps(slack.home["U0ALICE"]["blocks"], ensure_ascii=False)
    assert "*a web app*" in home and "staging · eu-west-1 · ≈ $161/month · v1" in home
    assert "*a queue and a worker*" in home and "queued" in home
    assert "in <#C0INFRA>" in home and "https://archops.example.com/c/" in home
    assert "No channel you asked in is bound to a project yet" in home
    bob = json.dumps(slack.home["U0BOB"]["blocks"])
    assert "a web app" not in bob and "None yet." in bob  # nobody sees another's conversations
    assert slack.refused_blocks == []


async def test_a_link_is_unfurled_for_who_may_see_it_only(bot, redis, keys, events, slack,
                                                          settings) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await designed(url, redis, keys, events, slack)
    page = f"https://archops.example.com/c/{quote(env.conversation_id, safe='')}"
    # Alice, its owner, shares the bare link and a diagram link: both unfurl
    assert (await post_signed(url, link_shared("U0ALICE", [page, page + "/diagram",
                                                          "https://example.org/x"])))[0] == 200
    [unfurl] = await slack.wait_for("chat.unfurl")
    assert unfurl["channel"] == "C0LOUNGE" and unfurl["ts"] == "1700000950.000100"
    assert set(unfurl["unfurls"]) == {page, page + "/diagram"}
    shown = json.dumps(unfurl["unfurls"][page + "/diagram"], ensure_ascii=False)
    assert "archops · Diagram" in shown and "staging · eu-west-1" in shown
    # Bob shares the bare link: he may not see the conversation, so nothing is unfurled
    await post_signed(url, link_shared("U0BOB", [page], event_id="EvLink2"))
    # with a capability for that conversation, the link is his to show
    cap = settings.signer().issue("conversation", env.conversation_id, actions={"read"})
    await post_signed(url, link_shared("U0BOB", [f"{page}?cap={cap}"], event_id="EvLink3"))
    await slack.wait_for("chat.unfurl", 2)
    # a capability for another conversation, a forged one, another workspace: nothing
    other = settings.signer().issue("conversation", "slack:T0ARCH:C0X:1.1", actions={"read"})
    await post_signed(url, link_shared("U0BOB", [f"{page}?cap={other}", f"{page}?cap={cap[:-3]}xyz"],
                                       event_id="EvLink4"))
    await post_signed(url, link_shared("U0ALICE", [page], team="T0OTHER", event_id="EvLink5"))
    await asyncio.sleep(0.3)
    assert len(slack.of("chat.unfurl")) == 2
    assert list(slack.of("chat.unfurl")[1]["unfurls"]) == [f"{page}?cap={cap}"]


async def test_an_uninstalled_app_stops_writing_for_that_team(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await until(lambda: bool(slack.cards("C0INFRA")))
        status, _ = await post_signed(url, lifecycle("event_callback_app_uninstalled.json"))
        assert status == 200
        record = await the_bot.egress.state.team("T0ARCH")
        assert record["state"] == "uninstalled" and "Ev111" in record["why"]
        await asyncio.sleep(1.1)  # the egress reads the team's record at most once a second
        writes = len(slack.of("chat.update"))
        await emit(events, env, "done", "never written")
        await asyncio.sleep(0.5)
        assert len(slack.of("chat.update")) == writes
        card = await the_bot.egress.state.card(env.conversation_id)
        assert card["failed"] == "the app was uninstalled from this workspace"
        # a person's request from the team afterwards: the app is installed again
        await start_request(url, redis, keys, "Ev900", ts="1700000003.000100")
        assert await the_bot.egress.state.team("T0ARCH") == {}


async def test_revoked_tokens_stop_work_only_when_the_bot_s_is_revoked(bot, slack) -> None:
    the_bot, url = bot
    users_only = lifecycle("event_callback_tokens_revoked.json", tokens={"oauth": ["U0ALICE"]})
    assert (await post_signed(url, users_only))[0] == 200
    assert await the_bot.egress.state.team("T0ARCH") == {}
    assert (await post_signed(url, lifecycle("event_callback_tokens_revoked.json")))[0] == 200
    assert (await the_bot.egress.state.team("T0ARCH"))["state"] == "tokens_revoked"
