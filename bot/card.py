"""A conversation's card -> Slack Block Kit (raw dicts) and its plain-text fallback. Pure.

One card per conversation shows, top to bottom: who asked what (and the latest follow-up), the
answers given so far ("who chose what"), then what is happening now: queued, "step N of M" with
the step's name, the open question with its buttons (a modal for free text), or the error; and
the result people act on: a header (environment, region, monthly cost), the resources as a
table, the findings by Well-Architected pillar, what was not built, the change since the
previous version, the Terraform as a zip in the thread, and buttons (the pull request, Request a
change, Regenerate, the live stream, the diagram). Everything is fitted to Block Kit's limits by
:mod:`bot.limits`; lists that do not fit end with "…and N more".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import blocks as bk
from bot import limits
from bot.links import Links
from bot.state import loads
from bot.transitions import question_key

MAX_BUTTONS = 5
TABLE_LABEL = 28
TABLE_ADDRESS = 44


@dataclass(frozen=True)
class RenderContext:
    links: Links | None = None


def money(value: float | None, currency: str = "USD") -> str:
    if value is None:
        return "—"
    sign = "$" if currency == "USD" else f"{currency} "
    return f"{sign}{value:,.2f}" if abs(value) < 10 else f"{sign}{value:,.0f}"


def delta(value: float) -> str:
    return ("+" if value >= 0 else "−") + money(abs(value)).lstrip("+")


def _choice_label(choice: dict[str, Any], default: Any) -> str:
    label = str(choice.get("label") or choice.get("value"))
    return f"{label} (recommended)" if choice.get("value") == default else label


def choice_label(question: dict[str, Any], value: str) -> str:
    for choice in question.get("choices") or []:
        if choice.get("value") == value:
            return str(choice.get("label") or value)
    return value


# -- the parts ----------------------------------------------------------------------------------
def asked_blocks(card: dict[str, str]) -> list[dict[str, Any]]:
    text = f":speech_balloon: <@{card.get('user', '')}> asked: {card.get('asked', '')}"
    if card.get("follow_up"):
        text += f"\n:repeat: <@{card.get('follow_up_by', '')}>: {card['follow_up']}"
    return [bk.section(text)]


def answers_blocks(card: dict[str, str]) -> list[dict[str, Any]]:
    answers = [a for a in loads(card.get("answers"), []) if isinstance(a, dict)]
    if not answers:
        return []
    lines = []
    for answer in answers:
        how = " (in the thread)" if answer.get("via") == "thread" else ""
        lines.append(f":white_check_mark: {answer.get('prompt', '')} <@{answer.get('by', '')}> "
                     f"chose *{answer.get('label', '')}*{how}")
    return [bk.context(limits.listing(lines, limits.SECTION_TEXT))]


def progress_blocks(card: dict[str, str]) -> list[dict[str, Any]]:
    if card.get("phase") == "accepted":
        return [bk.context(":inbox_tray: Queued: archops starts on it in a moment")]
    step, steps, name = card.get("step"), card.get("steps"), card.get("step_name")
    if card.get("phase") == "answered":
        head = ":hourglass_flowing_sand: *Going on with the answer*"
    elif step and steps and step != "0":
        head = f":hourglass_flowing_sand: *Step {step} of {steps}: {name}*"
    elif name:
        head = f":hourglass_flowing_sand: *{name}*"
    else:
        head = ":hourglass_flowing_sand: *Working on it*"
    found = [bk.section(head)]
    if card.get("status") and card.get("status") != name:
        found.append(bk.context(card["status"]))
    return found


def question_blocks(card: dict[str, str]) -> list[dict[str, Any]]:
    """The open question: buttons (<= 5 choices) or a select, the recommended one marked, each
    choice's cost listed; a button opening a modal when free text is allowed."""
    question = loads(card.get("question"), {})
    key = card.get("question_key") or question_key(question)
    choices = [c for c in question.get("choices") or [] if isinstance(c, dict)]
    default = question.get("default")
    found = [bk.section(f":question: *{question.get('prompt') or ''}*")]
    if card.get("rejected"):
        found.append(bk.context(f":warning: That answer was not taken: {card['rejected']}"))
    details = [f"• *{_choice_label(c, default)}*: {c['detail']}" for c in choices if c.get("detail")]
    if details:
        found.append(bk.context(limits.listing(details, limits.SECTION_TEXT)))
    elements: list[dict[str, Any]] = []
    if 0 < len(choices) <= MAX_BUTTONS:
        for index, choice in enumerate(choices):
            elements.append(bk.button(
                _choice_label(choice, default), f"{bk.ANSWER}{key}:{index}",
                value=str(choice.get("value")),
                style="primary" if choice.get("value") == default else None))
    elif choices:
        options = [bk.option(_choice_label(c, default), str(i), c.get("detail"))
                   for i, c in enumerate(choices[: limits.OPTIONS])]
        select: dict[str, Any] = {"type": "static_select", "action_id": f"{bk.ANSWER}{key}:select",
                                  "placeholder": bk.plain("Choose…", limits.PLACEHOLDER),
                                  "options": options}
        initial = [o for o, c in zip(options, choices, strict=False) if c.get("value") == default]
        if initial:
            select["initial_option"] = initial[0]
        elements.append(select)
        if len(choices) > limits.OPTIONS:
            found.append(bk.context(f"{limits.more(len(choices) - limits.OPTIONS)} choices: "
                                    "reply in the thread with the one you want"))
    if question.get("free_text") or not choices:
        elements.append(bk.button("Type an answer…", f"{bk.FREE_TEXT}{key}"))
    if elements:
        found.append(bk.actions(elements, block_id=f"q:{key}"))
    found.append(bk.context("Or reply in this thread in your own words."))
    return found


