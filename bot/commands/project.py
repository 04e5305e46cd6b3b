"""`/archops project [bind]`: this channel's project, shown, or bound with a modal."""

from __future__ import annotations

from bot import blocks as bk
from bot import messages
from bot.commands.base import Command, Reply, Request
from bot.projects import describe, project_modal

BIND_WORDS = {"bind", "edit", "set", "create", "new"}
NO_STORE = "Projects need the system of record, which this bot process was started without."


async def open_modal(request: Request) -> Reply:
    deps = request.deps
    decision = await deps.access.may_manage(request.user, request.team, request.channel)
    if not decision.allowed:
        return Reply(messages.ONLY_APPROVERS.format(who=decision.who, what="bind this channel's project"))
    if deps.projects is None:
        return Reply(NO_STORE)
    current = await deps.projects.view_of_channel(request.channel)
    deps.ingress.later(deps.client.views_open(trigger_id=request.trigger,
                                              view=project_modal(request.channel, current)))
    return Reply("Opening the project form…")


async def run(request: Request) -> Reply:
    if request.args.lower() in BIND_WORDS:
        return await open_modal(request)
    if request.args and request.args.lower() != "show":
        return Reply("Use `/archops project` to see this channel's project, "
                     "`/archops project bind` to bind or edit it.")
    if request.deps.projects is None:
        return Reply(NO_STORE)
    current = await request.deps.projects.view_of_channel(request.channel)
    label = "Edit project" if current is not None else "Bind a project"
    button = bk.actions([bk.button(label, bk.PROJECT_EDIT, value=request.channel)])
    text = describe(current) if current is not None else messages.NO_PROJECT
    return Reply(text, [bk.section(text), button])


COMMAND = Command("project", "project [bind]",
                  "show this channel's project, or bind it (name, AWS account, role, regions, "
                  "repository and path, tag, approvers) with a form", run)
