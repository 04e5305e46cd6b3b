"""Databases for the store tests: a SQLite file in tmp_path and a real PostgreSQL.

The PostgreSQL variant gets one uniquely named database for the test session (see pgdb.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.store.pgdb import fresh_postgres_database


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Each test runs once per backend; on PostgreSQL it shares the session's database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archops.sqlite3'}"
    return request.getfixturevalue("postgres_url")
