"""The system of record's tables: projects, conversations, requests, pull requests and the
GitHub accounts people linked.

Designs, pull requests, scans, tag plans and metrics get their own tables through new
migrations in ``core/store/migrations/versions``, their models in modules imported at the end of
this one (scans, tag plans and project members: :mod:`core.store.scans`). Times
are stored in UTC; JSON columns hold what has no fixed shape (a tag policy, an action).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

RequestStatus = Literal["accepted", "running", "done", "failed", "dead"]
REQUEST_STATUSES: tuple[str, ...] = get_args(RequestStatus)
FINAL_STATUSES = frozenset({"done", "failed", "dead"})

ConversationStatus = Literal["open", "waiting", "closed"]
CONVERSATION_STATUSES: tuple[str, ...] = get_args(ConversationStatus)

# stable constraint names, so that later migrations can alter them on every backend
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: archops stores UTC-aware times only")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class Project(Timestamps, Base):
    """What archops works on: a Slack channel bound to an AWS account and a GitHub repository."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # a channel belongs to at most one project: messages there are about it
    slack_channel: Mapped[str | None] = mapped_column(String(100), unique=True)
    aws_account_id: Mapped[str | None] = mapped_column(String(12))
    aws_role_arn: Mapped[str | None] = mapped_column(String(2048))
    # what the role's trust policy requires (sts:ExternalId): a confused deputy cannot borrow it
    aws_external_id: Mapped[str | None] = mapped_column(String(1224))
    aws_regions: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    # owner/name on GitHub; None: the project's own bare repository in the data folder
    github_repo: Mapped[str | None] = mapped_column(String(200))
    # the module's folder inside the repository ("" is the repository's root)
    repo_path: Mapped[str] = mapped_column(String(300), default="infra", nullable=False)
    # {"key": K, "value": V}: the tag that marks the project's resources (scanner.service.tag_of)
    tag_policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    # Slack user ids who may answer and approve the project's conversations besides the requester
    approvers: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    # the principal that created it (web/CLI principal id, or slack:<team>:<user>)
    created_by: Mapped[str | None] = mapped_column(String(200))

    @property
    def tag(self) -> tuple[str, str] | None:
        policy = self.tag_policy or {}
        key, value = policy.get("key"), policy.get("value")
        return (key, value) if isinstance(key, str) and isinstance(value, str) else None


class Conversation(Timestamps, Base):
    """One thread of talk (a Slack thread, a web chat, a CLI session); the checkpointer's thread."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_updated_at", "updated_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(
        String(100), ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    user: Mapped[str] = mapped_column(String(200), nullable=False)
    title: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="open", nullable=False)


class Request(Timestamps, Base):
    """One accepted chat request and what became of it (the worker's ledger)."""

    __tablename__ = "requests"
    __table_args__ = (Index("ix_requests_conversation_created", "conversation_id", "created_at"),)

    request_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    # the same submission (a Slack retry, a resent client message) carries the same key
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True, nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    user: Mapped[str] = mapped_column(String(200), nullable=False)
    text: Mapped[str | None] = mapped_column(Text)
    action: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="accepted", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    trace_id: Mapped[str | None] = mapped_column(String(32))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PullRequest(Timestamps, Base):
    """The pull request of a conversation's design: one branch per conversation, whose commits
    are the design's versions."""

    __tablename__ = "pull_requests"
    __table_args__ = (Index("ix_pull_requests_project_id", "project_id"),)

    conversation_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str | None] = mapped_column(
        String(100), ForeignKey("projects.id", ondelete="SET NULL")
    )
    host: Mapped[str] = mapped_column(String(20), nullable=False)  # github | local
    repository: Mapped[str] = mapped_column(String(300), nullable=False)
    branch: Mapped[str] = mapped_column(String(255), nullable=False)
    base: Mapped[str] = mapped_column(String(255), nullable=False)
    path: Mapped[str] = mapped_column(String(300), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    url: Mapped[str] = mapped_column(String(1000), nullable=False)
    head_commit: Mapped[str] = mapped_column(String(64), nullable=False)
    design_version: Mapped[int] = mapped_column(Integer, nullable=False)
    monthly_usd: Mapped[float | None] = mapped_column(Float)


class GitHubAccount(Timestamps, Base):
    """A person's GitHub account, linked through the OAuth web flow; the token is sealed
    (:mod:`core.vault`), never stored in the clear."""

    __tablename__ = "github_accounts"

    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    login: Mapped[str] = mapped_column(String(100), nullable=False)
    sealed_token: Mapped[str] = mapped_column(Text, nullable=False)
    scopes: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    # linked | revoked (GitHub refused the token: the person must link again)
    status: Mapped[str] = mapped_column(String(20), default="linked", nullable=False)
# the monitor's tables (core/store/metrics.py) join Base.metadata with this module
from core.store import metrics as _metrics  # noqa: E402,F401

# the models of later tables, so that Base.metadata knows every table archops migrates
from core.store import scans as _scans  # noqa: E402,F401
