"""Alembic environment for archops' system of record.

archops runs migrations itself (``core.store.migrate.upgrade``), handing this script an open
connection in ``config.attributes["connection"]``. Only archops' own tables are compared and
migrated: the LangGraph savers keep their tables in the same database and manage them.
"""

from __future__ import annotations

from alembic import context

from core.store.migrate import include_name
from core.store.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("archops migrations run through core.store.migrate.upgrade()")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite needs batches
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("archops does not render offline SQL scripts")
run_migrations_online()
