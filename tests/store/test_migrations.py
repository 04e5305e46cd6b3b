"""Migrations: at head after startup, idempotent, safe with concurrent starts, match the models."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from core.errors import ConfigurationError, ServiceUnavailable
from core.store import parse_database_url, schema_diff, schema_status, upgrade
from core.store.migrate import head_revision
from tests.store.pgdb import fresh_postgres_database

_UPGRADE = "import sys; from core.store import upgrade; print(upgrade(sys.argv[1]).current)"


def _start_together(url: str, n: int) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _UPGRADE, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    return [subprocess.CompletedProcess(p.args, p.wait(60), *p.communicate()) for p in procs]


def test_the_migration_history_matches_the_models(db_url: str) -> None:
    upgrade(db_url)
    assert schema_diff(db_url) == []


def test_a_fresh_database_is_not_migrated_until_upgrade(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    assert schema_status(url).current is None
    status = upgrade(url)
    assert status.at_head and status.current == head_revision()
    assert upgrade(url).at_head  # a second start changes nothing


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    path = tmp_path / "wal.sqlite3"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_three_processes_starting_at_once_on_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'race.sqlite3'}"
    results = _start_together(url, 3)
    assert [r.returncode for r in results] == [0] * 3, [r.stderr[-500:] for r in results]
    assert {r.stdout.strip() for r in results} == {head_revision()}
    assert schema_diff(url) == []


def test_three_processes_starting_at_once_on_postgresql() -> None:
    with fresh_postgres_database() as url:
        results = _start_together(url, 3)
        assert [r.returncode for r in results] == [0] * 3, [r.stderr[-500:] for r in results]
        assert schema_diff(url) == []


@pytest.mark.parametrize(
    ("raw", "async_url"),
    [
        ("postgresql://u:pw@db:5432/archops", "postgresql+psycopg://u:pw@db:5432/archops"),
        ("postgres://u@db/archops", "postgresql+psycopg://u@db/archops"),
        ("postgresql+asyncpg://u@db/archops", "postgresql+psycopg://u@db/archops"),
        ("sqlite:////var/lib/archops/a.sqlite3", "sqlite+aiosqlite:////var/lib/archops/a.sqlite3"),
    ],
)
def test_database_urls_are_normalised(raw: str, async_url: str) -> None:
    db = parse_database_url(raw)
    assert db.async_url.render_as_string(hide_password=False) == async_url
    assert "pw" not in db.masked()


@pytest.mark.parametrize("raw", ["mysql://u@h/db", "sqlite://", "sqlite:///:memory:", "not a url"])
def test_unusable_database_urls_are_refused(raw: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_database_url(raw)


def test_an_unreachable_postgresql_is_reported_as_unavailable() -> None:
    with pytest.raises(ServiceUnavailable, match="cannot be reached") as info:
        upgrade("postgresql://archops:hunter2@127.0.0.1:1/archops")
    assert "hunter2" not in str(info.value)
