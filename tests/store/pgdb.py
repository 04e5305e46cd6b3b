"""A real PostgreSQL for tests: one uniquely named database per use, dropped afterwards.

Uses the server at 127.0.0.1:5432 (trust auth, user postgres) or ARCHOPS_TEST_POSTGRES_URL, and
skips, saying why, only when nothing answers there.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

SERVER_URL = os.environ.get(
    "ARCHOPS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_answers() -> bool:
    url = make_url(SERVER_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it afterwards."""
    if not _postgres_answers():
        pytest.skip(
            f"no PostgreSQL answers at {make_url(SERVER_URL).host}:{make_url(SERVER_URL).port or 5432}"
        )
    name = f"archops_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(SERVER_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
