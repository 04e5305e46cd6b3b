"""A project's account on the web: its last scan and its tag plans (dry run, approve, apply).

    GET  /p/{project}                                   the page: last scan, tag plans, the form
    GET  /p/{project}/scans/{scan}/diagram              the scan's diagram page (Graphviz in WebAssembly)
    GET  /api/projects/{project}/scan                   the last scan (counts, not read, findings)
    GET  /api/projects/{project}/scans/{scan}/diagram   DOT and node details
    GET  /api/projects/{project}/tag-plans              the plans, newest first
    POST /api/projects/{project}/tag-plans              propose one from the last scan
    POST /api/projects/{project}/tag-plans/{plan}/dry-run | approve | apply

Everything goes through the access model (:mod:`web.auth`): a signed-in principal (a session,
the CLI token), never a link; then :mod:`scanner.service` decides what that principal may do on
the project (its members: viewers look, dry-run and plan; approvers also approve and apply; the
installation's owner does all). Writes are same-origin JSON like every write of the app. The
web edge reaches the system of record here only: :func:`install` opens the store when the app
starts.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from core.errors import Conflict, Forbidden, NotFound, ValidationError
from web.auth import PRINCIPAL, RequestTooLarge, read_json, refuse
from web.pages import ASSETS, PAGE_CACHE, STATIC
from web.scan_diagram import scan_view

PROJECT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)
RECORD_RE = re.compile(r"(scan|tagplan)-[0-9a-f]{16}", re.ASCII)
PAGES = ("scan.html", "scan-diagram.html")
ACTIONS = ("dry-run", "approve", "apply")
PLAN_FIELDS = {"key", "value", "vpcs", "name_pattern", "select", "scan_id"}


class ScanWeb:
    """What the handlers share: the store (opened at startup), the data folder, AWS options."""

    def __init__(self, database_url: str, data_dir: Path, aws: dict[str, Any] | None = None) -> None:
        self.database_url, self.data_dir, self.aws = database_url, data_dir, dict(aws or {})
        self.store: Any = None


SCANS = web.AppKey("scans", ScanWeb)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _mapped(handler: Handler) -> Handler:
    """Archops' errors as HTTP answers with their reason (a state conflict is a 409)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            project = request.match_info.get("project_id", "")
            if not PROJECT_RE.fullmatch(project):
                raise ValidationError("a project id is 1-100 letters, digits, '.', '_' or '-'")
            for name in ("scan_id", "plan_id"):
                if name in request.match_info and not RECORD_RE.fullmatch(request.match_info[name]):
                    raise NotFound(f"no such {name.removesuffix('_id').replace('plan', 'tag plan')}")
            return await handler(request)
        except Conflict as exc:
            return refuse(409, "conflict", exc.message, exc.hint)
        except RequestTooLarge as exc:
            return refuse(413, "too_large", exc.message)
        except ValidationError as exc:
            return refuse(400, "invalid_request", exc.message, exc.hint)
        except Forbidden as exc:
            return refuse(403, "forbidden", exc.message, exc.hint)
        except NotFound as exc:
            return refuse(404, "not_found", exc.message, exc.hint)

    return wrapped


def _principal(request: web.Request) -> str:
    principal = request[PRINCIPAL]
    if not principal.can_write or principal.capability is not None:  # the middleware refuses links
        raise Forbidden("a link does not open a project")
    return principal.id


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def scan_json(scan: Any) -> dict[str, Any]:
    by_pillar: dict[str, list[dict[str, Any]]] = {}
    for f in scan.findings:
        by_pillar.setdefault(f.get("pillar") or "other", []).append(f)
    return {
        "id": scan.id, "project_id": scan.project_id, "status": scan.status, "regions": scan.regions,
        "requested_by": scan.requested_by, "source": scan.source, "created_at": _iso(scan.created_at),
        "finished_at": _iso(scan.finished_at), "attempts": scan.attempts, "resources": scan.resources,
        "adopted": scan.adopted, "counts": scan.counts, "missing": scan.missing, "findings": by_pillar,
        "review": scan.review, "api_calls": sum(scan.api_calls.values()), "throttled": scan.throttled,
        "seconds": scan.seconds, "error": scan.error,
        "diagram_url": f"/p/{scan.project_id}/scans/{scan.id}/diagram",
    }


