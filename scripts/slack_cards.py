"""The Slack cards of docs/slack.md: rendered by the bot's own renderer from a real design, as
Block Kit JSON and as screenshots of an HTML approximation of Slack's Block Kit rendering.

    .venv/bin/python scripts/slack_cards.py [--out docs/slack]

The design is archops' own offline workflow (the review's parse, policy and cost checks); each
card state comes from its events through the same transitions the bot applies (bot.transitions),
the answers as a click records them, and every view goes through the same builders (bot.card,
bot.modals, bot.projects, bot.home, bot.unfurl). The screenshots need Debian's chromium
(scripts/setup-browser) and Playwright for Python (the dev extra); without them, the JSON is
still written. Slack draws with its own fonts and emoji: the pictures approximate its layout.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import modals  # noqa: E402
from bot.card import RenderContext, render  # noqa: E402
from bot.commands.help import COMMAND as HELP  # noqa: E402
from bot.home import home_view  # noqa: E402
from bot.links import ArchopsLink, Links  # noqa: E402
from bot.projects import project_modal  # noqa: E402
from bot.transitions import question_key, updates_for  # noqa: E402
from bot.unfurl import unfurl_blocks  # noqa: E402
from core.capability import Signer  # noqa: E402
from core.events import Event  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking"]
CID = "slack:T0ACME:C0INFRA:1733050000.000100"
PEOPLE = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol"}
CHANNELS = {"C0INFRA": "infra"}
# emoji the cards use, drawn with what DejaVu has (Slack shows its own emoji)
EMOJI = {"speech_balloon": ("❝", "#1264a3"), "white_check_mark": ("✔", "#007a5a"),
         "warning": ("⚠", "#e8912d"), "question": ("?", "#e01e5a"),
         "hourglass_flowing_sand": ("◔", "#616061"), "hourglass": ("◔", "#616061"),
         "heavy_plus_sign": ("+", "#007a5a"), "heavy_minus_sign": ("−", "#e01e5a"),
         "pencil2": ("✎", "#e8912d"), "package": ("▣", "#1264a3"), "repeat": ("↻", "#1264a3"),
         "inbox_tray": ("⇩", "#1264a3"), "card_index_dividers": ("▤", "#616061")}


# -- a design through the bot's own transitions ---------------------------------------------------
async def workflow() -> dict[str, list[tuple[str, str | None, dict[str, Any]]]]:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from agents.handler import AgentHandler
    from core.settings import Settings
    from tests.agents.conftest import Recorder, answer, text

    runs: dict[str, list[tuple[str, str | None, dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncSqliteSaver.from_conn_string(f"{tmp}/c.sqlite3") as saver:
            handler = AgentHandler(saver, Settings(_env_file=None),
                                   review_checks={"parse", "policy", "cost"})
            steps = [("ask", text(CID, "a SaaS web app with Postgres, a Redis cache and a Kafka "
                                       "cluster in eu-west-1")),
                     ("env", answer(CID, "environment", "production")),
                     ("nat", answer(CID, "nat", "per_az")),
                     ("domain", answer(CID, "domain", "shop.acme.com")),
                     ("change", text(CID, "add an S3 bucket for uploads and remove the cache"))]
            for name, envelope in steps:
                recorder = Recorder(envelope)
                await handler(recorder)
                runs[name] = recorder.events
    return runs


def play(card: dict[str, str], events: list[tuple[str, str | None, dict[str, Any]]],
         request: str, kind: str, *, until: str | None = None) -> dict[str, str]:
    """``card`` after ``events`` (up to the first of type ``until``), as the follower applies them."""
    for number, (type_, text, data) in enumerate(events):
        event = Event(type=type_, conversation_id=CID, request_id=request, text=text, data=data,  # type: ignore[arg-type]
                      id=f"{1733050000000 + number}-0")
        card = {**card, **updates_for(card, event, {"kind": kind})}
        card["conversation_id"] = CID
        if until and type_ == until:
            break
    return card


def claim(card: dict[str, str], value: str, by: str = "U0ALICE") -> dict[str, str]:
    """What a click on a choice records (bot.state's claim)."""
    question = json.loads(card["question"])
    label = next(c["label"] for c in question["choices"] if c["value"] == value)
    answers = json.loads(card.get("answers") or "[]")
    answers.append({"prompt": question["prompt"], "label": label, "by": by, "via": "button"})
    return {**card, "phase": "answered", "answered_by": by, "answer": value, "answer_label": label,
            "answers": json.dumps(answers)}


def uploaded(card: dict[str, str]) -> str:
    """The card's record of its zip, as the egress writes it after the upload."""
    from bot.uploads import zip_name

    result = json.loads(card["result"])
    name = zip_name(result)
    return json.dumps({"version": result["version"], "name": name,
                       "permalink": f"https://acme.slack.com/files/{name}"})


def cards(runs: dict[str, Any]) -> dict[str, dict[str, str]]:
    base = {"conversation_id": CID, "user": "U0ALICE", "phase": "accepted", "request_id": "r1",
            "asked": "a SaaS web app with Postgres, a Redis cache and a Kafka cluster in eu-west-1"}
    found: dict[str, dict[str, str]] = {"queued": dict(base)}
    working = play(base, runs["ask"][:1], "r1", "text")
    found["progress"] = working
    asked = play(base, runs["ask"], "r1", "text")
    found["question"] = asked
    card = asked
    for step, value in (("env", "production"), ("nat", "per_az")):
        card = play(claim(card, value), runs[step], f"r-{step}", "answer")
    found["free_text_question"] = card
    card = {**claim(card, "none"), "answer_label": "shop.acme.com", "answer": "shop.acme.com"}
    answers = json.loads(card["answers"])
    answers[-1]["label"], answers[-1]["via"] = "shop.acme.com", "modal"
    card["answers"] = json.dumps(answers)
    mid = play(card, runs["domain"], "r-domain", "answer", until=None)
    pr = json.dumps({"url": "https://github.com/acme/infra/pull/41", "number": 41, "action": "opened"})
    found["result"] = {**mid, "zip": uploaded(mid), "pr": pr}
    changing = {**found["result"], "follow_up": "add an S3 bucket for uploads and remove the cache",
                "follow_up_by": "U0ALICE", "phase": "accepted", "request_id": "r-change"}
    found["change_in_progress"] = play(changing, runs["change"][:3], "r-change", "text")
    changed = play(changing, runs["change"], "r-change", "text")
    found["result_changed"] = {**changed, "zip": uploaded(changed), "pr": json.dumps(
        {"url": "https://github.com/acme/infra/pull/41", "number": 41, "action": "updated"})}
    return found


# -- Block Kit -> HTML ------------------------------------------------------------------------------
def mrkdwn(text: str) -> str:
    """Slack's mrkdwn as HTML (links, mentions, code, bold, italic, emoji, line breaks)."""
    tokens: list[str] = []

    def keep(value: str) -> str:
        tokens.append(value)
        return f"\x00{len(tokens) - 1}\x00"

    def code_block(match: re.Match[str]) -> str:
        return keep(f"<pre>{html.escape(match.group(1).strip(chr(10)))}</pre>")

    text = re.sub(r"```(.*?)```", code_block, text, flags=re.S)
    text = re.sub(r"`([^`\n]+)`", lambda m: keep(f"<code>{html.escape(m.group(1))}</code>"), text)

    def angle(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("@"):
            return keep(f'<span class="mention">@{PEOPLE.get(inner[1:], inner[1:])}</span>')
        if inner.startswith("#"):
            return keep(f'<span class="mention">#{CHANNELS.get(inner[1:], inner[1:])}</span>')
        url, _, label = inner.partition("|")
        return keep(f'<a href="#">{html.escape(label or url)}</a>')

    text = re.sub(r"<([^<>]+)>", angle, text)
    text = html.escape(text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?!\w)", r"<b>\1</b>", text)
    text = re.sub(r"(?<![\w_])_([^_\n]+)_(?!\w)", r"<i>\1</i>", text)

    def emoji(match: re.Match[str]) -> str:
        symbol, color = EMOJI.get(match.group(1), ("•", "#616061"))
        return f'<span class="emoji" style="color:{color}">{symbol}</span>'

    text = re.sub(r":(" + "|".join(map(re.escape, EMOJI)) + r"):", emoji, text)
    text = text.replace("\n", "<br>")
    return re.sub(r"\x00(\d+)\x00", lambda m: tokens[int(m.group(1))], text)


def plain(obj: dict[str, Any] | None) -> str:
    return html.escape((obj or {}).get("text", ""))


def element_html(element: dict[str, Any]) -> str:
    kind = element.get("type")
    if kind == "button":
        style = element.get("style") or ""
        link = " ↗" if element.get("url") else ""
        return f'<span class="button {style}">{plain(element.get("text"))}{link}</span>'
    if kind == "static_select":
        chosen = (element.get("initial_option") or {}).get("text") or element.get("placeholder")
        return f'<span class="select">{plain(chosen)}<span class="chevron">⌄</span></span>'
    if kind == "plain_text_input":
        value = html.escape(element.get("initial_value", ""))
        shown = value or f'<span class="placeholder">{plain(element.get("placeholder"))}</span>'
        return f'<div class="input{" multiline" if element.get("multiline") else ""}">{shown}</div>'
    return ""


def blocks_html(blocks: list[dict[str, Any]], errors: dict[str, str] | None = None) -> str:
    out = []
    for block in blocks:
        kind = block.get("type")
        if kind == "section":
            accessory = element_html(block["accessory"]) if block.get("accessory") else ""
            out.append(f'<div class="section"><div class="text">{mrkdwn(block["text"]["text"])}</div>'
                       f'{accessory}</div>')
        elif kind == "header":
            out.append(f'<div class="header">{plain(block["text"])}</div>')
        elif kind == "context":
            out.append('<div class="context">' + " ".join(mrkdwn(e.get("text", ""))
                                                           for e in block["elements"]) + "</div>")
        elif kind == "actions":
            out.append('<div class="actions">' + "".join(element_html(e) for e in block["elements"])
                       + "</div>")
        elif kind == "divider":
            out.append('<div class="divider"></div>')
        elif kind == "input":
            error = (errors or {}).get(block["block_id"])
            optional = '<span class="optional"> (optional)</span>' if block.get("optional") else ""
            element = element_html(block["element"])
            if error:
                element = element.replace('class="input', 'class="input invalid', 1)
            hint = f'<div class="hint">{plain(block.get("hint"))}</div>' if block.get("hint") else ""
            problem = f'<div class="error">{html.escape(error)}</div>' if error else ""
            out.append(f'<div class="field"><div class="label">{plain(block["label"])}{optional}</div>'
                       f"{element}{problem}{hint}</div>")
    return "\n".join(out)


STYLE = """
body { margin: 0; background: #f8f8f8; font: 15px/1.46 "DejaVu Sans", "Liberation Sans", sans-serif; color: #1d1c1d; }
.frame { width: 720px; padding: 16px 20px; background: #fff; }
.message { display: flex; gap: 10px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff; font-weight: bold;
          display: flex; align-items: center; justify-content: center; flex: none; }
.who { font-weight: bold; } .app { background: #e8e8e8; color: #616061; font-size: 10px; padding: 1px 3px; border-radius: 2px; margin: 0 4px; }
.time { color: #616061; font-size: 12px; } .body { flex: 1; min-width: 0; }
.ephemeral { color: #616061; font-size: 12px; margin-bottom: 4px; }
.section { display: flex; justify-content: space-between; gap: 12px; margin: 6px 0; }
.section .text { flex: 1; min-width: 0; } .section > .button { align-self: flex-start; }
.header { font-size: 18px; font-weight: bold; margin: 10px 0 4px; }
.context { color: #616061; font-size: 13px; margin: 4px 0; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.button { border: 1px solid #c4c4c4; border-radius: 4px; padding: 3px 12px; font-size: 14px; font-weight: bold; white-space: nowrap; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.button.danger { color: #e01e5a; }
.select { border: 1px solid #c4c4c4; border-radius: 4px; padding: 3px 10px; font-size: 14px; min-width: 180px; display: inline-flex; justify-content: space-between; }
.chevron { margin-left: 12px; color: #616061; }
pre { background: #f8f8f8; border: 1px solid #ddd; border-radius: 4px; padding: 8px; font: 11.5px/1.4 "DejaVu Sans Mono", monospace; white-space: pre; overflow: hidden; margin: 4px 0; }
code { background: #f4f4f4; border: 1px solid #e1e1e1; border-radius: 3px; padding: 0 3px; font: 12px "DejaVu Sans Mono", monospace; color: #e01e5a; }
a { color: #1264a3; text-decoration: none; } .mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
.emoji { font-weight: bold; margin-right: 2px; }
.divider { border-top: 1px solid #ddd; margin: 12px 0; }
.modal { width: 520px; margin: 10px auto; background: #fff; border-radius: 8px; box-shadow: 0 4px 18px rgba(0,0,0,.25); }
.modal .title { font-size: 20px; font-weight: bold; padding: 16px 24px; border-bottom: 1px solid #ddd; }
.modal .content { padding: 12px 24px; } .modal .footer { padding: 14px 24px; border-top: 1px solid #ddd; display: flex; justify-content: flex-end; gap: 10px; }
.field { margin: 14px 0; } .label { font-weight: bold; margin-bottom: 6px; } .optional { font-weight: normal; color: #616061; }
.input { border: 1px solid #868686; border-radius: 4px; padding: 8px 10px; min-height: 20px; }
.input.multiline { min-height: 64px; } .input.invalid { border-color: #e01e5a; box-shadow: 0 0 0 1px #e01e5a; }
.placeholder { color: #868686; } .hint { color: #616061; font-size: 13px; margin-top: 4px; }
.error { color: #e01e5a; font-size: 13px; margin-top: 4px; }
.home { width: 720px; padding: 20px 28px; background: #fff; } .tab { color: #616061; border-bottom: 2px solid #1264a3; display: inline-block; margin-bottom: 10px; }
.unfurl { border-left: 4px solid #ddd; padding-left: 12px; margin-top: 6px; }
"""


def page(body: str) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>{body}</body></html>"


def message_html(blocks: list[dict[str, Any]], *, ephemeral: bool = False) -> str:
    note = '<div class="ephemeral">Only visible to you</div>' if ephemeral else ""
    return page(f'<div class="frame"><div class="message"><div class="avatar">a</div><div class="body">'
                f'<div><span class="who">archops</span><span class="app">APP</span>'
                f'<span class="time">11:42 AM</span></div>{note}{blocks_html(blocks)}</div></div></div>')


def modal_html(view: dict[str, Any], errors: dict[str, str] | None = None) -> str:
    return page(f'<div class="frame" style="background:#8a8a8a"><div class="modal">'
                f'<div class="title">{plain(view["title"])}</div><div class="content">'
                f'{blocks_html(view["blocks"], errors)}</div><div class="footer">'
                f'<span class="button">{plain(view.get("close"))}</span>'
                f'<span class="button primary">{plain(view.get("submit"))}</span></div></div></div>')


def home_html(view: dict[str, Any]) -> str:
    return page(f'<div class="home"><div class="tab">Home</div>{blocks_html(view["blocks"])}</div>')


def unfurl_html(url: str, blocks: list[dict[str, Any]]) -> str:
    return page(f'<div class="frame"><div class="message"><div class="avatar" style="background:#2eb67d">b</div>'
                f'<div class="body"><div><span class="who">bob</span><span class="time">11:50 AM</span></div>'
                f'<div>have a look at <a href="#">{html.escape(url[:70])}…</a></div>'
                f'<div class="unfurl">{blocks_html(blocks)}</div></div></div></div>')


# -- the pictures -----------------------------------------------------------------------------------
def views(runs: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """name -> (HTML, Block Kit JSON) of every card and view docs/slack.md shows."""
    signer = Signer([b"docs-screenshots-key-0123456789abcdef"])
    links = Links("https://archops.acme.com", signer)
    ctx = RenderContext(links=links)
    out: dict[str, tuple[str, Any]] = {}
    for name, card in cards(runs).items():
        _text, blocks = render(card, ctx)
        out[f"card-{name}"] = (message_html(blocks), blocks)
    free = cards(runs)["free_text_question"]
    question = json.loads(free["question"])
    answer = modals.answer_modal(CID, question, question_key(question))
    out["modal-answer"] = (modal_html(answer, {"answer": modals.check_answer(question, "our launch page") or ""}),
                           {"view": answer, "response": {"response_action": "errors", "errors": {
                               "answer": modals.check_answer(question, "our launch page")}}})
    from bot.card import result_header

    change = modals.change_modal(CID, result_header(json.loads(cards(runs)["result"]["result"])))
    out["modal-change"] = (modal_html(change), change)

    project_view = {"id": "acme-shop", "name": "Acme Shop", "slack_channel": "C0INFRA",
                    "aws_account_id": "123456789012",
                    "aws_role_arn": "arn:aws:iam::123456789012:role/archops",
                    "aws_regions": ["eu-west-1"], "repository": "acme/infra",
                    "path": "terraform/shop", "tag_key": "Project", "tag_value": "acme-shop",
                    "approvers": ["U0CAROL"]}
    project = project_modal("C0INFRA", project_view)
    refused = {"project:repository": "the installation's GitHub token can read acme/infra but may "
                                     "not push to it (archops opens its pull requests there)"}
    out["modal-project"] = (modal_html(project, refused),
                            {"view": project, "response": {"response_action": "errors",
                                                           "errors": refused}})
    result = cards(runs)["result"]
    rows = [(CID, result, {"channel": "C0INFRA"}),
            ("slack:T0ACME:C0INFRA:1733050100.000100",
             {**cards(runs)["question"], "asked": "a static website for the launch page"},
             {"channel": "C0INFRA"})]
    home = home_view(rows, [project_view], links)
    out["app-home"] = (home_html(home), home)
    unfurl = unfurl_blocks(ArchopsLink("diagram", CID, None), result)
    out["unfurl"] = (unfurl_html(links.diagram(CID), unfurl), unfurl)

    async def help_text() -> str:
        from bot.commands import COMMANDS
        from bot.commands.base import Request

        return (await HELP.run(Request(None, "help", "", None, COMMANDS))).text  # type: ignore[arg-type]

    helped = [{"type": "section", "text": {"type": "mrkdwn", "text": asyncio.run(help_text())}}]
    out["command-help"] = (message_html(helped, ephemeral=True), helped)
    return out


async def screenshots(pages: dict[str, tuple[str, Any]], out: Path) -> bool:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        print("no Playwright: JSON only (scripts/setup --dev)")
        return False
    if not Path(CHROMIUM).exists():
        print(f"no {CHROMIUM}: JSON only (scripts/setup-browser)")
        return False
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(viewport={"width": 780, "height": 400},
                                            device_scale_factor=1)
        tab = await context.new_page()
        for name, (markup, _json) in pages.items():
            await tab.set_content(markup)
            target = tab.locator(".frame, .home").first
            await target.screenshot(path=str(out / f"{name}.png"))
        await browser.close()
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "slack"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = asyncio.run(workflow())
    pages = views(runs)
    for name, (_markup, data) in pages.items():
        (out / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    shot = asyncio.run(screenshots(pages, out))
    print(f"{len(pages)} views written to {out}" + (" with screenshots" if shot else ""))


if __name__ == "__main__":
    main()
