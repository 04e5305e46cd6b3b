"""The metrics page of a watched project: charts per resource, the insights marked on them.

    GET  /projects/{project}/metrics                         the page (static HTML, metrics.js)
    GET  /api/projects/{project}/metrics?days=7&resource=ID  series, insights, collection cost
    POST /api/projects/{project}/insights/{insight}/act      the insight's change, as a chat
                                                             request of the project's conversation

Projects hold an AWS account and a repository: like naming a project in a chat request, only
the installation's owner (the CLI token, or a session the owner's sign-in link opened) reads or
acts on them; a link (capability) is refused by the access middleware, anyone else here.
Everything read comes from the system of record (:mod:`core.store.metrics_store`); charts are
aggregated in SQL to a few hundred points per series.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from core.changes import request_change
from core.errors import Forbidden, ServiceUnavailable, ValidationError
from core.store import Store
from core.store.metrics_store import MetricsStore
from web.auth import ACCESS, LOCAL_PRINCIPAL, PRINCIPAL, read_json


class Metrics:
    """Holds the store of the metrics routes (opened when the app starts, see :func:`install`)."""

    def __init__(self, metrics: MetricsStore | None = None) -> None:
        self.metrics = metrics

    def __call__(self) -> MetricsStore:
        if self.metrics is None:
            raise ServiceUnavailable("the metrics store is not open yet")
        return self.metrics


METRICS = web.AppKey("metrics", Metrics)
PROJECT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)
INSIGHT_RE = re.compile(r"ins_[a-f0-9]{1,60}", re.ASCII)
MAX_POINTS = 400


def _owner_only(request: web.Request) -> Any:
    principal = request[PRINCIPAL]
    if principal.id != LOCAL_PRINCIPAL or principal.capability is not None:
        raise Forbidden("a project's metrics are its owner's", hint="sign in with the link `archops up` printed")
    return principal


def _project(request: web.Request) -> str:
    project = request.match_info["project_id"]
    if not PROJECT_RE.fullmatch(project):
        raise ValidationError("project id must be letters, digits, '.', '_' or '-' (up to 100)")
    return project


async def page(request: web.Request) -> web.StreamResponse:
    from web.pages import ASSETS, PAGE_CACHE, STATIC

    _owner_only(request)
    _project(request)
    html = (STATIC / "metrics.html").read_text().replace("{{static}}", request.app[ASSETS].prefix)
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": PAGE_CACHE})


def _bucket(days: int) -> int:
    raw = days * 86400 // MAX_POINTS
    return max(300, (raw + 299) // 300 * 300)


def _insight(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in (
        "id", "detector", "severity", "status", "region", "resource_kind", "resource_id", "metric",
        "title", "recommendation", "evidence", "change_request", "monthly_usd", "window_start",
        "window_end", "request_id", "conversation_id")}


async def data(request: web.Request) -> web.Response:
    _owner_only(request)
    project_id = _project(request)
    try:
        days = int(request.query.get("days", "7"))
    except ValueError:
        raise ValidationError("days must be a whole number of days (1-30)") from None
    if not 1 <= days <= 30:
        raise ValidationError(f"days must be between 1 and 30, not {days}")
    metrics = request.app[METRICS]()
    watched = await metrics.watched(project_id)
    project = await metrics.store.get_project(project_id)
    resource = request.query.get("resource")
    until = int(time.time())
    bucket = _bucket(days)
    since = (until - days * 86400) // bucket * bucket
    series = [s for s in await metrics.series_of(project_id, resource)]
    chart = await metrics.chart([s.id for s in series], since, until, bucket)
    labels = {r["id"]: (r.get("name") or (r.get("tags") or {}).get("Name") or r["id"])
              for r in (watched.inventory or {}).get("resources", [])}
    resources: dict[str, dict[str, Any]] = {}
    for s in series:
        r = resources.setdefault(s.spec.resource_id, {
            "id": s.spec.resource_id, "kind": s.spec.resource_kind, "region": s.spec.region,
            "label": labels.get(s.spec.resource_id, s.spec.resource_id), "series": []})
        r["series"].append({"metric": s.spec.metric, "name": s.spec.name, "stat": s.spec.stat,
                            "unit": s.spec.unit, "dimensions": dict(s.spec.dimensions),
                            "points": [list(p) for p in chart[s.id]]})
    insights = [_insight(r) for r in await metrics.insights(project_id, status=("open", "acted"),
                                                            resource_id=resource)]
    now = datetime.now(UTC)
    runs = await metrics.runs(project_id, now - timedelta(days=1), limit=1)
    return web.json_response({
        "project": {"id": project_id, "name": project.name, "language": watched.language,
                    "timezone": watched.timezone, "quiet_hours": watched.quiet_hours,
                    "enabled": watched.enabled},
        "window": {"from": since, "to": until, "bucket": bucket, "days": days},
        "resources": sorted(resources.values(), key=lambda r: (r["kind"], r["label"])),
        "insights": insights,
        "cost": {"week": await metrics.cost(project_id, now - timedelta(days=7)),
                 "month": await metrics.cost(project_id, now - timedelta(days=30))},
        "problems": runs[0].problems if runs else [],
    })


async def act(request: web.Request) -> web.Response:
    from web.app import CTX

    principal = _owner_only(request)
    project_id = _project(request)
    insight_id = request.match_info["insight_id"]
    if not INSIGHT_RE.fullmatch(insight_id):
        raise ValidationError("insight id must look like ins_0123abcd")
    payload = await read_json(request)
    if payload not in ({}, None):
        raise ValidationError("the body must be an empty JSON object")
    metrics = request.app[METRICS]()
    insight = await metrics.get_insight(insight_id, project_id)
    conversation = insight.conversation_id or await metrics.project_conversation(project_id)
    await request.app[ACCESS].authorize_write(principal, conversation)
    await request.app[CTX].submitter.ensure_groups()
    result, conversation = await request_change(
        metrics, request.app[CTX].submitter, insight_id, user=principal.id, source=principal.source,
        project_id=project_id, conversation_id=conversation)
    return web.json_response({"request_id": result.request_id, "conversation_id": conversation,
                              "accepted": result.accepted, "duplicate": not result.accepted,
                              "url": f"/c/{conversation}"}, status=202)


def add_routes(app: web.Application, metrics: MetricsStore | None = None) -> Metrics:
    app[METRICS] = holder = Metrics(metrics)
    app.router.add_get("/projects/{project_id}/metrics", page)
    app.router.add_get("/api/projects/{project_id}/metrics", data)
    app.router.add_post("/api/projects/{project_id}/insights/{insight_id}/act", act)
    return holder


def install(app: web.Application, database_url: str) -> None:
    """The routes, with the store opened when the app starts and closed when it stops."""
    holder = add_routes(app)

    async def lifecycle(_app: web.Application):  # type: ignore[no-untyped-def]
        store = await Store.open(database_url)
        holder.metrics = MetricsStore(store)
        yield
        holder.metrics = None
        await store.close()

    app.cleanup_ctx.append(lifecycle)


__all__ = ["METRICS", "add_routes", "install"]
