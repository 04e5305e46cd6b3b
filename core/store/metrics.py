"""The monitor's tables: what each project watches, its metric datapoints, runs and insights.

Times of datapoints are epoch seconds (UTC) in integer columns rather than datetimes: a series is
millions of rows, and integer buckets (``ts - ts % 3600``) downsample and chart the same way in
SQL on SQLite and PostgreSQL. Everything else keeps the aware UTC datetimes of the other tables.

    monitor_projects   a project the monitor watches: language, time zone, quiet hours, the
                       inventory it watches, and the fencing token of the last collector to write
    metric_series      one CloudWatch metric of one resource (namespace, name, stat, dimensions)
    metric_points      its datapoints: 5-minute points (``resolution`` 300), hourly rollups (3600)
    collection_runs    what each collection asked AWS for, what it cost, what it could not read
    insights           what the detectors found, with evidence, a recommendation and its effect
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.store.models import Base, Timestamps, UTCDateTime

RAW_RESOLUTION = 300
HOURLY_RESOLUTION = 3600
INSIGHT_STATUSES = ("open", "resolved", "acted")
SEVERITIES = ("info", "warning", "critical")


class MonitorProject(Timestamps, Base):
    """A project the monitor watches (``archops monitor watch``), and how it wants to be told."""

    __tablename__ = "monitor_projects"

    project_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    language: Mapped[str] = mapped_column(String(8), default="en", nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", nullable=False)
    # "HH:MM-HH:MM" in the project's time zone; alerts wait until it ends (None: never quiet)
    quiet_hours: Mapped[str | None] = mapped_column(String(11))
    # the scanner's Inventory (scanner.models) the monitor watches, and when it was read
    inventory: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    inventory_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the highest fencing token a collector wrote with: an older holder's writes are refused
    fence: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    last_detect_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_digest_week: Mapped[str | None] = mapped_column(String(10))  # ISO week "2026-W48"


class MetricSeries(Base):
    __tablename__ = "metric_series"
    __table_args__ = (
        UniqueConstraint("project_id", "region", "key", name="uq_metric_series_project_region_key"),
        Index("ix_metric_series_project_resource", "project_id", "resource_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )
    region: Mapped[str] = mapped_column(String(32), nullable=False)
    # namespace|metric|stat|dimensions (sorted), the identity of a CloudWatch series
    key: Mapped[str] = mapped_column(String(1000), nullable=False)
    resource_kind: Mapped[str] = mapped_column(String(40), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(2048), nullable=False)
    metric: Mapped[str] = mapped_column(String(40), nullable=False)  # the catalog's short name
    namespace: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    stat: Mapped[str] = mapped_column(String(20), nullable=False)
    unit: Mapped[str | None] = mapped_column(String(40))
    period: Mapped[int] = mapped_column(Integer, nullable=False)
    dimensions: Mapped[list[dict[str, str]]] = mapped_column(JSON, nullable=False)
    # the newest datapoint stored (epoch s): the next collection asks only for what follows
    last_ts: Mapped[int | None] = mapped_column(BigInteger)
    # the end of the last window read (epoch s), data or not: a sparse series (5XX counts exist
    # only when there are errors) is not asked again for what was read empty
    read_to: Mapped[int | None] = mapped_column(BigInteger)


class MetricPoint(Base):
    __tablename__ = "metric_points"
    __table_args__ = (Index("ix_metric_points_resolution_ts", "resolution", "ts"),)

    series_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("metric_series.id", ondelete="CASCADE"), primary_key=True
    )
    resolution: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    # a rollup keeps the largest of what it folded, and how many points it folded
    maximum: Mapped[float | None] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(Integer, default=1, nullable=False)


class CollectionRun(Base):
    __tablename__ = "collection_runs"
    __table_args__ = (Index("ix_collection_runs_project_started", "project_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )
    instance_id: Mapped[str] = mapped_column(String(200), nullable=False)
    fence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    regions: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    calls: Mapped[int] = mapped_column(Integer, nullable=False)
    metrics_requested: Mapped[int] = mapped_column(Integer, nullable=False)
    datapoints: Mapped[int] = mapped_column(Integer, nullable=False)
    throttled: Mapped[int] = mapped_column(Integer, nullable=False)
    cost_usd: Mapped[float] = mapped_column(Float, nullable=False)
    # what could not be read: [{"region", "metric"?, "code", "action", "message"}]
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)


class Insight(Base):
    __tablename__ = "insights"
    __table_args__ = (Index("ix_insights_project_status", "project_id", "status"),)

    # stable per project, detector, resource and finding: a finding seen again updates its row
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )
    detector: Mapped[str] = mapped_column(String(40), nullable=False)
    severity: Mapped[str] = mapped_column(String(10), nullable=False)
    region: Mapped[str] = mapped_column(String(32), nullable=False)
    resource_kind: Mapped[str] = mapped_column(String(40), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(2048), nullable=False)
    metric: Mapped[str | None] = mapped_column(String(40))
    # {"en": ..., "ko": ...}
    title: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)
    recommendation: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)
    # the numbers and the window: {"window_start", "window_end", "numbers": {...}}
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # what the agent is asked to do (English), None when nothing in Terraform changes
    change_request: Mapped[str | None] = mapped_column(Text)
    monthly_usd: Mapped[float | None] = mapped_column(Float)  # negative: a saving
    window_start: Mapped[int] = mapped_column(BigInteger, nullable=False)
    window_end: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="open", nullable=False)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notified_severity: Mapped[str | None] = mapped_column(String(10))
    request_id: Mapped[str | None] = mapped_column(String(200))
    conversation_id: Mapped[str | None] = mapped_column(String(200))
