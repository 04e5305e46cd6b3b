"""Telling people: immediate alerts for severe findings and the weekly digest, as notices.

Alerts: every critical finding not told yet (or that became critical since) is gathered into one
notice per project and run (never one message per datapoint or per finding); during the
project's quiet hours nothing is sent: what was found waits, and goes out in one notice when the
quiet hours end. Digest: once per ISO week, at the configured weekday and hour in the project's
time zone (or as soon after as the quiet hours allow). Both are published through
:mod:`core.notify`; their ids make a retried or doubled publication one message.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.notify import Notice, NoticeItem, Notices
from core.store.metrics_store import MetricsStore
from core.store.store import Store
from monitor.summary import Narrator, Week, build_summary, items


def quiet_now(quiet: str | None, tz: str, now: datetime) -> bool:
    """Whether ``now`` falls in "HH:MM-HH:MM" of the time zone ``tz`` (it may wrap midnight)."""
    if not quiet:
        return False
    start_s, end_s = quiet.split("-")
    start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
    local = now.astimezone(ZoneInfo(tz)).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def metrics_link(public_url: str | None, project_id: str) -> str | None:
    return f"{public_url.rstrip('/')}/projects/{project_id}/metrics" if public_url else None


async def send_alerts(store: Store, metrics: MetricsStore, notices: Notices, project_id: str, *,
                      now: datetime | None = None, public_url: str | None = None) -> Notice | None:
    """One grouped alert for the project's untold critical findings; None when there is nothing
    to tell or it is quiet time."""
    now = now or datetime.now(UTC)
    watched = await metrics.watched(project_id)
    if quiet_now(watched.quiet_hours, watched.timezone, now):
        return None
    pending = [r for r in await metrics.insights(project_id, status=("open",))
               if r.severity == "critical" and (r.notified_at is None or r.notified_severity != "critical")]
    if not pending:
        return None
    project = await store.get_project(project_id)
    ko = watched.language == "ko"
    # the same findings in the same episode (first_seen restarts when one reopens): the same id
    marks = "|".join(sorted(f"{r.id}:{r.first_seen.isoformat()}" for r in pending))
    title = (f"archops: {project_id}에 심각한 항목 {len(pending)}건" if ko
             else f"archops: {len(pending)} critical finding(s) in {project_id}")
    lines = [title]
    notice_items = []
    for r in pending:
        t = r.title.get(watched.language) or r.title["en"]
        rec = r.recommendation.get(watched.language) or r.recommendation["en"]
        lines.append(f"- {t}: {rec}")
        notice_items.append(NoticeItem(insight_id=r.id, severity="critical", title=t, detail=rec[:600],
                                       resource=r.resource_id, monthly_usd=r.monthly_usd))
    notice = Notice(
        id=f"alert:{project_id}:{hashlib.sha256(marks.encode()).hexdigest()[:20]}", kind="alert",
        project_id=project_id, channel=project.slack_channel, language="ko" if ko else "en",
        title=title, text="\n".join(lines), items=notice_items,
        link=metrics_link(public_url, project_id))
    await notices.publish(notice)
    await metrics.mark_notified([r.id for r in pending], now)
    return notice


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


async def send_digest(store: Store, metrics: MetricsStore, notices: Notices, project_id: str, *,
                      weekday: int = 0, hour: int = 9, now: datetime | None = None, force: bool = False,
                      public_url: str | None = None, narrator: Narrator | None = None) -> Notice | None:
    """The project's weekly digest, when it is due (``force``: now, due or not)."""
    now = now or datetime.now(UTC)
    watched = await metrics.watched(project_id)
    local = now.astimezone(ZoneInfo(watched.timezone))
    week = iso_week(local)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    target = monday + timedelta(days=weekday, hours=hour)
    # due from this week's day and hour on (a monitor that was down catches up), once a week;
    # a project watched after this week's moment gets its first digest next week
    due = local >= target and watched.last_digest_week != week and watched.created_at <= target
    if not force and (not due or quiet_now(watched.quiet_hours, watched.timezone, now)):
        return None
    summary = await week_of(store, metrics, project_id, now)
    text = await build_summary(summary, narrator)
    project = await store.get_project(project_id)
    ko = summary.language == "ko"
    notice = Notice(
        id=f"digest:{project_id}:{week}" + (f":{int(now.timestamp())}" if force else ""), kind="digest",
        project_id=project_id, channel=project.slack_channel, language="ko" if ko else "en",
        title=text.splitlines()[0], text=text, items=items(summary),
        link=metrics_link(public_url, project_id))
    await notices.publish(notice)
    await metrics.mark(project_id, last_digest_week=week)
    return notice


async def week_of(store: Store, metrics: MetricsStore, project_id: str, now: datetime) -> Week:
    watched = await metrics.watched(project_id)
    start = now - timedelta(days=7)
    open_rows = await metrics.insights(project_id, status=("open", "acted"))
    resolved = [r for r in await metrics.insights(project_id, status=("resolved",)) if r.last_seen >= start]
    series = await metrics.series_of(project_id)
    runs = await metrics.runs(project_id, start, limit=1)
    problems = [p.get("metric") or p.get("region", "") for p in (runs[0].problems if runs else [])]
    return Week(
        project_id=project_id, language=watched.language, start=start, end=now, open=open_rows,
        new=sum(1 for r in open_rows if r.first_seen >= start), resolved=len(resolved),
        resources=len({s.spec.resource_id for s in series}), series=len(series),
        cost=await metrics.cost(project_id, start),
        problems=[f"{p}" for p in problems if p])
