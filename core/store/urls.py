"""Database URLs: one setting, three drivers.

A user writes ``postgresql://...`` (or ``postgres://``) or ``sqlite:///path``; SQLAlchemy's async
engine, Alembic's sync engine and the LangGraph savers each need their own spelling of it.
Normalising here keeps that knowledge in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from core.errors import ConfigurationError

_HINT = "set ARCHOPS_DATABASE_URL to postgresql://user:pass@host/db or sqlite:////path/file.sqlite3"


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed database URL with the spelling each consumer needs."""

    backend: str  # "sqlite" | "postgresql"
    url: URL  # the normalised URL without driver

    @property
    def async_url(self) -> URL:
        """For ``create_async_engine``: aiosqlite or psycopg 3 (async)."""
        driver = "sqlite+aiosqlite" if self.backend == "sqlite" else "postgresql+psycopg"
        return self.url.set(drivername=driver)

    @property
    def sync_url(self) -> URL:
        """For Alembic and ``archops doctor``: sqlite3 or psycopg 3 (sync)."""
        driver = "sqlite" if self.backend == "sqlite" else "postgresql+psycopg"
        return self.url.set(drivername=driver)

    @property
    def sqlite_path(self) -> Path:
        if self.backend != "sqlite" or not self.url.database:
            raise ConfigurationError("not a SQLite file URL", hint=_HINT)
        return Path(self.url.database)

    @property
    def libpq_conninfo(self) -> str:
        """For psycopg / AsyncPostgresSaver: a plain ``postgresql://`` URI, password included."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def masked(self) -> str:
        """The URL as it may be shown to a user: password hidden."""
        return self.url.render_as_string(hide_password=True)


def parse_database_url(raw: str) -> DatabaseUrl:
    """Parse and normalise a database URL; refuse what archops cannot use, saying why."""
    try:
        url = make_url(raw.strip())
    except ArgumentError as exc:
        raise ConfigurationError(f"database URL is not a URL: {exc}", hint=_HINT) from exc
    name = url.get_backend_name()
    if name in {"postgresql", "postgres"}:
        # whatever driver the URL names (psycopg2, asyncpg), archops speaks psycopg 3
        return DatabaseUrl("postgresql", url.set(drivername="postgresql"))
    if name == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigurationError(
                "an in-memory SQLite database cannot be shared by the store and the checkpointer",
                hint=_HINT,
            )
        path = Path(url.database).expanduser().resolve()
        return DatabaseUrl("sqlite", url.set(drivername="sqlite", database=str(path)))
    raise ConfigurationError(f"database backend {name!r} is not supported", hint=_HINT)
