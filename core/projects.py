"""Projects as people create and change them, from Slack, the CLI and the web app alike.

    projects = Projects(store, hosts)
    project = await projects.create("shop", {"name": "Shop", "aws_account_id": "123456789012",
                                             "repository": "acme/infra"}, actor="local")
    await projects.update("shop", {"aws_regions": ["eu-west-1"]}, actor="slack:T1:U1")
    projects.view(project)        # the JSON the web app and the CLI show

Input fields (every edge uses these names): ``name``, ``slack_channel``, ``aws_account_id``,
``aws_role_arn``, ``aws_regions`` (a list, or comma-separated), ``repository`` (``owner/name``
on GitHub; empty: the project's own bare repository in the data folder), ``path`` (the module's
folder in the repository), ``tag_key`` and ``tag_value`` (together), ``approvers`` (Slack user
ids, a list or comma-separated).

Everything wrong is reported at once, field by field (:class:`ProjectInvalid` ``.errors``: the
input field -> why), and nothing is saved: an account id is 12 digits; the role ARN parses and
belongs to that account; every region is one botocore's endpoint data knows, in the role's
partition; the repository is ``owner/name`` and answers through the code-host port with push
access for the credentials archops would use. Changing a project is for the installation's
owner, its creator and its approvers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.codehost.errors import CodeHostError
from core.codehost.hosts import DEFAULT_PROJECT, Hosts
from core.errors import Forbidden, ValidationError
from core.store.validation import check_project_id, project_errors

INPUT_FIELDS = ("name", "slack_channel", "aws_account_id", "aws_role_arn", "aws_regions",
                "repository", "path", "tag_key", "tag_value", "approvers")
# the store's field -> the input field that sets it (for errors)
_INPUT_OF = {"github_repo": "repository", "repo_path": "path", "tag_policy": "tag_key"}
OWNER = "local"


class ProjectInvalid(ValidationError):
    """Some fields are wrong; ``errors`` maps each input field to why (nothing was saved)."""

    def __init__(self, errors: dict[str, str]) -> None:
        order = {name: i for i, name in enumerate(("id", *INPUT_FIELDS))}
        errors = dict(sorted(errors.items(), key=lambda item: order.get(item[0], len(order))))
        self.errors = errors
        listed = "; ".join(f"{field}: {reason}" for field, reason in errors.items())
        super().__init__(f"the project was not saved: {listed}",
                         hint="fix the fields named and try again")


def _list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
    return value


def _store_fields(given: dict[str, Any], current: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Input fields -> the store's, and the errors of what cannot even be mapped."""
    errors: dict[str, str] = {}
    unknown = sorted(set(given) - set(INPUT_FIELDS))
    for name in unknown:
        errors[name] = f"unknown field (the fields are: {', '.join(INPUT_FIELDS)})"
    out: dict[str, Any] = {}
    for source, target in (("name", "name"), ("slack_channel", "slack_channel"),
                           ("aws_account_id", "aws_account_id"), ("aws_role_arn", "aws_role_arn"),
                           ("repository", "github_repo"), ("path", "repo_path")):
        value = given.get(source)
        if value is not None:
            out[target] = value.strip() if isinstance(value, str) else value
    if given.get("aws_regions") is not None:
        out["aws_regions"] = _list(given["aws_regions"])
    if given.get("approvers") is not None:
        out["approvers"] = _list(given["approvers"])
    key, value = given.get("tag_key"), given.get("tag_value")
    if key is not None or value is not None:
        old = dict(getattr(current, "tag_policy", None) or {})
        key = key if key is not None else old.get("key")
        if key is None:
            errors["tag_key"] = "a tag value needs its tag key"
        else:
            out["tag_policy"] = {**old, "key": key,
                                 "value": value if value is not None else old.get("value", "")}
    return out, errors


