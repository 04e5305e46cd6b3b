"""projects' repository path, approvers and creator; pull requests; linked GitHub accounts

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

A project's module lives at ``repo_path`` in its repository ("infra" for the projects that exist
already); its approvers are Slack user ids. Each conversation's design has at most one pull
request row (its branch, number, head commit and version). A person's GitHub account, linked
through OAuth, keeps its token sealed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("repo_path", sa.String(length=300), nullable=False,
                                   server_default="infra"))
        batch.add_column(sa.Column("approvers", sa.JSON(), nullable=False,
                                   server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("created_by", sa.String(length=200), nullable=True))
    op.create_table(
        "pull_requests",
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("project_id", sa.String(length=100), nullable=True),
        sa.Column("host", sa.String(length=20), nullable=False),
        sa.Column("repository", sa.String(length=300), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("base", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("head_commit", sa.String(length=64), nullable=False),
        sa.Column("design_version", sa.Integer(), nullable=False),
        sa.Column("monthly_usd", sa.Float(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"],
            name=op.f("fk_pull_requests_conversation_id_conversations"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"],
            name=op.f("fk_pull_requests_project_id_projects"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_pull_requests")),
    )
    op.create_index("ix_pull_requests_project_id", "pull_requests", ["project_id"])
    op.create_table(
        "github_accounts",
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("sealed_token", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("principal", name=op.f("pk_github_accounts")),
    )


def downgrade() -> None:
    op.drop_table("github_accounts")
    op.drop_index("ix_pull_requests_project_id", table_name="pull_requests")
    op.drop_table("pull_requests")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("created_by")
        batch.drop_column("approvers")
        batch.drop_column("repo_path")
