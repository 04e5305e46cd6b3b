"""The LangGraph checkpointer, in the same database as the system of record.

Conversation state (thread id = conversation id) must outlive the worker that wrote it, so
every worker opens the official saver on the shared database: ``AsyncSqliteSaver`` on the
store's SQLite file, ``AsyncPostgresSaver`` on a connection pool otherwise. The savers own
their tables; the store's migrations leave them alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg import AsyncConnection, OperationalError
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from core.errors import ServiceUnavailable
from core.store.migrate import PG_LOCK_KEY, sqlite_lock
from core.store.urls import DatabaseUrl, parse_database_url


@asynccontextmanager
async def open_checkpointer(url: str, *, pool_size: int = 10) -> AsyncIterator[BaseCheckpointSaver]:
    """Yield a ready saver (tables set up) for ``url``; close it on exit."""
    db = parse_database_url(url)
    if db.backend == "sqlite":
        async with _sqlite_saver(db) as saver:
            yield saver
    else:
        async with _postgres_saver(db, pool_size) as saver:
            yield saver


@asynccontextmanager
async def _sqlite_saver(db: DatabaseUrl) -> AsyncIterator[AsyncSqliteSaver]:
    db.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(db.sqlite_path), timeout=30) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA busy_timeout=30000")
        saver = AsyncSqliteSaver(conn)
        with sqlite_lock(db):
            await saver.setup()
        yield saver


@asynccontextmanager
async def _postgres_saver(db: DatabaseUrl, pool_size: int) -> AsyncIterator[AsyncPostgresSaver]:
    conninfo = db.libpq_conninfo
    unreachable = ServiceUnavailable(
        f"checkpoint database {db.masked()} cannot be reached",
        hint="check ARCHOPS_DATABASE_URL (archops doctor)",
    )
    try:  # one plain connection first: a refused connection fails here at once
        lock_conn = await AsyncConnection.connect(conninfo, autocommit=True, connect_timeout=10)
    except OperationalError as exc:
        raise unreachable from exc
    pool = AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=pool_size,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    async with lock_conn:
        try:
            await pool.open(wait=True, timeout=10)
            saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]  # rows are dicts (kwargs)
            # setup() is not safe when two workers start at once: queue on the store's lock
            await lock_conn.execute("SELECT pg_advisory_lock(%s)", (PG_LOCK_KEY,))
            await saver.setup()
            await lock_conn.execute("SELECT pg_advisory_unlock(%s)", (PG_LOCK_KEY,))
        except (OperationalError, PoolTimeout) as exc:
            await pool.close()
            raise unreachable from exc
    try:
        yield saver
    finally:
        await pool.close()
