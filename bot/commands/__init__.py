"""`/archops <command>`: a map of command name -> handler, one handler per module.

    new      start a design           change   change your latest design here
    status   where your designs are   project  show or bind this channel's project
    scan     read the account         tags     what lacks the project's tag
    metrics  the monitor's insights   help     this list

Everything a command answers is ephemeral (only the person who typed it sees it); what it
starts (a design, a scan) answers in a thread of its own. An unknown command, or a command that
fails, is answered privately too, never in the channel.
"""

from __future__ import annotations

import difflib

from bot import messages
from bot.commands import change, help, metrics, new, project, scan, status, tags
from bot.commands.base import Command, Deps, Reply, Request
from bot.payloads import SlashCommand
from core.errors import ArchopsError
from core.logging import get_logger

log = get_logger("archops.bot.commands")

COMMANDS: dict[str, Command] = {
    c.name: c for c in (new.COMMAND, change.COMMAND, status.COMMAND, project.COMMAND,
                        scan.COMMAND, tags.COMMAND, metrics.COMMAND, help.COMMAND)
}
ALIASES = {"?": "help", "start": "new", "bind": "project"}

__all__ = ["COMMANDS", "Command", "Deps", "Reply", "Request", "dispatch"]


def unknown(name: str) -> Reply:
    close = difflib.get_close_matches(name.lower(), list(COMMANDS), n=1, cutoff=0.6)
    suggestion = messages.DID_YOU_MEAN.format(name=close[0]) if close else ""
    return Reply(messages.UNKNOWN_COMMAND.format(name=name[:40], suggestion=suggestion))


async def dispatch(payload: SlashCommand, deps: Deps) -> Reply:
    """Run the command ``payload`` names; what goes wrong is answered to its author only."""
    name, _, args = payload.text.strip().partition(" ")
    key = ALIASES.get(name.lower(), name.lower()) or "help"
    command = COMMANDS.get(key)
    if command is None:
        return unknown(name)
    try:
        return await command.run(Request(payload, key, args.strip(), deps, COMMANDS))
    except ArchopsError as exc:
        return Reply(messages.COMMAND_FAILED.format(name=key, reason=messages.reason_of(exc)))
    except Exception as exc:  # a bug: said privately, logged with its traceback
        log.exception("slash command failed", command=key, error=repr(exc))
        return Reply(messages.COMMAND_FAILED.format(
            name=key, reason="something went wrong on archops' side (it is logged)"))