def plan_json(plan: Any, applications: list[Any] | None = None) -> dict[str, Any]:
    from scanner.service import next_steps

    return {
        "id": plan.id, "project_id": plan.project_id, "scan_id": plan.scan_id, "key": plan.key,
        "value": plan.value, "rule": plan.rule, "status": plan.status, "already": plan.already,
        "changes": plan.changes, "created_by": plan.created_by, "created_at": _iso(plan.created_at),
        "dry_run_by": plan.dry_run_by, "dry_run_at": _iso(plan.dry_run_at), "dry_run": plan.dry_run,
        "approved_by": plan.approved_by, "approved_via": plan.approved_via,
        "approved_at": _iso(plan.approved_at), "next": next_steps(plan),
        "applications": [{
            "id": a.id, "status": a.status, "applied_by": a.applied_by, "source": a.source,
            "approved_by": a.approved_by, "created_at": _iso(a.created_at), "finished_at": _iso(a.finished_at),
            "calls": a.calls, "outcomes": a.outcomes} for a in applications or []],
    }


# -- pages ------------------------------------------------------------------------------------
def _page(request: web.Request, name: str) -> web.Response:
    text = (STATIC / name).read_text().replace("{{static}}", request.app[ASSETS].prefix)
    return web.Response(text=text, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": PAGE_CACHE})


@_mapped
async def project_page(request: web.Request) -> web.StreamResponse:
    from scanner.service import authorize

    await authorize(request.app[SCANS].store, request.match_info["project_id"], _principal(request), "read")
    return _page(request, "scan.html")


@_mapped
async def diagram_page(request: web.Request) -> web.StreamResponse:
    await _scan_of(request)
    return _page(request, "scan-diagram.html")


# -- the API ----------------------------------------------------------------------------------
async def _scan_of(request: web.Request) -> Any:
    from scanner.service import authorize, get_scan

    store, principal = request.app[SCANS].store, _principal(request)
    await authorize(store, request.match_info["project_id"], principal, "read")  # the URL's project first
    scan = await get_scan(store, request.match_info["scan_id"], principal=principal)
    if scan.project_id != request.match_info["project_id"]:
        raise NotFound("no such scan in this project")
    return scan


@_mapped
async def last_scan(request: web.Request) -> web.StreamResponse:
    from scanner.service import last_scan as last

    project = request.match_info["project_id"]
    scan = await last(request.app[SCANS].store, project, principal=_principal(request))
    if scan is None:
        raise NotFound(f"project {project} has not been scanned yet", hint="`archops scan --project` or /archops scan")
    from core.store.scans import ScanStore

    diagram = await ScanStore(request.app[SCANS].store).scan_diagram(scan.id) or {}
    vpcs = [{"id": g["id"].removeprefix("vpc:"), "label": g.get("label")}
            for g in diagram.get("groups") or [] if g.get("kind") == "vpc"]
    return web.json_response({**scan_json(scan), "vpcs": vpcs})


@_mapped
async def scan_diagram(request: web.Request) -> web.StreamResponse:
    from core.store.scans import ScanStore

    scan = await _scan_of(request)
    diagram = await ScanStore(request.app[SCANS].store).scan_diagram(scan.id)
    if diagram is None:
        raise NotFound(f"scan {scan.id} has no diagram ({scan.status})")
    return web.json_response({"scan": scan_json(scan), **scan_view(diagram)})


@_mapped
async def list_plans(request: web.Request) -> web.StreamResponse:
    from core.store.scans import ScanStore
    from scanner.service import authorize

    store, project = request.app[SCANS].store, request.match_info["project_id"]
    await authorize(store, project, _principal(request), "read")
    records = ScanStore(store)
    plans = await records.list_tag_plans(project)
    return web.json_response({"plans": [plan_json(p, await records.applications(p.id)) for p in plans]})


def _strings(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 2048 for v in value) \
            or len(value) > 5000:
        raise ValidationError(f"{name} must be a list of ids (at most 5,000)")
    return value or None


@_mapped
async def create_plan(request: web.Request) -> web.StreamResponse:
    from scanner.service import plan_project_tags

    body = await read_json(request)
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    if set(body) - PLAN_FIELDS:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(set(body) - PLAN_FIELDS))}")
    for name in ("key", "value", "name_pattern", "scan_id"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise ValidationError(f"{name} must be text")
    if not (body.get("vpcs") or body.get("name_pattern") or body.get("select")):
        raise ValidationError("say what to tag: vpcs, name_pattern or select")
    scans = request.app[SCANS]
    plan = await plan_project_tags(
        scans.store, request.match_info["project_id"], principal=_principal(request), source="web",
        key=body.get("key") or None, value=body.get("value") or None, vpcs=_strings(body, "vpcs"),
        name_pattern=body.get("name_pattern") or None, select=_strings(body, "select"),
        scan_id=body.get("scan_id") or None)
    return web.json_response(plan_json(plan), status=201)


@_mapped
async def plan_action(request: web.Request) -> web.StreamResponse:
    from scanner.service import (
        apply_project_tags,
        approve_tags,
        authorize,
        dry_run_tags,
        get_tag_plan,
        tag_applications,
    )

    scans, principal = request.app[SCANS], _principal(request)
    await authorize(scans.store, request.match_info["project_id"], principal, "read")
    action, plan_id = request.match_info["action"], request.match_info["plan_id"]
    if action not in ACTIONS:
        raise NotFound(f"no action {action!r} (one of {', '.join(ACTIONS)})")
    body = await read_json(request)
    if body not in ({}, None):
        raise ValidationError("the body must be {}")
    plan = await get_tag_plan(scans.store, plan_id, principal=principal)
    if plan.project_id != request.match_info["project_id"]:
        raise NotFound("no such tag plan in this project")
    if action == "dry-run":
        plan = await dry_run_tags(scans.store, plan_id, principal=principal, source="web")
    elif action == "approve":
        plan = await approve_tags(scans.store, plan_id, principal=principal, source="web")
    else:
        await apply_project_tags(scans.store, plan_id, principal=principal, source="web", **scans.aws)
        plan = await get_tag_plan(scans.store, plan_id, principal=principal)
    return web.json_response(plan_json(plan, await tag_applications(scans.store, plan_id, principal=principal)))


def install(app: web.Application, *, database_url: str, data_dir: Path,
            aws: dict[str, Any] | None = None) -> None:
    """Add the project pages and API to ``app`` (after :func:`web.app.create_app`); the store is
    opened when the app starts and closed when it stops."""
    app[SCANS] = ScanWeb(database_url, data_dir, aws)
    app.router.add_get("/p/{project_id}", project_page)
    app.router.add_get("/p/{project_id}/scans/{scan_id}/diagram", diagram_page)
    app.router.add_get("/api/projects/{project_id}/scan", last_scan)
    app.router.add_get("/api/projects/{project_id}/scans/{scan_id}/diagram", scan_diagram)
    app.router.add_get("/api/projects/{project_id}/tag-plans", list_plans)
    app.router.add_post("/api/projects/{project_id}/tag-plans", create_plan)
    app.router.add_post("/api/projects/{project_id}/tag-plans/{plan_id}/{action}", plan_action)

    async def store_lifecycle(_app: web.Application):  # type: ignore[no-untyped-def]
        from core.store.store import Store

        app[SCANS].store = await Store.open(database_url)
        yield
        await app[SCANS].store.close()

    app.cleanup_ctx.append(store_lifecycle)