def result_header(result: dict[str, Any]) -> str:
    parts = [p for p in (result.get("project"), result.get("environment"), result.get("region"))
             if p]
    monthly = result.get("monthly")
    cost = f"≈ {money(monthly, result.get('currency', 'USD'))}/month" if monthly is not None \
        else "cost not estimated"
    version = f"v{result.get('version')}" if result.get("version") else ""
    return " · ".join([*parts, cost, *([version] if version else [])])


def resources_block(result: dict[str, Any]) -> dict[str, Any]:
    rows = result.get("resources") or []
    lines = []
    for row in rows:
        label = limits.cut(str(row.get("label") or ""), TABLE_LABEL).ljust(TABLE_LABEL)
        address = limits.cut(str(row.get("address") or ""), TABLE_ADDRESS).ljust(TABLE_ADDRESS)
        cost = money(row.get("monthly")) if row.get("monthly") is not None else ""
        lines.append(f"{label} {address} {cost:>8}".rstrip())
    head = f"*Resources ({len(rows)})*\n"
    return bk.section(head + limits.listing(lines, limits.SECTION_TEXT - len(head), fence=True))


def findings_block(result: dict[str, Any]) -> dict[str, Any]:
    pillars = result.get("findings") or []
    head = "*Findings by Well-Architected pillar*\n"
    if not any(p.get("open") for p in pillars):
        waived = sum(int(p.get("waived") or 0) for p in pillars)
        text = ":white_check_mark: No open findings"
        if waived:
            text += f"; {waived} waived, each with its written reason"
        return bk.section(head + text)
    lines = []
    for pillar in pillars:
        counts = ", ".join(f"{n} {s}" for s, n in pillar.get("severities", {}).items())
        line = f"*{pillar.get('label')}*: {pillar.get('open')} open"
        line += f" ({counts})" if counts else ""
        line += f", {pillar.get('waived')} waived" if pillar.get("waived") else ""
        lines.append(line)
        for top in pillar.get("top") or []:
            where = f"`{top['address']}` " if top.get("address") else ""
            lines.append(f"    • [{top.get('severity')}] {where}{limits.cut(top.get('message', ''), 200)}")
    return bk.section(head + limits.listing(lines, limits.SECTION_TEXT - len(head)))


def not_built_block(result: dict[str, Any]) -> dict[str, Any] | None:
    missing = result.get("not_built") or []
    if not missing:
        return None
    head = "*Not built*\n"
    lines = [f"• {m.get('what')}: {m.get('why')}" for m in missing]
    return bk.section(head + limits.listing(lines, limits.SECTION_TEXT - len(head)))


def change_block(diff: dict[str, Any] | None) -> dict[str, Any] | None:
    if not diff:
        return None
    head = f"*Change since version {diff.get('against')}*\n"
    lines = [f":heavy_plus_sign: {a}" for a in diff.get("added") or []]
    lines += [f":heavy_minus_sign: {r}" for r in diff.get("removed") or []]
    lines += [f":pencil2: {c}" for c in diff.get("changed") or []]
    if not lines:
        lines = ["No resource added, removed or changed"]
    cost = ""
    if diff.get("cost_delta") is not None:
        cost = (f"\nMonthly cost: {money(diff.get('cost_before'))} → {money(diff.get('cost_after'))}"
                f" ({delta(float(diff['cost_delta']))}/month)")
    return bk.section(head + limits.listing(lines, limits.SECTION_TEXT - len(head) - len(cost))
                      + cost)


