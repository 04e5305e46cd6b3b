"""The data folder is the user's only, and the embedded Redis wants the password kept there."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from cli import runtime
from core.datadir import make_private, secret_file, write_private
from core.errors import ServiceUnavailable
from core.redis_client import ping, probe
from core.redis_server import PASSWORD_FILE, EmbeddedRedis, without_password
from core.settings import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes_below(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): mode(p) for p in folder.rglob("*") if not p.is_symlink()}


def test_an_existing_loose_folder_and_its_files_become_private(tmp_path):
    data = tmp_path / "data"
    (data / "redis" / "appendonlydir").mkdir(parents=True)
    for name in ("archops.sqlite3", "up.json", "redis/appendonlydir/a.aof"):
        (data / name).write_text("x")
        (data / name).chmod(0o644)
    for folder in (data, data / "redis", data / "redis" / "appendonlydir"):
        folder.chmod(0o755)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours to change")
    outside.chmod(0o644)
    (data / "link").symlink_to(outside)

    make_private(data)
    assert mode(data) == 0o700
    found = modes_below(data)
    assert found == {"redis": 0o700, "redis/appendonlydir": 0o700, "archops.sqlite3": 0o600,
                     "up.json": 0o600, "redis/appendonlydir/a.aof": 0o600}
    assert mode(outside) == 0o644  # a symlink is not followed


def test_private_files_are_private_from_the_first_byte(tmp_path):
    write_private(tmp_path / "up.json", "{}")
    first = secret_file(tmp_path / "key")
    assert secret_file(tmp_path / "key") == first and len(first) >= 40
    assert mode(tmp_path / "up.json") == mode(tmp_path / "key") == 0o600


def test_the_embedded_redis_requires_its_password_and_never_shows_it(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", password="pw-" + "x" * 40).start()
    try:
        assert "pw-" not in server.url and probe(server.auth_url)
        assert "NOAUTH" in (ping(server.url) or "")  # no password: refused
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
        assert b"pw-" not in cmdline  # `ps` shows no password: it went in on stdin
        assert mode(tmp_path / "redis") == 0o700
    finally:
        server.stop()
    files = modes_below(tmp_path / "redis")
    assert files and all(m in (0o600, 0o700) for m in files.values()), files  # AOF, log


def test_up_makes_a_password_once_and_other_processes_find_it(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "umask", lambda _mask: 0o022)  # the test process keeps its umask
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    settings = Settings(data_dir=data, redis_url=None)
    url, server = runtime.redis_for(settings, embed=True)
    assert server is not None
    try:
        password = (data / PASSWORD_FILE).read_text().strip()
        assert password in url and password not in server.url
        assert mode(data) == 0o700 and mode(data / PASSWORD_FILE) == 0o600
        # what `up` writes for the others: the Redis URL without its password
        write_private(data / "up.json", json.dumps({"url": "http://x", "redis": without_password(url)}))
        assert password not in (data / "up.json").read_text()
        found, none = runtime.redis_for(Settings(data_dir=data, redis_url=None), embed=False)
        assert none is None and found == url
        typed = Settings(data_dir=data, redis_url=server.url)  # the printed URL works too
        assert runtime.redis_for(typed, embed=False)[0] == url
    finally:
        server.stop()
    again, server2 = runtime.redis_for(Settings(data_dir=data, redis_url=None), embed=True)
    server2.stop()
    assert password in again  # the same password on the next `up`


def test_without_a_password_file_a_passwordless_url_is_refused(tmp_path, redis_server):
    other = EmbeddedRedis(tmp_path / "r", password="secret-" + "y" * 30).start()
    try:
        settings = Settings(data_dir=tmp_path / "elsewhere", redis_url=other.url)
        with pytest.raises(ServiceUnavailable, match="NOAUTH"):
            runtime.redis_for(settings, embed=False)
    finally:
        other.stop()
