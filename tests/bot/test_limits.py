"""Block Kit's limits hold whatever the design: the renderer cuts with a visible "…and N more",
and the stand-in, which checks what Slack checks, takes every card."""

from __future__ import annotations

import json
import re

from bot import limits
from bot.card import render
from bot.result import summarise
from tests.bot.blockkit_rules import block_problems
from tests.bot.designs import small_module
from tests.bot.slack_requests import running, until
from tests.bot.test_egress import card, card_text, emit, start_request


def huge_module() -> dict:
    """A design far past every limit: 400 resources with long names, 300 findings in every
    pillar, 120 things not built, long file names."""
    data = small_module()
    data["diagram"]["nodes"] = [
        {"id": f"aws_instance.worker_{i:03d}_{'x' * 60}", "label": f"Worker {i} " + "w" * 50,
         "kind": "ec2", "group": "private", "blueprint": "ec2"} for i in range(400)]
    data["cost"]["items"] = [{"address": n["id"], "resource_type": "aws_instance",
                              "monthly_usd": 12.5, "detail": "t4g.small"}
                             for n in data["diagram"]["nodes"]]
    data["cost"]["monthly_total"] = 5000.0
    pillars = ["security", "reliability", "performance_efficiency", "cost_optimisation",
               "operational_excellence", "sustainability"]
    data["findings"] = [{"check_id": f"c{i}", "severity": ["high", "medium", "low"][i % 3],
                         "pillar": pillars[i % 6], "address": f"aws_instance.worker_{i:03d}",
                         "message": "m" * 400} for i in range(300)]
    data["not_built"] = [{"what": f"thing {i} " + "t" * 80, "why": "w" * 120} for i in range(120)]
    data["files"] = {f"file_{i:03d}_{'f' * 40}.tf": "" for i in range(200)}
    data["files"]["variables.tf"] = small_module()["files"]["variables.tf"]
    return data


def huge_question() -> dict:
    return {"id": "q" * 317, "prompt": "P" * 3500, "default": "v0", "free_text": True,
            "choices": [{"value": f"v{i}" + "x" * 300, "label": f"Choice {i} " + "l" * 100,
                         "detail": f"detail {i} " + "d" * 200} for i in range(120)]}


def test_listing_says_how_many_it_left_out() -> None:
    lines = [f"line {i:03d} " + "x" * 40 for i in range(500)]
    text = limits.listing(lines, 3000)
    assert len(text) <= 3000
    kept = text.count("line ")
    assert text.endswith(f"…and {500 - kept} more")
    fenced = limits.listing(lines, 3000, fence=True)
    assert len(fenced) <= 3000 and fenced.startswith("```\n") and "```\n…and" in fenced
    assert limits.listing(["a", "b"], 100) == "a\nb"  # what fits is left alone


def test_enforce_keeps_the_buttons_of_a_message_over_50_blocks() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"s{i}"}} for i in range(80)]
    blocks.append({"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "B" * 200},
         "action_id": "a" * 317, "value": "v" * 2102}]})
    fitted = limits.enforce(blocks)
    assert len(fitted) == 50 and fitted[-1]["type"] == "actions"
    assert fitted[-2]["elements"][0]["text"].startswith("…and 32 more section(s)")
    button = fitted[-1]["elements"][0]
    assert len(button["text"]["text"]) == 75 and len(button["action_id"]) == 255
    assert len(button["value"]) == 2000
    assert block_problems(fitted) == []


def test_a_huge_result_fits_every_limit_and_says_what_it_cut() -> None:
    result = summarise(huge_module(), "1-0")
    card_state = {"conversation_id": "slack:T:C:1", "user": "U1", "asked": "A" * 5000,
                  "phase": "done", "final": "F" * 5000, "result": json.dumps(result),
                  "answers": json.dumps([{"prompt": "p" * 200, "label": "l" * 200, "by": "U1"}
                                         for _ in range(60)])}
    _text, blocks = render(card_state)
    assert block_problems(blocks) == []
    shown = json.dumps(blocks, ensure_ascii=False)
    assert re.search(r"…and \d+ more", section_text(blocks, "*Resources (400)*"))
    assert re.search(r"…and \d+ more", section_text(blocks, "*Findings by Well-Architected pillar*"))
    assert re.search(r"…and \d+ more", section_text(blocks, "*Not built*"))
    assert "…and" in shown and len(blocks) <= 50


def test_a_huge_question_fits_every_limit() -> None:
    question = huge_question()
    card_state = {"conversation_id": "slack:T:C:1", "user": "U1", "asked": "a", "phase": "question",
                  "question": json.dumps(question), "question_key": "k" * 16}
    _text, blocks = render(card_state)
    assert block_problems(blocks) == []
    [menu] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]
              if e["type"] == "static_select"]
    assert len(menu["options"]) == 100
    assert "…and 20 more choices" in json.dumps(blocks, ensure_ascii=False)
    # the choices' costs are listed, and what does not fit is counted, never dropped silently
    details = [b for b in blocks if b["type"] == "context" and "detail 0" in json.dumps(b, ensure_ascii=False)]
    assert details and re.search(r"…and \d+ more", details[0]["elements"][0]["text"])
    three = {**question, "choices": question["choices"][:3]}
    three["choices"][1] = {**three["choices"][1], "value": "v" * 2102}
    _text, blocks = render({**card_state, "question": json.dumps(three)})
    assert block_problems(blocks) == []
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert all(len(b["text"]["text"]) <= 75 and len(b["action_id"]) <= 255 for b in buttons)
    assert max(len(b.get("value", "")) for b in buttons) == 2000


def section_text(blocks: list, title: str) -> str:
    [text] = [b["text"]["text"] for b in blocks if b["type"] == "section"
              and b["text"]["text"].startswith(title)]
    return text


async def test_slack_takes_the_cards_of_a_design_past_every_limit(bot, redis, keys, events,
                                                                  slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "question", "P" * 3500, question=huge_question())
        await until(lambda: "…and 20 more choices" in card_text(slack))
        await emit(events, env, "status", "back to work", node="route")
        await emit(events, env, "artifact", "Terraform module", **huge_module())
        await emit(events, env, "done", "D" * 6000)
        await until(lambda: "*Resources (400)*" in card_text(slack) and ".zip>" in card_text(slack))
    assert slack.refused_blocks == []
    assert "…and" in json.dumps(card(slack)["blocks"], ensure_ascii=False)
    assert len(slack.of("chat.postMessage")) == 1
