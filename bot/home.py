"""App Home: a person's conversations with archops and their channels' projects, with state.

Published with ``views.publish`` when the person opens the app's Home tab
(``app_home_opened``): their latest conversations (what they asked, where, what it is doing or
became, a link to its live stream) and the project bound to each channel they asked in.
"""

from __future__ import annotations

from typing import Any

from bot import blocks as bk
from bot import limits
from bot.commands.status import state_of
from bot.links import Links
from bot.projects import PROJECT_FIELDS, shown_value

SHOWN = 20


def conversation_block(conversation: str, card: dict[str, str], conv: dict[str, str],
                       links: Links | None) -> dict[str, Any]:
    channel = conv.get("channel", "")
    where = f"<#{channel}>" if channel.startswith(("C", "G")) else "a direct message"
    text = (f"*{limits.cut(card.get('asked') or 'a request', 200)}*\nin {where} · "
            f"{limits.cut(state_of(card), 400)}")
    block = bk.section(text)
    if links is not None:
        block["accessory"] = bk.button("Live stream", f"{bk.LINK}home", url=links.stream(conversation))
    return block


def project_block(view: dict[str, Any]) -> dict[str, Any]:
    """A project as ``core.projects.Projects.view`` gives it."""
    details = []
    for field in PROJECT_FIELDS[1:]:
        details.append(f"{field.label}: {shown_value(field, view)}")
    return bk.section(f"*{view['name']}* (`{view['id']}`) in <#{view['slack_channel']}>\n"
                      + limits.cut(" · ".join(details), 2500))


def home_view(rows: list[tuple[str, dict[str, str], dict[str, str]]], projects: list[Any],
              links: Links | None) -> dict[str, Any]:
    """The Home tab: ``rows`` are (conversation id, card, conversation record), latest first."""
    blocks: list[dict[str, Any]] = [bk.header("archops"), bk.context(
        "Ask for AWS infrastructure by mentioning me in a channel, in a direct message here, or "
        "with `/archops new ...`; `/archops help` lists the commands.")]
    blocks += [bk.divider(), bk.section("*Your conversations*")]
    if rows:
        blocks += [conversation_block(cid, card, conv, links) for cid, card, conv in rows[:SHOWN]]
        if len(rows) > SHOWN:
            blocks.append(bk.context(limits.more(len(rows) - SHOWN)))
    else:
        blocks.append(bk.context("None yet."))
    blocks += [bk.divider(), bk.section("*Projects of your channels*")]
    if projects:
        blocks += [project_block(p) for p in projects]
    else:
        blocks.append(bk.context("No channel you asked in is bound to a project yet: "
                                 "`/archops project bind` there binds one."))
    return {"type": "home", "blocks": limits.enforce(blocks, limits.VIEW_BLOCKS)}
