"""A channel's project from Slack: the fields of its modal and the projects' door in core.

:data:`PROJECT_FIELDS` is the one list of what the project modal asks: each row names the input
field of :class:`core.projects.Projects` it fills (the names the CLI and the web app use too),
its label and example; how the stored project shows it comes from ``Projects.view``. A new
project field is a new row here: the modal, the "show" text and App Home follow from the list.

Creating and changing go through :class:`core.projects.Projects`, so Slack checks what the CLI
and the web app check: every field at once (an account id is 12 digits, the role ARN parses and
belongs to that account, the regions exist, the repository answers with push access) and a
change is for the project's creator and approvers. Each error is shown under the field it
concerns (``response_action: errors``). The project's id is made from its name, or kept when the
channel is bound already; a project bound to another channel is never moved silently.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import blocks as bk
from bot import messages
from core.errors import ArchopsError, Forbidden, ValidationError
from core.store.validation import check_project_id

PROJECT_CALLBACK = "archops:project"
APPROVERS_CACHE_S = 30.0


@dataclass(frozen=True)
class ProjectField:
    key: str  # the input field of core.projects (and of Projects.view)
    label: str
    example: str
    hint: str = ""
    optional: bool = True
    multiline: bool = False

    @property
    def block_id(self) -> str:
        return f"project:{self.key}"


PROJECT_FIELDS: tuple[ProjectField, ...] = (
    ProjectField("name", "Project name", "acme-shop", optional=False,
                 hint="Letters, digits, '.', '_' or '-'; the project's id is made from it"),
    ProjectField("aws_account_id", "AWS account id", "123456789012", hint="12 digits"),
    ProjectField("aws_role_arn", "IAM role archops assumes", "arn:aws:iam::123456789012:role/archops",
                 hint="Read-only for scans (scanner/policy.json lists what it needs)"),
    ProjectField("aws_regions", "AWS regions", "eu-west-1, us-east-1", hint="Comma-separated"),
    ProjectField("repository", "GitHub repository", "owner/name",
                 hint="Where this channel's designs go as pull requests; empty: the project's own "
                      "repository in archops' data folder"),
    ProjectField("path", "Path in the repository", "terraform/shop",
                 hint="The module's folder in the repository"),
    ProjectField("tag_key", "Tag key", "Project", hint="The tag that marks the project's resources"),
    ProjectField("tag_value", "Tag value", "acme-shop"),
    ProjectField("approvers", "Approvers", "U0123ABCD, U0456EFGH",
                 hint="Slack user ids who may answer, approve and change the project"),
)


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def project_id_of(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.strip().lower()).strip("-._")[:100]
    return check_project_id(slug or "-")


def project_modal(channel: str, current: dict[str, Any] | None) -> dict[str, Any]:
    """The modal binding ``channel`` to a project (filled with the current one's ``view``)."""
    blocks: list[dict[str, Any]] = [bk.section(
        f"Bind <#{channel}> to a project: the designs, scans and tags asked for in this channel "
        "belong to it.")]
    for field in PROJECT_FIELDS:
        blocks.append(bk.text_input(
            field.block_id, field.label, "value",
            initial=_shown((current or {}).get(field.key)) or None, placeholder=field.example,
            optional=field.optional, hint=field.hint or None, multiline=field.multiline,
            max_length=2000))
    return bk.modal(PROJECT_CALLBACK, "Project", blocks, submit="Save",
                    private_metadata=channel)


def shown_value(field: ProjectField, view: dict[str, Any]) -> str:
    """A field's value as Slack shows it: in code, so that ``arn:aws:iam::...`` is no emoji."""
    shown = _shown(view.get(field.key))
    return f"`{shown.replace('`', '')}`" if shown else "_not set_"


def describe(view: dict[str, Any]) -> str:
    lines = [f"*{view['name']}* (`{view['id']}`), bound to <#{view['slack_channel']}>"]
    for field in PROJECT_FIELDS[1:]:
        lines.append(f"• {field.label}: {shown_value(field, view)}")
    return "\n".join(lines)


def _reason(exc: ArchopsError) -> str:
    return f"{exc.message} ({exc.hint})" if exc.hint else exc.message


def modal_errors(errors: dict[str, str]) -> dict[str, str]:
    """core.projects' errors by input field -> the modal's, by block id."""
    out: dict[str, str] = {}
    name = PROJECT_FIELDS[0].block_id
    known = {f.key for f in PROJECT_FIELDS}
    for field, why in errors.items():
        block = f"project:{field}" if field in known else name
        out[block] = f"{out[block]}; {why}" if block in out else why
    return {block: text[:2000] for block, text in out.items()}


def typed(values: dict[str, str]) -> dict[str, str]:
    """The modal's non-empty answers by input field (empty: left as it is)."""
    return {f.key: values[f.block_id].strip() for f in PROJECT_FIELDS
            if (values.get(f.block_id) or "").strip()}


class Projects:
    """The channel's project through the projects' door (opened on first use)."""

    def __init__(self, open_projects: Callable[[], Any]) -> None:
        self._open = open_projects
        self._projects: Any = None
        self._approvers: dict[str, tuple[float, frozenset[str]]] = {}

    async def door(self) -> Any:
        """The :class:`core.projects.Projects` (its store opened on first use)."""
        if self._projects is None:
            self._projects = await self._open()
        return self._projects

    async def close(self) -> None:
        if self._projects is not None:
            await self._projects.store.close()
            self._projects = None

    async def of_channel(self, channel: str) -> Any | None:
        door = await self.door()
        return await door.store.find_project_by_channel(channel)

    async def view_of_channel(self, channel: str) -> dict[str, Any] | None:
        project = await self.of_channel(channel)
        return None if project is None else (await self.door()).view(project)

    async def approvers(self, channel: str) -> frozenset[str]:
        """The approvers of the channel's project (cached for a while: asked on every click)."""
        now = time.monotonic()
        cached = self._approvers.get(channel)
        if cached is None or now - cached[0] > APPROVERS_CACHE_S:
            project = await self.of_channel(channel)
            cached = (now, frozenset(project.approvers or []) if project is not None else frozenset())
            self._approvers[channel] = cached
        return cached[1]

    async def bind(self, channel: str, values: dict[str, str], actor: str
                   ) -> tuple[Any | None, dict[str, str]]:
        """Create the channel's project from the modal's values, or change the one it has;
        (project, {}) or (None, errors by block id)."""
        door = await self.door()
        fields = typed(values)
        current = await door.store.find_project_by_channel(channel)
        name_block = PROJECT_FIELDS[0].block_id
        try:
            if current is not None:
                project = await door.update(current.id, fields, actor)
            else:
                if "name" not in fields:
                    return None, {name_block: "Project name is required"}
                try:
                    project_id = project_id_of(fields["name"])
                except ValidationError as exc:
                    return None, {name_block: _reason(exc)}
                other = await door.store.find_project(project_id)
                if other is not None and other.slack_channel and other.slack_channel != channel:
                    return None, {name_block: messages.PROJECT_ELSEWHERE.format(
                        id=project_id, channel=other.slack_channel)}
                if other is not None:  # a project of no channel yet, by that name: bind it
                    project = await door.update(project_id, {**fields, "slack_channel": channel},
                                                actor)
                else:
                    project = await door.create(project_id, {**fields, "slack_channel": channel},
                                                actor)
        except Forbidden as exc:
            return None, {name_block: _reason(exc)}
        except ValidationError as exc:
            errors = getattr(exc, "errors", None)
            return None, modal_errors(errors) if isinstance(errors, dict) else {name_block: _reason(exc)}
        self._approvers.pop(channel, None)
        return project, {}