def files_block(card: dict[str, str], result: dict[str, Any]) -> dict[str, Any]:
    files = result.get("files") or []
    upload = loads(card.get("zip"), {})
    count = f"{len(files)} file(s)"
    if upload.get("version") == result.get("version") and upload.get("permalink"):
        text = f":package: Terraform: <{upload['permalink']}|{upload.get('name')}> ({count})"
    elif upload.get("version") == result.get("version") and upload.get("error"):
        text = f":package: Terraform ({count}): the zip could not be uploaded ({upload['error']})"
    else:
        text = f":package: Terraform ({count}): the zip follows in this thread"
    listed = limits.listing([f"`{name}`" for name in files], limits.SECTION_TEXT - len(text) - 1,
                            max_items=40, sep=", ")
    return bk.context(f"{text}\n{listed}" if listed else text)


def result_actions(card: dict[str, str], ctx: RenderContext) -> dict[str, Any]:
    cid = card.get("conversation_id", "")
    pr = loads(card.get("pr"), {})
    elements: list[dict[str, Any]] = []
    if pr.get("url"):
        number = f" #{pr['number']}" if pr.get("number") else ""
        elements.append(bk.button(f"View pull request{number}", f"{bk.LINK}pr", url=pr["url"],
                                  style="primary"))
    elif card.get("phase") in {"done", "error"}:  # none came, or it failed: say what to do
        elements.append(bk.button("Open pull request", bk.PULL_REQUEST, value=cid[:200]))
    elements.append(bk.button("Request a change", bk.CHANGE, value=cid[:200]))
    elements.append(bk.button("Regenerate", bk.REGENERATE, value=cid[:200]))
    if ctx.links is not None and cid:
        elements.append(bk.button("Live stream", f"{bk.LINK}stream", url=ctx.links.stream(cid)))
        elements.append(bk.button("Diagram", f"{bk.LINK}diagram", url=ctx.links.diagram(cid)))
    else:
        elements.append(bk.button("Live stream", f"{bk.NEEDS_SETUP}stream", value="public_url"))
        elements.append(bk.button("Diagram", f"{bk.NEEDS_SETUP}diagram", value="public_url"))
    return bk.actions(elements, block_id="result")


def result_blocks(card: dict[str, str], result: dict[str, Any], ctx: RenderContext
                  ) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [bk.header(result_header(result))]
    final = (card.get("final") or "").strip()
    if final:
        found.append(bk.section(f":white_check_mark: {final.splitlines()[0]}"))
    found.append(resources_block(result))
    found.append(findings_block(result))
    for block in (not_built_block(result), change_block(loads(card.get("change"), None))):
        if block is not None:
            found.append(block)
    found.append(files_block(card, result))
    pr = loads(card.get("pr"), {})
    if pr.get("error"):
        hint = f" ({pr['hint']})" if pr.get("hint") else ""
        found.append(bk.context(f":warning: The pull request could not be opened: {pr['error']}{hint}"))
    elif pr.get("url") and pr.get("action") == "unchanged":
        found.append(bk.context("The pull request already holds this version: nothing to commit"))
    found.append(result_actions(card, ctx))
    return found


def current_design(result: dict[str, Any]) -> dict[str, Any]:
    """While a change is worked on: one line about the version people have."""
    return bk.context(f":card_index_dividers: Current design: {result_header(result)}")


# -- the card -----------------------------------------------------------------------------------
def render(card: dict[str, str], ctx: RenderContext | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of a card in its current state, within Block Kit's limits."""
    ctx = ctx or RenderContext()
    phase = card.get("phase") or "accepted"
    result = loads(card.get("result"), {})
    found = [*asked_blocks(card), *answers_blocks(card)]
    if phase in {"accepted", "working", "answered"}:
        found += progress_blocks(card)
        text = f"archops: {card.get('step_name') or 'working on it'}"
        if result:
            found.append(current_design(result))
    elif phase == "question":
        found += question_blocks(card)
        text = f"archops asks: {loads(card.get('question'), {}).get('prompt') or ''}"
        if result:
            found.append(current_design(result))
    elif phase == "error":
        warning = f":warning: {card.get('error') or 'The request failed.'}"
        if card.get("hint"):
            warning += f"\n_{card['hint']}_"
        found.append(bk.section(warning))
        text = f"archops: {card.get('error') or 'the request failed'}"
        if result:
            found += result_blocks({**card, "final": ""}, result, ctx)
    else:  # done
        text = f"archops: {(card.get('final') or 'done').splitlines()[0]}"
        if result:
            if card.get("result_request") and card.get("result_request") != card.get("request_id"):
                found.append(bk.section(card.get("final") or ""))  # an answer about the design
                found += result_blocks({**card, "final": ""}, result, ctx)
            else:
                found += result_blocks(card, result, ctx)
        else:
            found.append(bk.section(f":white_check_mark: {card.get('final') or 'Done.'}"))
    if ctx.links is not None and card.get("conversation_id") and not (
            result and phase in {"done", "error"}):
        found.append(bk.context(f"<{ctx.links.stream(card['conversation_id'])}|"
                                "Open the live stream in archops>"))
    return limits.cut(text, limits.SECTION_TEXT), limits.enforce(found)
