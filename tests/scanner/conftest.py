"""moto's server (the real AWS wire protocol on loopback) in a process of its own, seeded once per
session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws_server import aws_account, moto_process
from tests.scanner.seed import seed


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with aws_account() as url:
        yield url


@pytest.fixture(scope="session")
def account(moto_url: str) -> dict[str, Any]:
    return seed(moto_url)


@pytest.fixture(scope="session")
def plan_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache folder of the suite's own for the offline plan: the derived schemas are linked
    from the shared cache, the provider executables (which name the code they run) are ours."""
    from core.terraform.paths import SETUP_HINT, cache_dir

    shared = cache_dir()
    if not (shared / "plugin" / "plugin-schema-aws.pb").is_file():
        pytest.fail(f"the provider plugin schemas are missing: {SETUP_HINT}")
    own = tmp_path_factory.mktemp("archops-cache")
    (own / "plugin").mkdir()
    for entry in shared.iterdir():  # checkov's venv, the derived schema, the wheels: shared
        if entry.name != "plugin":
            (own / entry.name).symlink_to(entry)
    for f in (shared / "plugin").iterdir():
        if f.name.startswith("plugin-") and f.is_file():
            (own / "plugin" / f.name).symlink_to(f)
    patch = pytest.MonkeyPatch()
    patch.setenv("ARCHOPS_CACHE_DIR", str(own))
    yield own
    patch.undo()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own data folder and SQLite system of record (the CLI records scans there)."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("ARCHOPS_DATA_DIR", str(folder))
    monkeypatch.delenv("ARCHOPS_DATABASE_URL", raising=False)
    return folder


@pytest.fixture
def database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'archops.sqlite3'}"


@pytest.fixture
async def store(database_url: str) -> Any:
    from core.store.store import Store

    opened = await Store.open(database_url)
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def own_account(moto_url: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """An account that tagging tests change, seeded once. Each test tags with keys of its own,
    so none sees another's changes."""
    with moto_process() as url:
        yield url, seed(url)
