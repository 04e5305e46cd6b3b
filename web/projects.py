"""Projects in the web app: the API and a page to create and change them, and local pull requests.

    GET   /api/projects                 every project
    POST  /api/projects                 {"id", "name", "aws_account_id", ...} -> 201 | 400 with
                                        "fields": {field: why} for each wrong field
    GET   /api/projects/{id}            one project (with its pull requests)
    PATCH /api/projects/{id}            change the fields given (its creator, approvers, the owner)
    GET   /projects, /projects/{id}     the page (create / change form); also /settings/github
    GET   /projects/{id}/pulls/{n}      a pull request of a project's local repository

Only signed-in principals reach them (the access middleware of :mod:`web.auth`: a session or the
CLI token; a link's capability opens its conversation only). Writes are same-origin JSON.
"""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from core.codehost.local import LocalHost
from core.errors import Forbidden, NotFound, ServiceUnavailable, ValidationError
from core.projects import INPUT_FIELDS, ProjectInvalid, Projects
from web.auth import PRINCIPAL, RequestTooLarge, read_json, refuse

PROJECTS = web.AppKey("projects", Projects)


def _projects(request: web.Request) -> Projects:
    projects = request.app.get(PROJECTS)
    if projects is None:
        raise ServiceUnavailable("projects need the system of record, which this web instance "
                                 "was started without", hint="run it with `archops web` or `up`")
    return projects


def invalid(exc: ProjectInvalid) -> web.Response:
    return web.json_response({"error": {"code": "invalid_project", "message": exc.message,
                                        "hint": exc.hint, "fields": exc.errors}}, status=400)


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await read_json(request)
    except RequestTooLarge as exc:
        return refuse(413, "too_large", exc.message)
    except ValidationError as exc:
        return refuse(400, "bad_json", exc.message)
    if not isinstance(body, dict):
        return refuse(400, "invalid_request", "the body must be a JSON object of project fields",
                      hint=f"fields: id, {', '.join(INPUT_FIELDS)}")
    return body


def _writer(request: web.Request) -> str:
    principal = request[PRINCIPAL]
    if not principal.can_write:
        raise Forbidden("a link grants reading one conversation only")
    return principal.id


async def list_projects(request: web.Request) -> web.Response:
    projects = _projects(request)
    return web.json_response({"projects": [projects.view(p) for p in await projects.list()]})


async def create_project(request: web.Request) -> web.Response:
    projects = _projects(request)
    actor = _writer(request)
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    project_id = body.pop("id", None)
    if not isinstance(project_id, str):
        return invalid(ProjectInvalid({"id": "a project needs an id (letters, digits, '.', '_' "
                                             "or '-')"}))
    try:
        project = await projects.create(project_id, body, actor)
    except ProjectInvalid as exc:
        return invalid(exc)
    return web.json_response(projects.view(project), status=201,
                             headers={"Location": f"/api/projects/{project.id}"})


async def get_project(request: web.Request) -> web.Response:
    projects = _projects(request)
    project = await projects.get(request.match_info["project_id"])
    view = projects.view(project)
    view["may_change"] = projects.may_change(project, request[PRINCIPAL].id)
    view["pull_requests"] = [
        {"conversation_id": pr.conversation_id, "number": pr.number, "url": pr.url,
         "branch": pr.branch, "version": pr.design_version, "monthly_usd": pr.monthly_usd,
         "updated_at": pr.updated_at.isoformat()}
        for pr in await projects.store.list_pull_requests(project.id)]
    return web.json_response(view)


async def change_project(request: web.Request) -> web.Response:
    projects = _projects(request)
    actor = _writer(request)
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    if "id" in body and body.pop("id") != request.match_info["project_id"]:
        return invalid(ProjectInvalid({"id": "a project's id cannot change"}))
    try:
        project = await projects.update(request.match_info["project_id"], body, actor)
    except ProjectInvalid as exc:
        return invalid(exc)
    return web.json_response(projects.view(project))


async def page(request: web.Request) -> web.StreamResponse:
    from web.pages import ASSETS

    return request.app[ASSETS].page("projects")


async def local_pull(request: web.Request) -> web.Response:
    """A pull request of a project's local repository, as a page (its body is Markdown text)."""
    projects = _projects(request)
    project = await projects.get(request.match_info["project_id"])
    number = request.match_info["number"]
    if project.github_repo or not number.isdigit() or len(number) > 9:
        raise NotFound(f"project {project.id} keeps its pull requests on GitHub"
                       if project.github_repo else "no such pull request")
    host = LocalHost(projects.hosts.local_path(project.id), project.id)
    pull = host.pull(int(number))
    if pull is None:
        raise NotFound(f"no pull request #{number} in project {project.id}")
    head = host.head(pull.head)
    from web.pages import ASSETS

    esc = html.escape
    labels = "".join(f'<span class="badge-muted">{esc(label)}</span> ' for label in pull.labels)
    text = (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>#{pull.number} '
        f"{esc(pull.title)}</title>"
        f'<link rel="stylesheet" href="{request.app[ASSETS].prefix}/app.css">'
        f'<body><header class="top"><a class="brand" href="/">archops</a>'
        f'<a href="/projects/{esc(project.id)}">project {esc(project.id)}</a></header>'
        f'<main class="chat"><h1>#{pull.number} {esc(pull.title)}</h1>'
        f"<p>{labels}<code>{esc(pull.head)}</code> into <code>{esc(pull.base)}</code>, "
        f"{esc(pull.state)}{', head ' + esc(head.sha[:12]) if head else ''}</p>"
        f"<p>Review it with git: <code>git clone --branch {esc(pull.head)} "
        f"{esc(host.clone_url)}</code></p>"
        f'<pre class="card pull-body">{esc(pull.body)}</pre></main></body></html>')
    return web.Response(text=text, content_type="text/html")


def add_routes(app: web.Application, projects: Projects | None) -> None:
    if projects is not None:
        app[PROJECTS] = projects
    app.router.add_get("/api/projects", list_projects)
    app.router.add_post("/api/projects", create_project)
    app.router.add_get("/api/projects/{project_id}", get_project)
    app.router.add_patch("/api/projects/{project_id}", change_project)
    app.router.add_get("/projects", page)
    app.router.add_get("/projects/{project_id}", page)
    app.router.add_get("/settings/github", page)
    app.router.add_get("/projects/{project_id}/pulls/{number}", local_pull)