class Projects:
    def __init__(self, store: Any, hosts: Hosts) -> None:
        self.store = store
        self.hosts = hosts
        self._default = asyncio.Lock()  # concurrent first designs create the default once

    # -- reading -------------------------------------------------------------------------------
    async def get(self, project_id: str) -> Any:
        return await self.store.get_project(project_id)

    async def list(self) -> list[Any]:
        return list(await self.store.list_projects())

    def view(self, project: Any) -> dict[str, Any]:
        tag = project.tag
        local = not project.github_repo
        return {
            "id": project.id, "name": project.name, "slack_channel": project.slack_channel,
            "aws_account_id": project.aws_account_id, "aws_role_arn": project.aws_role_arn,
            "aws_regions": list(project.aws_regions or []),
            "repository": project.github_repo or "", "path": project.repo_path,
            "tag_key": tag[0] if tag else None, "tag_value": tag[1] if tag else None,
            "approvers": list(project.approvers or []),
            "code_host": "local" if local else "github",
            "clone_url": str(self.hosts.local_path(project.id)) if local else
            f"{self.hosts.github_web}/{project.github_repo}.git",
            "created_by": project.created_by,
            "created_at": project.created_at.isoformat() if project.created_at else None,
            "updated_at": project.updated_at.isoformat() if project.updated_at else None,
        }

    def may_change(self, project: Any, actor: str) -> bool:
        """The installation's owner, the project's creator and its approvers (a Slack principal
        ``slack:<team>:<user>`` whose user id is one of them)."""
        if actor in (OWNER, project.created_by):
            return True
        user = actor.rsplit(":", 1)[-1] if actor.startswith("slack:") else None
        return user is not None and user in (project.approvers or [])

    # -- writing -------------------------------------------------------------------------------
    async def create(self, project_id: str, fields: dict[str, Any], actor: str) -> Any:
        try:
            check_project_id(project_id)
        except ValidationError as exc:
            raise ProjectInvalid({"id": exc.message + (f" ({exc.hint})" if exc.hint else "")}
                                 ) from exc
        if await self.store.find_project(project_id) is not None:
            raise ProjectInvalid({"id": f"a project {project_id!r} exists already (change it "
                                        "instead)"})
        return await self._save(project_id, fields, actor, None)

    async def update(self, project_id: str, fields: dict[str, Any], actor: str) -> Any:
        current = await self.store.get_project(project_id)
        if not self.may_change(current, actor):
            raise Forbidden(f"only the project's creator and approvers may change {project_id!r}",
                            hint="ask one of them, or the installation's owner")
        return await self._save(project_id, fields, actor, current)

    async def _save(self, project_id: str, given: dict[str, Any], actor: str,
                    current: Any) -> Any:
        fields, errors = _store_fields(given, current)
        for name, reason in project_errors(fields, current).items():
            errors.setdefault(_INPUT_OF.get(name, name), reason)
        channel = fields.get("slack_channel")
        if channel and "slack_channel" not in errors:
            bound = await self.store.find_project_by_channel(channel)
            if bound is not None and bound.id != project_id:
                errors["slack_channel"] = (f"Slack channel {channel} is bound to project "
                                           f"{bound.id!r} already")
        repo = fields.get("github_repo")
        if repo and "repository" not in errors:
            refused = await self._repository_error(repo, actor)
            if refused:
                errors["repository"] = refused
        if errors:
            raise ProjectInvalid(errors)
        project = await self.store.upsert_project(project_id, created_by=actor, **fields)
        if not project.github_repo:
            await asyncio.to_thread(self.hosts.local, project.id, create=True)
        return project

    async def _repository_error(self, repo: str, actor: str) -> str | None:
        """Why archops could not deliver to ``repo`` with the credentials it would use, if so."""
        try:
            credentials = await self.hosts.credentials(actor)
            host = self.hosts.github(repo, credentials)
            found = await asyncio.to_thread(host.repository)
        except CodeHostError as exc:
            return exc.message + (f" ({exc.hint})" if exc.hint else "")
        if not found.can_push:
            return (f"{credentials.who} can read {repo} but may not push to it (archops opens "
                    "its pull requests there)")
        return None

    async def ensure_default(self) -> Any:
        """The embedded default's project: ARCHOPS_GITHUB_REPO when set, else a local bare
        repository in the data folder (created with it)."""
        existing = await self.store.find_project(DEFAULT_PROJECT)
        if existing is not None:
            return existing
        async with self._default:
            return await self._create_default()

    async def _create_default(self) -> Any:
        existing = await self.store.find_project(DEFAULT_PROJECT)
        if existing is not None:
            return existing
        repo = self.hosts.settings.github_repo
        project = await self.store.ensure_project(DEFAULT_PROJECT, name="Default project",
                                                  github_repo=repo or None, created_by=OWNER)
        if not project.github_repo:
            await asyncio.to_thread(self.hosts.local, project.id, create=True)
        return project
