"""scans, tag plans and their audit trail, project members, a role's external id

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02

Types are spelled out here rather than imported from the models: a migration is a fixed
record of what the schema was.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("aws_external_id", sa.String(length=1224), nullable=True))
    op.create_table(
        "project_members",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_project_members_project_id_projects"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "principal", name=op.f("pk_project_members")),
    )
    op.create_table(
        "scans",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=100), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("role_arn", sa.String(length=2048), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resources", sa.Integer(), nullable=False),
        sa.Column("adopted", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("review", sa.JSON(), nullable=True),
        sa.Column("api_calls", sa.JSON(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("out_dir", sa.String(length=1000), nullable=True),
        sa.Column("checkpoint", sa.String(length=1000), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("diagram", sa.JSON(), nullable=True),
        sa.Column("inventory", sa.JSON(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_scans_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
    )
    op.create_index("ix_scans_project_created", "scans", ["project_id", "created_at"])
    op.create_table(
        "tag_plans",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=100), nullable=True),
        sa.Column("scan_id", sa.String(length=40), nullable=True),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("already", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("dry_run_by", sa.String(length=200), nullable=True),
        sa.Column("dry_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dry_run", sa.JSON(), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_via", sa.String(length=20), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_tag_plans_project_id_projects")),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"], name=op.f("fk_tag_plans_scan_id_scans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_plans")),
    )
    op.create_index("ix_tag_plans_project_created", "tag_plans", ["project_id", "created_at"])
    op.create_table(
        "tag_applications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("plan_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=100), nullable=True),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("approved_via", sa.String(length=20), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["plan_id"], ["tag_plans.id"], name=op.f("fk_tag_applications_plan_id_tag_plans")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_tag_applications_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_applications")),
    )
    op.create_index("ix_tag_applications_plan_created", "tag_applications", ["plan_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_tag_applications_plan_created", table_name="tag_applications")
    op.drop_table("tag_applications")
    op.drop_index("ix_tag_plans_project_created", table_name="tag_plans")
    op.drop_table("tag_plans")
    op.drop_index("ix_scans_project_created", table_name="scans")
    op.drop_table("scans")
    op.drop_table("project_members")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("aws_external_id")
