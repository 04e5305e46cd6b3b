"""A channel's project from Slack: the fields of its modal, their checks, the system of record.

:data:`PROJECT_FIELDS` is the one list of what the project modal asks: each row names the
:meth:`Store.upsert_project` argument it fills, its label and example, how the typed text becomes
the stored value and back. A new project field is a new row here (the modal, its validation, the
"show" text and the store call all follow from the list).

Each field is checked on its own with :func:`core.store.validation.check_project_fields` so that
an error is shown under the field it concerns (``response_action: errors``); checks across
fields (a role ARN in another account than the one given) are shown under
:data:`CROSS_FIELD_ERRORS_ON`. The project's id is made from its name, or kept when the channel
is bound already; a project bound to another channel is never moved silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import blocks as bk
from bot import messages
from core.errors import ArchopsError, NotFound, ValidationError
from core.store.validation import check_project_fields, check_project_id

PROJECT_CALLBACK = "archops:project"


def _text(value: str) -> str | None:
    return value.strip() or None


def _regions(value: str) -> list[str] | None:
    found = [part.strip() for part in re.split(r"[,\s]+", value) if part.strip()]
    return found or None


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ProjectField:
    key: str  # the Store.upsert_project argument (and check_project_fields' key)
    label: str
    example: str
    hint: str = ""
    optional: bool = True
    parse: Callable[[str], Any] = _text  # typed text -> the stored value (None: unchanged)
    show: Callable[[Any], str] = _show  # the stored value -> the text shown
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
    ProjectField("aws_regions", "AWS regions", "eu-west-1, us-east-1", parse=_regions,
                 hint="Comma-separated"),
    ProjectField("github_repo", "GitHub repository", "owner/name",
                 hint="Where the pull requests of this channel's designs go"),
)
CROSS_FIELD_ERRORS_ON = "aws_role_arn"


def project_id_of(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.strip().lower()).strip("-._")[:100]
    return check_project_id(slug or "-")


def project_modal(channel: str, current: Any | None) -> dict[str, Any]:
    """The modal binding ``channel`` to a project (filled with the current one's values)."""
    blocks: list[dict[str, Any]] = [bk.section(
        f"Bind <#{channel}> to a project: the designs, scans and tags asked for in this channel "
        "belong to it.")]
    for field in PROJECT_FIELDS:
        value = getattr(current, field.key, None) if current is not None else None
        blocks.append(bk.text_input(
            field.block_id, field.label, "value", initial=field.show(value) or None,
            placeholder=field.example, optional=field.optional, hint=field.hint or None,
            multiline=field.multiline, max_length=2000))
    return bk.modal(PROJECT_CALLBACK, "Project", blocks, submit="Save",
                    private_metadata=channel)


def describe(project: Any) -> str:
    lines = [f"*{project.name}* (`{project.id}`), bound to <#{project.slack_channel}>"]
    for field in PROJECT_FIELDS[1:]:
        lines.append(f"• {field.label}: {shown_value(field, project)}")
    return "\n".join(lines)


def shown_value(field: ProjectField, project: Any) -> str:
    """A field's value as Slack shows it: in code, so that ``arn:aws:iam::...`` is no emoji."""
    shown = field.show(getattr(project, field.key, None))
    return f"`{shown.replace('`', '')}`" if shown else "_not set_"


def _reason(exc: ArchopsError) -> str:
    return f"{exc.message} ({exc.hint})" if exc.hint else exc.message


def check(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the fields to store, errors by block id) from the modal's typed values."""
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in PROJECT_FIELDS:
        try:
            value = field.parse(values.get(field.block_id) or "")
            if value is None:
                if not field.optional:
                    errors[field.block_id] = f"{field.label} is required"
                continue
            fields.update(check_project_fields({field.key: value}))
        except ValidationError as exc:
            errors[field.block_id] = _reason(exc)
    if not errors:
        try:
            fields = check_project_fields(dict(fields))
        except ValidationError as exc:
            where = next((f.block_id for f in PROJECT_FIELDS if f.key == CROSS_FIELD_ERRORS_ON
                          and f.key in fields), PROJECT_FIELDS[0].block_id)
            errors[where] = _reason(exc)
    if "name" in fields and not errors:
        try:
            project_id_of(fields["name"])
        except ValidationError as exc:
            errors[PROJECT_FIELDS[0].block_id] = _reason(exc)
    return fields, errors


class Projects:
    """The channel's project in the system of record (opened on first use)."""

    def __init__(self, open_store: Callable[[], Any]) -> None:
        self._open_store = open_store
        self._store: Any = None

    async def store(self) -> Any:
        if self._store is None:
            self._store = await self._open_store()
        return self._store

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None

    async def of_channel(self, channel: str) -> Any | None:
        store = await self.store()
        return await store.find_project_by_channel(channel)

    async def bind(self, channel: str, values: dict[str, str]) -> tuple[Any | None, dict[str, str]]:
        """Store the modal's values as the channel's project; (project, {}) or (None, errors)."""
        fields, errors = check(values)
        if errors:
            return None, errors
        store = await self.store()
        current = await store.find_project_by_channel(channel)
        project_id = current.id if current is not None else project_id_of(fields["name"])
        if current is None:
            try:
                other = await store.get_project(project_id)
            except NotFound:
                other = None
            if other is not None and other.slack_channel and other.slack_channel != channel:
                return None, {PROJECT_FIELDS[0].block_id: messages.PROJECT_ELSEWHERE.format(
                    id=project_id, channel=other.slack_channel)}
        try:
            project = await store.upsert_project(project_id, slack_channel=channel, **fields)
        except ValidationError as exc:
            return None, {PROJECT_FIELDS[0].block_id: _reason(exc)}
        return project, {}
