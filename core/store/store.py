"""The async system of record: projects, conversations, the ledger of requests, pull
requests and linked GitHub accounts.

Workers and the web app share one :class:`Store` per process, built in the composition root
with ``await Store.open(settings.effective_database_url)``. Every write transaction starts
with a write, so that on SQLite it takes the write lock at once (and waits on ``busy_timeout``)
rather than failing when a read lock must be upgraded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.datadir import private_files
from core.envelope import Envelope
from core.errors import NotFound, ServiceUnavailable, ValidationError
from core.redaction import redact, redact_data
from core.store.migrate import sqlite_pragmas, upgrade
from core.store.models import (
    CONVERSATION_STATUSES,
    FINAL_STATUSES,
    REQUEST_STATUSES,
    Conversation,
    GitHubAccount,
    Project,
    PullRequest,
    Request,
    utcnow,
)
from core.store.urls import DatabaseUrl, parse_database_url
from core.store.validation import check_project_fields, check_project_id

MAX_ERROR_CHARS = 4000


class Store:
    """Async access to archops' tables; methods return detached, read-only-by-convention rows."""

    def __init__(self, engine: AsyncEngine, db: DatabaseUrl) -> None:
        self.engine = engine
        self.db = db
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._insert = sqlite.insert if db.backend == "sqlite" else postgresql.insert
        # SQLite has one writer at a time: queue this process's writers here, where waiting is
        # cheap, rather than in SQLite's busy handler, which sleeps in coarse steps
        self._write_lock: AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if db.backend == "sqlite" else nullcontext()
        )

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect (and by default migrate to head first); raise ServiceUnavailable if down."""
        db = parse_database_url(url)
        if migrate:
            await asyncio.to_thread(upgrade, url)
        elif db.backend == "sqlite":
            db.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        if db.backend == "sqlite":
            engine = create_async_engine(db.async_url, connect_args={"timeout": 30})
            event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        else:
            engine = create_async_engine(db.async_url, pool_pre_ping=True, pool_size=10)
        store = cls(engine, db)
        try:
            async with engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            if db.backend == "sqlite":  # conversations and checkpoints: the owner's only
                path = db.sqlite_path
                private_files(path, path.with_name(path.name + "-wal"),
                              path.with_name(path.name + "-shm"))
        except OperationalError as exc:
            await engine.dispose()
            raise ServiceUnavailable(
                f"database {db.masked()} cannot be reached: {exc.orig}",
                hint="check ARCHOPS_DATABASE_URL (archops doctor)",
            ) from exc
        return store

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (committed on exit)."""
        async with self._write_lock, self._sessions.begin() as session:
            yield session

    # -- projects -------------------------------------------------------------------------
    async def upsert_project(
        self,
        project_id: str,
        *,
        name: str | None = None,
        slack_channel: str | None = None,
        aws_account_id: str | None = None,
        aws_role_arn: str | None = None,
        aws_regions: list[str] | None = None,
        github_repo: str | None = None,
        repo_path: str | None = None,
        tag_policy: dict[str, Any] | None = None,
        approvers: list[str] | None = None,
        created_by: str | None = None,
    ) -> Project:
        """Create the project or update the fields given (None leaves a field unchanged;
        ``github_repo=""`` unbinds GitHub: the project's own local repository is used)."""
        check_project_id(project_id)
        async with self._sessions() as session:
            current = await session.get(Project, project_id)
        given = check_project_fields(
            {
                k: v
                for k, v in {
                    "name": name,
                    "slack_channel": slack_channel,
                    "aws_account_id": aws_account_id,
                    "aws_role_arn": aws_role_arn,
                    "aws_regions": aws_regions,
                    "github_repo": github_repo,
                    "repo_path": repo_path,
                    "tag_policy": tag_policy,
                    "approvers": approvers,
                    # the creator is who made it first, never rewritten
                    "created_by": created_by if current is None else None,
                }.items()
                if v is not None
            },
            current,
        )
        if given.get("github_repo") == "":
            given["github_repo"] = None
        now = utcnow()
        values = {
            "id": project_id,
            "name": project_id,
            "aws_regions": [],
            "tag_policy": {},
            "approvers": [],
            "repo_path": "infra",
            **given,
            "created_at": now,
            "updated_at": now,
        }
        stmt = self._insert(Project).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Project.id], set_={**given, "updated_at": now}
        )
        try:
            async with self._writing() as session:
                await session.execute(stmt)
        except IntegrityError as exc:
            raise ValidationError(
                f"Slack channel {slack_channel!r} is already bound to another project",
                hint="unbind it there first, or pick another channel",
            ) from exc
        return await self.get_project(project_id)

    async def get_project(self, project_id: str) -> Project:
        async with self._sessions() as session:
            project = await session.get(Project, project_id)
        if project is None:
            raise NotFound(f"no project {project_id!r}", hint="create it with a project binding")
        return project

    async def find_project(self, project_id: str) -> Project | None:
        async with self._sessions() as session:
            return await session.get(Project, project_id)

    async def list_projects(self, limit: int = 200) -> list[Project]:
        """Projects by id."""
        if not 1 <= limit <= 1000:
            raise ValidationError(f"limit must be between 1 and 1000, not {limit}")
        async with self._sessions() as session:
            result = await session.execute(select(Project).order_by(Project.id).limit(limit))
            return list(result.scalars())

    async def ensure_project(self, project_id: str, **fields: Any) -> Project:
        """The project, created with ``fields`` when it does not exist (never changed if it
        does): how the embedded default gets its project."""
        existing = await self.find_project(project_id)
        if existing is not None:
            return existing
        check_project_id(project_id)
        given = check_project_fields({k: v for k, v in fields.items() if v is not None})
        now = utcnow()
        stmt = self._insert(Project).values(
            **{"name": project_id, "aws_regions": [], "tag_policy": {}, "approvers": [],
               "repo_path": "infra", **given},
            id=project_id, created_at=now, updated_at=now,
        ).on_conflict_do_nothing()
        async with self._writing() as session:
            await session.execute(stmt)
        return await self.get_project(project_id)

    async def find_project_by_channel(self, slack_channel: str) -> Project | None:
        """The project a Slack channel is bound to, if any."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Project).where(Project.slack_channel == slack_channel)
            )
            return result.scalar_one_or_none()

    # -- pull requests ----------------------------------------------------------------------
    async def record_pull_request(self, conversation_id: str, **fields: Any) -> PullRequest:
        """Create or update the pull request row of a conversation's design (idempotent)."""
        unknown = set(fields) - set(PullRequest.__table__.columns.keys())
        if unknown:
            raise ValidationError(f"unknown pull request field(s): {', '.join(sorted(unknown))}")
        now = utcnow()
        stmt = self._insert(PullRequest).values(
            conversation_id=conversation_id, **fields, created_at=now, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[PullRequest.conversation_id], set_={**fields, "updated_at": now}
        )
        async with self._writing() as session:
            await session.execute(stmt)
        found = await self.get_pull_request(conversation_id)
        assert found is not None
        return found

    async def get_pull_request(self, conversation_id: str) -> PullRequest | None:
        async with self._sessions() as session:
            return await session.get(PullRequest, conversation_id)

    async def list_pull_requests(self, project_id: str, limit: int = 100) -> list[PullRequest]:
        """A project's pull requests, the most recently updated first."""
        async with self._sessions() as session:
            result = await session.execute(
                select(PullRequest).where(PullRequest.project_id == project_id)
                .order_by(PullRequest.updated_at.desc()).limit(limit)
            )
            return list(result.scalars())

    # -- linked GitHub accounts ---------------------------------------------------------------
    async def put_github_account(
        self, principal: str, *, login: str, sealed_token: str, scopes: str = ""
    ) -> GitHubAccount:
        """Link (or link again) a principal's GitHub account; the token comes sealed."""
        now = utcnow()
        values = {"login": login, "sealed_token": sealed_token, "scopes": scopes,
                  "status": "linked"}
        stmt = self._insert(GitHubAccount).values(
            principal=principal, **values, created_at=now, updated_at=now
        ).on_conflict_do_update(
            index_elements=[GitHubAccount.principal], set_={**values, "updated_at": now}
        )
        async with self._writing() as session:
            await session.execute(stmt)
        found = await self.get_github_account(principal)
        assert found is not None
        return found

    async def get_github_account(self, principal: str) -> GitHubAccount | None:
        async with self._sessions() as session:
            return await session.get(GitHubAccount, principal)

    async def mark_github_account(self, principal: str, status: str) -> None:
        if status not in ("linked", "revoked"):
            raise ValidationError(f"GitHub account status {status!r} is not linked or revoked")
        async with self._writing() as session:
            await session.execute(
                update(GitHubAccount).where(GitHubAccount.principal == principal)
                .values(status=status, updated_at=utcnow())
            )

    async def delete_github_account(self, principal: str) -> bool:
        """Forget a linked account (its sealed token with it); False when none was linked."""
        async with self._writing() as session:
            result = await session.execute(
                delete(GitHubAccount).where(GitHubAccount.principal == principal)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- conversations --------------------------------------------------------------------
    async def ensure_conversation(
        self,
        conversation_id: str,
        source: str,
        user: str,
        project_id: str | None = None,
        title: str | None = None,
    ) -> Conversation:
        """Create the conversation if absent; fill its project and title if they were empty."""
        if project_id is not None:
            await self.get_project(project_id)  # NotFound says which project is missing
        now = utcnow()
        stmt = self._insert(Conversation).values(
            id=conversation_id,
            project_id=project_id,
            source=source,
            user=user,
            title=_title(redact(title) if title else title),
            status="open",
            created_at=now,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[Conversation.id],
            set_={
                "project_id": func.coalesce(Conversation.project_id, stmt.excluded.project_id),
                "title": func.coalesce(Conversation.title, stmt.excluded.title),
            },
        )
        async with self._writing() as session:
            await session.execute(stmt)
        return await self.get_conversation(conversation_id)

    async def update_conversation(
        self, conversation_id: str, *, status: str | None = None, title: str | None = None
    ) -> Conversation:
        """Set a conversation's status (open, waiting, closed) or title."""
        if status is not None and status not in CONVERSATION_STATUSES:
            raise ValidationError(
                f"conversation status {status!r} is not one of {', '.join(CONVERSATION_STATUSES)}"
            )
        values: dict[str, Any] = {"updated_at": utcnow()}
        if status is not None:
            values["status"] = status
        if title is not None:
            values["title"] = _title(redact(title))
        async with self._writing() as session:
            result = await session.execute(
                update(Conversation).where(Conversation.id == conversation_id).values(**values)
            )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"no conversation {conversation_id!r}")
        return await self.get_conversation(conversation_id)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        return conversation

    async def list_conversations(self, limit: int = 50) -> list[Conversation]:
        """The most recently active conversations first."""
        if not 1 <= limit <= 1000:
            raise ValidationError(f"limit must be between 1 and 1000, not {limit}")
        async with self._sessions() as session:
            result = await session.execute(
                select(Conversation)
                .order_by(Conversation.updated_at.desc(), Conversation.id)
                .limit(limit)
            )
            return list(result.scalars())

    # -- requests -------------------------------------------------------------------------
    async def record_request(self, envelope: Envelope) -> bool:
        """Record an accepted request; False when its request id or idempotency key is known.

        The conversation is created on the way (bound to the envelope's project when that
        project exists). Safe to call again for the same envelope, from any process.
        """
        now = utcnow()
        known_project = (
            select(Project.id).where(Project.id == envelope.project_id).scalar_subquery()
        )
        conversation = self._insert(Conversation).values(
            id=envelope.conversation_id,
            project_id=known_project if envelope.project_id else None,
            source=envelope.source,
            user=envelope.user,
            title=_title(redact(envelope.text) if envelope.text else None),
            status="open",
            created_at=now,
            updated_at=now,
        )
        conversation = conversation.on_conflict_do_update(
            index_elements=[Conversation.id], set_={"updated_at": now}
        )
        request = (
            self._insert(Request)
            .values(
                request_id=envelope.request_id,
                conversation_id=envelope.conversation_id,
                idempotency_key=envelope.idempotency_key,
                source=envelope.source,
                user=envelope.user,
                text=redact(envelope.text) if envelope.text else envelope.text,
                action=redact_data(envelope.action.model_dump(), labelled=True)
                if envelope.action else None,
                status="accepted",
                attempts=0,
                trace_id=_trace_id(envelope.trace),
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing()
            .returning(Request.request_id)
        )
        async with self._writing() as session:
            await session.execute(conversation)
            inserted = (await session.execute(request)).scalar_one_or_none()
        return inserted is not None

    async def mark_request(
        self,
        request_id: str,
        status: str,
        error: str | None = None,
        attempts: int | None = None,
    ) -> Request:
        """Move a request to ``status``; an error is stored redacted and shortened."""
        if status not in REQUEST_STATUSES:
            raise ValidationError(
                f"request status {status!r} is not one of {', '.join(REQUEST_STATUSES)}"
            )
        if attempts is not None and attempts < 0:
            raise ValidationError(f"attempts must be >= 0, not {attempts}")
        now = utcnow()
        values: dict[str, Any] = {
            "status": status,
            "updated_at": now,
            "finished_at": now if status in FINAL_STATUSES else None,
            "error": redact(error)[:MAX_ERROR_CHARS] if error is not None else None,
        }
        if attempts is not None:
            values["attempts"] = attempts
        async with self._writing() as session:
            result = await session.execute(
                update(Request)
                .where(Request.request_id == request_id)
                .values(**values)
                .returning(Request)
            )
            request = result.scalar_one_or_none()
        if request is None:
            raise NotFound(f"no request {request_id!r}")
        return request

    async def get_request(self, request_id: str) -> Request:
        async with self._sessions() as session:
            request = await session.get(Request, request_id)
        if request is None:
            raise NotFound(f"no request {request_id!r}")
        return request

    async def list_requests(self, conversation_id: str) -> list[Request]:
        """A conversation's requests in the order they were accepted."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Request)
                .where(Request.conversation_id == conversation_id)
                .order_by(Request.created_at, Request.request_id)
            )
            return list(result.scalars())


def _title(text: str | None) -> str | None:
    """A conversation's title: the first line of its first message, shortened."""
    if not text:
        return None
    first = text.strip().splitlines()[0] if text.strip() else ""
    return (first[:297] + "...") if len(first) > 300 else (first or None)


def _trace_id(trace: dict[str, str]) -> str | None:
    """The trace id inside a W3C ``traceparent`` (version-traceid-spanid-flags)."""
    parts = trace.get("traceparent", "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None
