"""The whole path: a Slack mention -> a real worker (offline engine) -> questions on one card,
answered by a click and by a modal, and the design on the same card with the Terraform as a zip.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import zipfile
from typing import Any

from agents.process import run_worker
from bot import blocks as bk
from tests.bot.slack_requests import click, mention, post_signed, running, submission, until
from tests.bot.slack_standin import BOT_USER_ID, SlackStandin

FORM = "application/x-www-form-urlencoded"


def the_card(slack: SlackStandin) -> dict[str, Any]:
    cards = slack.cards("C0INFRA")
    assert len(cards) <= 1, cards
    return copy.deepcopy(cards[0]) if cards else {"blocks": []}


def asks(card: dict[str, Any], word: str) -> bool:
    return any(b["type"] == "actions" for b in card["blocks"]) and word in str(card["blocks"])


async def test_mention_questions_modal_answer_and_result_card(make_bot, settings, redis_url, slack) -> None:
    settings.review_checks = "parse,schema,references,policy,cost"  # no checkov, no plan: seconds
    bot, url = await make_bot(min_interval_s=0.1)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, redis_url, stop))
    try:
        async with running(bot.egress):
            body = mention("Ev300", f"<@{BOT_USER_ID}> a static website for our launch page "
                                    "with a Kafka cluster")
            assert (await post_signed(url, body))[0] == 200
            # the environment question: a click on the recommended choice
            await until(lambda: asks(the_card(slack), "Which environment"), timeout=30)
            card = the_card(slack)
            recommended = next(e for b in card["blocks"] if b["type"] == "actions"
                               for e in b["elements"] if e.get("style") == "primary")
            assert (await post_signed(url, click(card, "w.1", value=recommended["value"]),
                                      content_type=FORM))[0] == 200
            # the domain question takes free text: "Type an answer…" opens a modal
            await until(lambda: asks(the_card(slack), bk.FREE_TEXT), timeout=30)
            card = the_card(slack)
            assert "chose *" in str(card["blocks"])  # who chose what stays on the card
            assert (await post_signed(url, click(card, "w.2", action_id=bk.FREE_TEXT),
                                      content_type=FORM))[0] == 200
            [opened] = await slack.wait_for("views.open")
            assert opened["trigger_id"] == "w.2"
            view = list(slack.views.values())[-1]
            # a reply that is no domain is refused inside the modal, with why
            status, text = await post_signed(url, submission(view, {"answer": "our launch page"}),
                                             content_type=FORM)
            answer = json.loads(text)
            assert status == 200 and answer["response_action"] == "errors"
            assert "not a domain name" in answer["errors"]["answer"]
            status, text = await post_signed(url, submission(view, {"answer": "launch.example.com"}),
                                             content_type=FORM)
            assert status == 200 and not text
            await until(lambda: "Resources (" in str(the_card(slack)["blocks"])
                        and "archops-" in str(the_card(slack)["blocks"]), timeout=60)
    finally:
        stop.set()
        await worker
    card = the_card(slack)
    shown = json.dumps(card["blocks"], ensure_ascii=False)
    # one card for the whole conversation, in the thread of the mention
    assert len(slack.of("chat.postMessage")) == 1 and card["thread_ts"] == "1700000001.000100"
    assert "chose *launch.example.com*" in shown
    [header] = [b for b in card["blocks"] if b["type"] == "header"]
    assert "≈ $" in header["text"]["text"] and "/month" in header["text"]["text"]
    for section in ("Resources (", "Findings by Well-Architected pillar", "Not built", "Kafka"):
        assert section in shown, section
    [buttons] = [b for b in card["blocks"] if b["type"] == "actions"]
    labels = [e["text"]["text"] for e in buttons["elements"]]
    # the worker delivered the design (the default project's own git repository): its pull request
    assert labels == ["View pull request #1", "Request a change", "Regenerate", "Live stream",
                      "Diagram"]
    assert buttons["elements"][0]["url"].startswith("http")
    assert all(e["url"].startswith("https://archops.example.com/c/") and "cap=" in e["url"]
               for e in buttons["elements"][3:])
    # the Terraform as a zip in the thread, through Slack's external upload
    [complete] = slack.of("files.completeUploadExternal")
    assert complete["channel_id"] == "C0INFRA" and complete["thread_ts"] == "1700000001.000100"
    [file] = [f for f in slack.files.values() if f.get("permalink")]
    names = zipfile.ZipFile(io.BytesIO(file["content"])).namelist()
    assert any(n.endswith("/versions.tf") for n in names) and any(n.endswith("/cdn.tf") for n in names)
    assert file["permalink"] in shown
    assert slack.refused_blocks == []
