"""Schema migrations, run by archops itself at startup.

``upgrade(url)`` brings the database to the newest revision and is safe to call from every
process at once: on SQLite the processes queue on a lock file beside the database (SQLite DDL
is not transactional in Alembic's eyes); on PostgreSQL on an advisory lock, inside the
migration's own transaction.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from core.errors import ServiceUnavailable
from core.store.models import Base
from core.store.urls import DatabaseUrl, parse_database_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# any constant 64-bit number: the key of the advisory lock every archops process takes
PG_LOCK_KEY = 0x41524348_4F505331


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database stands against the migrations this archops ships."""

    current: str | None  # None: never migrated
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def known(self) -> bool:
        """False when the database was migrated by a newer archops than this one."""
        return self.current is None or _script().get_revision(self.current) is not None


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave tables archops does not model (the checkpointer's) out of autogenerate."""
    if type_ == "table":
        return name in Base.metadata.tables
    return True


def schema_diff(url: str) -> list[object]:
    """What Alembic autogenerate would change to make the database match the models."""
    db = parse_database_url(url)
    engine = sync_engine(db)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _script().get_current_head()
    assert head is not None, "archops ships at least one migration"
    return head


def sync_engine(db: DatabaseUrl, *, connect_timeout: float = 10.0) -> Engine:
    """A short-lived sync engine for migrations and checks (WAL and FKs on for SQLite)."""
    if db.backend == "sqlite":
        db.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(db.sync_url, connect_args={"timeout": connect_timeout})
        event.listen(engine, "connect", sqlite_pragmas)
        return engine
    return create_engine(
        db.sync_url, connect_args={"connect_timeout": max(1, int(connect_timeout))}
    )


def sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """WAL lets readers and one writer work together; FKs are off by default in SQLite.

    ``synchronous=NORMAL`` is what SQLite recommends with WAL: no fsync per commit (a crash of
    archops loses nothing; a power cut may lose the last commits, which Redis still holds).
    """
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@contextmanager
def sqlite_lock(db: DatabaseUrl) -> Iterator[None]:
    lock_path = db.sqlite_path.with_name(db.sqlite_path.name + ".migrate.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def upgrade(url: str, revision: str = "head") -> SchemaStatus:
    """Migrate the database at ``url`` to ``revision`` (idempotent); return where it stands."""
    db = parse_database_url(url)
    engine = sync_engine(db)
    try:
        if db.backend == "sqlite":
            with sqlite_lock(db), engine.begin() as conn:
                _run_upgrade(conn, revision)
        else:
            with engine.begin() as conn:
                # released at commit: a second process waits here, then finds nothing to do
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
                _run_upgrade(conn, revision)
        return schema_status(url, engine=engine)
    except OperationalError as exc:
        raise ServiceUnavailable(
            f"database {db.masked()} cannot be reached: {exc.orig}",
            hint="check ARCHOPS_DATABASE_URL and that the server runs (archops doctor)",
        ) from exc
    finally:
        engine.dispose()


def _run_upgrade(conn: object, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def schema_status(url: str, *, engine: Engine | None = None) -> SchemaStatus:
    """Read the database's revision without changing anything (for ``archops doctor``)."""
    db = parse_database_url(url)
    own = engine is None
    engine = engine or sync_engine(db, connect_timeout=3)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise ServiceUnavailable(
            f"database {db.masked()} cannot be read: {getattr(exc, 'orig', exc)}",
            hint="check ARCHOPS_DATABASE_URL and that the server runs",
        ) from exc
    finally:
        if own:
            engine.dispose()
    return SchemaStatus(current=current, head=head_revision())
