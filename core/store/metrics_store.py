"""Access to the monitor's tables: watched projects, series and datapoints, runs, insights.

The monitor writes through here (every write of a collection is fenced: it carries the token of
the collector's lock, and a token older than the newest one seen for the project is refused with
:class:`~core.errors.LeaseLost`, inside the same transaction as the write); the web app reads
through here (charts, insights, cost). Built on a :class:`~core.store.Store` and sharing its
engine::

    metrics = MetricsStore(store)
    await metrics.watch("shop", language="ko", timezone="Asia/Seoul", quiet_hours="22:00-08:00")
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, delete, func, literal, or_, select, update

from core.errors import LeaseLost, NotFound, ValidationError
from core.store.metrics import (
    HOURLY_RESOLUTION,
    RAW_RESOLUTION,
    SEVERITIES,
    CollectionRun,
    Insight,
    MetricPoint,
    MetricSeries,
    MonitorProject,
)
from core.store.models import Conversation, utcnow
from core.store.store import Store

LANGUAGES = ("en", "ko")
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_CHUNK = 500  # rows per INSERT (SQLite allows 32,766 bound parameters)
# what each statistic becomes when twelve 5-minute points are folded into one hour
_ROLLUP: dict[str, Any] = {"Sum": func.sum, "Maximum": func.max, "Minimum": func.min, "Average": func.avg,
           "SampleCount": func.sum}


@dataclass(frozen=True)
class SeriesSpec:
    """One CloudWatch metric of one resource, as the monitor asks for it."""

    region: str
    resource_kind: str
    resource_id: str
    metric: str  # the catalog's short name ("cpu", "free_storage"...)
    namespace: str
    name: str
    stat: str
    period: int
    dimensions: tuple[tuple[str, str], ...]
    unit: str | None = None

    @property
    def key(self) -> str:
        dims = ",".join(f"{k}={v}" for k, v in sorted(self.dimensions))
        return f"{self.namespace}|{self.name}|{self.stat}|{self.period}|{dims}"


@dataclass(frozen=True)
class Series:
    """A stored series: its id, what it is, and the newest datapoint stored."""

    id: int
    spec: SeriesSpec
    last_ts: int | None
    read_to: int | None = None


@dataclass
class RunRecord:
    """What one collection of a project did (a row of ``collection_runs``)."""

    instance_id: str
    started_at: datetime
    finished_at: datetime
    regions: list[str]
    calls: int = 0
    metrics_requested: int = 0
    datapoints: int = 0
    throttled: int = 0
    cost_usd: float = 0.0
    problems: list[dict[str, Any]] = field(default_factory=list)


def check_quiet_hours(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not _QUIET.match(value):
        raise ValidationError(f"quiet hours {value!r} are not HH:MM-HH:MM",
                              hint="for example 22:00-08:00 (in the project's time zone)")
    return value


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"time zone {value!r} is not known",
                              hint="an IANA name such as Asia/Seoul or Europe/Berlin") from exc
    return value


def insight_id(project_id: str, detector: str, resource_id: str, what: str = "") -> str:
    """The stable id of a finding: the same finding seen again updates its row."""
    digest = hashlib.sha256(f"{project_id}|{detector}|{resource_id}|{what}".encode()).hexdigest()
    return f"ins_{digest[:28]}"


class MetricsStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._sessions = store._sessions
        self._insert = store._insert
        self._writing = store._writing

    # -- watched projects -----------------------------------------------------------------
    async def watch(
        self, project_id: str, *, language: str | None = None, timezone: str | None = None,
        quiet_hours: str | None = None, enabled: bool | None = None,
    ) -> MonitorProject:
        """Watch a project (it must exist) or change how it is watched."""
        await self.store.get_project(project_id)
        given: dict[str, Any] = {}
        if language is not None:
            if language not in LANGUAGES:
                raise ValidationError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
            given["language"] = language
        if timezone is not None:
            given["timezone"] = check_timezone(timezone)
        if quiet_hours is not None:
            given["quiet_hours"] = check_quiet_hours(quiet_hours)
        if enabled is not None:
            given["enabled"] = enabled
        now = utcnow()
        stmt = self._insert(MonitorProject).values(**{
            "project_id": project_id, "enabled": True, "language": "en", "timezone": "UTC", "fence": 0,
            **given, "created_at": now, "updated_at": now})
        stmt = stmt.on_conflict_do_update(index_elements=[MonitorProject.project_id],
                                          set_={**given, "updated_at": now})
        async with self._writing() as session:
            await session.execute(stmt)
        return await self.watched(project_id)

    async def watched(self, project_id: str) -> MonitorProject:
        async with self._sessions() as session:
            row = await session.get(MonitorProject, project_id)
        if row is None:
            raise NotFound(f"project {project_id!r} is not watched",
                           hint=f"archops monitor watch {project_id}")
        return row

    async def list_watched(self) -> list[MonitorProject]:
        async with self._sessions() as session:
            result = await session.execute(
                select(MonitorProject).where(MonitorProject.enabled.is_(True))
                .order_by(MonitorProject.project_id))
            return list(result.scalars())

    async def set_inventory(self, project_id: str, inventory: dict[str, Any],
                            at: datetime | None = None) -> None:
        async with self._writing() as session:
            result = await session.execute(
                update(MonitorProject).where(MonitorProject.project_id == project_id)
                .values(inventory=inventory, inventory_at=at or utcnow(), updated_at=utcnow()))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"project {project_id!r} is not watched")

    async def mark(self, project_id: str, **values: Any) -> None:
        """Set bookkeeping fields (``last_detect_at``, ``last_digest_week``)."""
        allowed = {"last_detect_at", "last_digest_week"}
        if set(values) - allowed:
            raise ValidationError(f"cannot set {sorted(set(values) - allowed)}")
        async with self._writing() as session:
            await session.execute(update(MonitorProject)
                                  .where(MonitorProject.project_id == project_id).values(**values))

    # -- fencing ----------------------------------------------------------------------------
    async def _fence(self, session: Any, project_id: str, token: int) -> None:
        result = await session.execute(
            update(MonitorProject)
            .where(MonitorProject.project_id == project_id, MonitorProject.fence <= token)
            .values(fence=token))
        if result.rowcount == 0:
            raise LeaseLost(f"collection of {project_id!r} with token {token} was overtaken by "
                            "a newer collector; its writes are refused")

    async def register_fence(self, project_id: str, token: int) -> None:
        """Record a new lock holder's token at once, so an older holder can write no more."""
        async with self._writing() as session:
            await self._fence(session, project_id, token)

    # -- series and datapoints ----------------------------------------------------------------
    async def ensure_series(self, project_id: str, specs: Sequence[SeriesSpec]) -> list[Series]:
        """The stored series for ``specs`` (created when new), in the same order."""
        if specs:
            rows = [{
                "project_id": project_id, "region": s.region, "key": s.key,
                "resource_kind": s.resource_kind, "resource_id": s.resource_id, "metric": s.metric,
                "namespace": s.namespace, "name": s.name, "stat": s.stat, "unit": s.unit,
                "period": s.period, "dimensions": [{"Name": k, "Value": v} for k, v in s.dimensions],
            } for s in specs]
            async with self._writing() as session:
                for i in range(0, len(rows), _CHUNK):
                    await session.execute(
                        self._insert(MetricSeries).on_conflict_do_nothing(), rows[i:i + _CHUNK])
        known = {(s.spec.region, s.spec.key): s for s in await self.series_of(project_id)}
        return [known[(s.region, s.key)] for s in specs]

    async def series_of(self, project_id: str, resource_id: str | None = None) -> list[Series]:
        query = select(MetricSeries).where(MetricSeries.project_id == project_id)
        if resource_id is not None:
            query = query.where(MetricSeries.resource_id == resource_id)
        async with self._sessions() as session:
            result = await session.execute(query.order_by(MetricSeries.id))
            return [_series(row) for row in result.scalars()]

    async def write(self, project_id: str, token: int,
                    points: dict[int, list[tuple[int, float]]], run: RunRecord | None = None,
                    read_to: dict[int, int] | None = None) -> int:
        """Store new datapoints (series id -> [(ts, value)]), how far each series was read
        (series id -> end of the window) and the run record, fenced by ``token``.

        A datapoint already stored is left as it is, so a retried write repeats nothing.
        Returns how many datapoints were new to the store.
        """
        rows = [{"series_id": sid, "resolution": RAW_RESOLUTION, "ts": int(ts), "value": float(v),
                 "maximum": None, "samples": 1}
                for sid, pts in points.items() for ts, v in pts]
        newest = [{"sid": sid, "ts": max(ts for ts, _ in pts)} for sid, pts in points.items() if pts]
        inserted = 0
        async with self._writing() as session:
            await self._fence(session, project_id, token)
            conn = await session.connection()
            insert = self._insert(MetricPoint).on_conflict_do_nothing().returning(MetricPoint.ts)
            for i in range(0, len(rows), _CHUNK):
                result = await conn.execute(insert, rows[i:i + _CHUNK])
                inserted += len(result.all())  # RETURNING counts what was new, on every backend
            if newest:
                await conn.execute(
                    update(MetricSeries)
                    .where(MetricSeries.id == bindparam("sid"),
                           or_(MetricSeries.last_ts.is_(None), MetricSeries.last_ts < bindparam("ts")))
                    .values(last_ts=bindparam("ts"))
                    .execution_options(synchronize_session=False),
                    newest)
            if read_to:
                await conn.execute(
                    update(MetricSeries)
                    .where(MetricSeries.id == bindparam("sid"),
                           or_(MetricSeries.read_to.is_(None), MetricSeries.read_to < bindparam("end")))
                    .values(read_to=bindparam("end"))
                    .execution_options(synchronize_session=False),
                    [{"sid": sid, "end": end} for sid, end in read_to.items()])
            if run is not None:
                session.add(CollectionRun(project_id=project_id, fence=token, **run.__dict__))
        return inserted

    async def points(self, series_ids: Iterable[int], since: int,
                     until: int | None = None) -> dict[int, list[tuple[int, int, float]]]:
        """series id -> [(ts, resolution, value)] from ``since`` (inclusive), oldest first."""
        ids = list(series_ids)
        out: dict[int, list[tuple[int, int, float]]] = {i: [] for i in ids}
        async with self._sessions() as session:
            for i in range(0, len(ids), _CHUNK):
                query = (select(MetricPoint.series_id, MetricPoint.ts, MetricPoint.resolution,
                                MetricPoint.value)
                         .where(MetricPoint.series_id.in_(ids[i:i + _CHUNK]), MetricPoint.ts >= since))
                if until is not None:
                    query = query.where(MetricPoint.ts < until)
                result = await session.execute(query.order_by(MetricPoint.series_id, MetricPoint.ts))
                for sid, ts, res, value in result:
                    out[sid].append((ts, res, value))
        return out

    async def chart(self, series_ids: Iterable[int], since: int, until: int,
                    bucket: int) -> dict[int, list[tuple[int, float, float]]]:
        """series id -> [(bucket start, mean, max)]: what a chart draws, aggregated in SQL."""
        ids = list(series_ids)
        out: dict[int, list[tuple[int, float, float]]] = {i: [] for i in ids}
        start = MetricPoint.ts - MetricPoint.ts % bucket
        async with self._sessions() as session:
            for i in range(0, len(ids), _CHUNK):
                result = await session.execute(
                    select(MetricPoint.series_id, start.label("b"), func.avg(MetricPoint.value),
                           func.max(func.coalesce(MetricPoint.maximum, MetricPoint.value)))
                    .where(MetricPoint.series_id.in_(ids[i:i + _CHUNK]), MetricPoint.ts >= since,
                           MetricPoint.ts < until)
                    .group_by(MetricPoint.series_id, start).order_by(MetricPoint.series_id, start))
                for sid, b, mean, top in result:
                    out[sid].append((int(b), float(mean), float(top)))
        return out

    async def rollup(self, now: int, raw_keep_s: int, hourly_keep_s: int) -> dict[str, int]:
        """Fold 5-minute points older than ``raw_keep_s`` into hourly points, then drop them;
        drop hourly points older than ``hourly_keep_s``. Idempotent (a rerun folds nothing twice)."""
        cutoff = (now - raw_keep_s) // HOURLY_RESOLUTION * HOURLY_RESOLUTION
        hour = MetricPoint.ts - MetricPoint.ts % HOURLY_RESOLUTION
        folded = 0
        async with self._writing() as session:
            for stat, agg in _ROLLUP.items():
                source = (
                    select(MetricPoint.series_id, literal(HOURLY_RESOLUTION), hour,
                           agg(MetricPoint.value), func.max(MetricPoint.value),
                           func.count())
                    .join(MetricSeries, MetricSeries.id == MetricPoint.series_id)
                    .where(MetricSeries.stat == stat, MetricPoint.resolution == RAW_RESOLUTION,
                           MetricPoint.ts < cutoff)
                    .group_by(MetricPoint.series_id, hour))
                result = await session.execute(
                    self._insert(MetricPoint).from_select(
                        ["series_id", "resolution", "ts", "value", "maximum", "samples"], source)
                    .on_conflict_do_nothing().returning(MetricPoint.ts))
                folded += len(result.all())
            dropped = await session.execute(delete(MetricPoint).where(
                MetricPoint.resolution == RAW_RESOLUTION, MetricPoint.ts < cutoff))
            expired = await session.execute(delete(MetricPoint).where(
                MetricPoint.resolution == HOURLY_RESOLUTION, MetricPoint.ts < now - hourly_keep_s))
            old_runs = await session.execute(delete(CollectionRun).where(
                CollectionRun.finished_at < datetime.fromtimestamp(now - hourly_keep_s, UTC)))
        return {"hourly_points_made": folded,
                "raw_points_dropped": dropped.rowcount or 0,  # type: ignore[attr-defined]
                "hourly_points_expired": expired.rowcount or 0,  # type: ignore[attr-defined]
                "runs_expired": old_runs.rowcount or 0}  # type: ignore[attr-defined]

    # -- runs and cost --------------------------------------------------------------------------
    async def runs(self, project_id: str, since: datetime, limit: int = 1000) -> list[CollectionRun]:
        async with self._sessions() as session:
            result = await session.execute(
                select(CollectionRun)
                .where(CollectionRun.project_id == project_id, CollectionRun.started_at >= since)
                .order_by(CollectionRun.started_at.desc()).limit(limit))
            return list(result.scalars())

    async def cost(self, project_id: str, since: datetime) -> dict[str, Any]:
        """What collecting the project's metrics cost since ``since``."""
        async with self._sessions() as session:
            row = (await session.execute(
                select(func.count(), func.coalesce(func.sum(CollectionRun.cost_usd), 0.0),
                       func.coalesce(func.sum(CollectionRun.metrics_requested), 0),
                       func.coalesce(func.sum(CollectionRun.calls), 0),
                       func.coalesce(func.sum(CollectionRun.datapoints), 0))
                .where(CollectionRun.project_id == project_id,
                       CollectionRun.started_at >= since))).one()
        return {"runs": int(row[0]), "usd": round(float(row[1]), 4), "metrics_requested": int(row[2]),
                "calls": int(row[3]), "datapoints": int(row[4])}

    # -- insights --------------------------------------------------------------------------------
    async def save_insights(self, project_id: str, found: Sequence[dict[str, Any]],
                            detectors: Iterable[str], now: datetime | None = None) -> dict[str, int]:
        """Record what the ``detectors`` found now: new findings open, known ones are updated (a
        resolved one reopens), and open findings of these detectors not found again resolve."""
        now = now or utcnow()
        ran = set(detectors)
        counts = {"new": 0, "updated": 0, "resolved": 0, "reopened": 0}
        async with self._writing() as session:
            existing = {
                row.id: row for row in (await session.execute(
                    select(Insight).where(Insight.project_id == project_id))).scalars()}
            seen: set[str] = set()
            for item in found:
                if item["severity"] not in SEVERITIES:
                    raise ValidationError(f"severity {item['severity']!r} is unknown")
                seen.add(item["id"])
                row = existing.get(item["id"])
                fields = {k: item[k] for k in (
                    "detector", "severity", "region", "resource_kind", "resource_id", "metric",
                    "title", "recommendation", "evidence", "change_request", "monthly_usd",
                    "window_start", "window_end")}
                if row is None:
                    session.add(Insight(id=item["id"], project_id=project_id, status="open",
                                        first_seen=now, last_seen=now, **fields))
                    counts["new"] += 1
                    continue
                for k, v in fields.items():
                    setattr(row, k, v)
                row.last_seen = now
                if row.status == "resolved":  # a new episode: told again, acted on again
                    row.status, row.notified_at, row.notified_severity = "open", None, None
                    row.first_seen = now
                    row.request_id = row.conversation_id = None
                    counts["reopened"] += 1
                else:
                    counts["updated"] += 1
            for row in existing.values():
                if row.id not in seen and row.detector in ran and row.status != "resolved":
                    row.status = "resolved"
                    counts["resolved"] += 1
        return counts

    async def insights(self, project_id: str, status: Sequence[str] | None = ("open", "acted"),
                       resource_id: str | None = None) -> list[Insight]:
        query = select(Insight).where(Insight.project_id == project_id)
        if status:
            query = query.where(Insight.status.in_(list(status)))
        if resource_id is not None:
            query = query.where(Insight.resource_id == resource_id)
        order = {"critical": 0, "warning": 1, "info": 2}
        async with self._sessions() as session:
            rows = list((await session.execute(query)).scalars())
        return sorted(rows, key=lambda r: (order.get(r.severity, 3), r.monthly_usd or 0.0, r.id))

    async def get_insight(self, insight: str, project_id: str | None = None) -> Insight:
        async with self._sessions() as session:
            row = await session.get(Insight, insight)
        if row is None or (project_id is not None and row.project_id != project_id):
            raise NotFound(f"no insight {insight!r}" + (f" in project {project_id!r}" if project_id else ""),
                           hint="archops monitor insights PROJECT lists them")
        return row

    async def mark_notified(self, ids: Sequence[str], at: datetime | None = None) -> None:
        if not ids:
            return
        async with self._writing() as session:
            await session.execute(update(Insight).where(Insight.id.in_(list(ids)))
                                  .values(notified_at=at or utcnow(),
                                          notified_severity=Insight.severity))

    async def mark_acted(self, insight: str, request_id: str, conversation_id: str) -> Insight:
        async with self._writing() as session:
            await session.execute(update(Insight).where(Insight.id == insight).values(
                status="acted", request_id=request_id, conversation_id=conversation_id))
        return await self.get_insight(insight)

    async def project_conversation(self, project_id: str) -> str:
        """The conversation a project's changes go to: the latest one bound to the project
        (where its design lives), else a new one named after the project."""
        async with self._sessions() as session:
            row = (await session.execute(
                select(Conversation.id).where(Conversation.project_id == project_id)
                .order_by(Conversation.updated_at.desc(), Conversation.id).limit(1))).first()
        return row[0] if row else f"project-{project_id}"


def _series(row: MetricSeries) -> Series:
    spec = SeriesSpec(
        region=row.region, resource_kind=row.resource_kind, resource_id=row.resource_id,
        metric=row.metric, namespace=row.namespace, name=row.name, stat=row.stat,
        period=row.period, unit=row.unit,
        dimensions=tuple((d["Name"], d["Value"]) for d in row.dimensions))
    return Series(row.id, spec, row.last_ts, row.read_to)


__all__ = [
    "LANGUAGES", "MetricsStore", "RunRecord", "Series", "SeriesSpec", "check_quiet_hours",
    "check_timezone", "insight_id",
]
