"""`/archops help`: what each command does, from the command map itself."""

from __future__ import annotations

from bot.commands.base import Command, Reply, Request

INTRO = ("*archops* designs AWS infrastructure from plain words and opens a reviewed Terraform "
         "pull request. Mention me (`@archops ...`) or write to me directly; reply in my thread "
         "to go on. I never destroy resources, work only on AWS, and never accept secrets.")


async def run(request: Request) -> Reply:
    lines = [INTRO, ""]
    for command in request.commands.values():
        lines.append(f"• `/archops {command.usage}`: {command.summary}")
    return Reply("\n".join(lines))


COMMAND = Command("help", "help", "this list", run)
