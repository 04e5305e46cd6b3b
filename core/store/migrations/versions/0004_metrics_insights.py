"""the monitor: watched projects, metric series and datapoints, collection runs, insights

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-01

Datapoint times are epoch seconds (integers); see core/store/metrics.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"], ["projects.id"], name=op.f(f"fk_{table}_project_id_projects"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "monitor_projects",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("quiet_hours", sa.String(length=11), nullable=True),
        sa.Column("inventory", sa.JSON(), nullable=True),
        sa.Column("inventory_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fence", sa.BigInteger(), nullable=False),
        sa.Column("last_detect_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_digest_week", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _project_fk("monitor_projects"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_monitor_projects")),
    )
    op.create_table(
        "metric_series",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("resource_kind", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=2048), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("stat", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=True),
        sa.Column("read_to", sa.BigInteger(), nullable=True),
        _project_fk("metric_series"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_series")),
        sa.UniqueConstraint("project_id", "region", "key", name="uq_metric_series_project_region_key"),
    )
    op.create_index("ix_metric_series_project_resource", "metric_series", ["project_id", "resource_id"])
    op.create_table(
        "metric_points",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("maximum", sa.Float(), nullable=True),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"], ["metric_series.id"],
            name=op.f("fk_metric_points_series_id_metric_series"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "resolution", "ts", name=op.f("pk_metric_points")),
    )
    op.create_index("ix_metric_points_resolution_ts", "metric_points", ["resolution", "ts"])
    op.create_table(
        "collection_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("instance_id", sa.String(length=200), nullable=False),
        sa.Column("fence", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("metrics_requested", sa.Integer(), nullable=False),
        sa.Column("datapoints", sa.Integer(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        _project_fk("collection_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_runs")),
    )
    op.create_index("ix_collection_runs_project_started", "collection_runs", ["project_id", "started_at"])
    op.create_table(
        "insights",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("detector", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("resource_kind", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=2048), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=True),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("recommendation", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("change_request", sa.Text(), nullable=True),
        sa.Column("monthly_usd", sa.Float(), nullable=True),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_severity", sa.String(length=10), nullable=True),
        sa.Column("request_id", sa.String(length=200), nullable=True),
        sa.Column("conversation_id", sa.String(length=200), nullable=True),
        _project_fk("insights"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insights")),
    )
    op.create_index("ix_insights_project_status", "insights", ["project_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_insights_project_status", table_name="insights")
    op.drop_table("insights")
    op.drop_index("ix_collection_runs_project_started", table_name="collection_runs")
    op.drop_table("collection_runs")
    op.drop_index("ix_metric_points_resolution_ts", table_name="metric_points")
    op.drop_table("metric_points")
    op.drop_index("ix_metric_series_project_resource", table_name="metric_series")
    op.drop_table("metric_series")
    op.drop_table("monitor_projects")
