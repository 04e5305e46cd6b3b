"""The whole path: a Slack mention -> a real worker (offline engine) -> questions as buttons,
answers by click, and the design in the thread."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents.process import run_worker
from tests.bot.slack_requests import answer_click, mention, post_signed, running, until
from tests.bot.slack_standin import BOT_USER_ID, SlackStandin


def recommended(message: dict[str, Any]) -> tuple[str, str] | None:
    """(question id, recommended value) of a question message; None when it asks nothing."""
    for block in message["blocks"]:
        if block["type"] != "actions":
            continue
        element = block["elements"][0]
        if element["type"] == "static_select":
            value = (element.get("initial_option") or element["options"][0])["value"]
            return element["action_id"].split(":")[2], value
        chosen = next((b for b in block["elements"] if b.get("style") == "primary"), element)
        return chosen["action_id"].split(":")[2], chosen["value"]
    return None


def finished(slack: SlackStandin) -> bool:
    messages = slack.messages.get("C0INFRA") or []
    return bool(messages) and (
        ":white_check_mark:" in messages[-1]["text"] or recommended(messages[-1]) is not None
    ) and "chose" not in messages[-1]["text"]


async def test_mention_questions_answers_and_design_in_one_thread(make_bot, settings, redis_url, slack) -> None:
    bot, url = await make_bot(min_interval_s=0.1)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, redis_url, stop))
    try:
        async with running(bot.egress):
            body = mention("Ev300", f"<@{BOT_USER_ID}> a static website for our launch page")
            assert (await post_signed(url, body))[0] == 200
            for round_ in range(8):
                await until(lambda: finished(slack), timeout=30)
                last = slack.messages["C0INFRA"][-1]
                asked = recommended(last)
                if asked is None:
                    break
                count = len(slack.messages["C0INFRA"])
                status, _ = await post_signed(
                    url, answer_click(last["ts"], asked[0], asked[1], f"w.{round_}"),
                    content_type="application/x-www-form-urlencoded")
                assert status == 200
                await until(lambda count=count: len(slack.messages["C0INFRA"]) > count, timeout=30)
    finally:
        stop.set()
        await worker
    messages = slack.messages["C0INFRA"]
    assert "versions.tf" in json.dumps(messages[-1]["blocks"]), json.dumps(messages, indent=1)
    assert all(m["thread_ts"] == "1700000001.000100" for m in messages)
    posted = [m["metadata"]["event_payload"]["request_id"] for m in messages]
    assert len(posted) == len(set(posted)) == len(slack.of("chat.postMessage"))
