"""The data folder is private to the user who runs archops: folders 0700, files 0600.

It holds the SQLite database (conversations, checkpoints), the embedded Redis' AOF, ``up.json``,
the Redis password and the link-signing key. :func:`make_private` is called by every process
that writes there (``archops up``, ``worker``, ``web``, ``bot``) before anything is written: it
creates the folder 0700, and tightens a folder made earlier with looser modes and everything
already in it. Those processes also run with umask 077, so what they (and the redis-server they
start) create afterwards is private from the start. Symbolic links are neither followed nor
changed; entries owned by someone else are left alone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


def _tighten(path: Path, mode: int) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
        return
    if stat.S_IMODE(info.st_mode) & ~mode:
        with contextlib.suppress(PermissionError):
            path.chmod(stat.S_IMODE(info.st_mode) & mode)


def make_private(folder: Path) -> Path:
    """Create ``folder`` (0700) or make an existing one and its contents private."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _tighten(folder, DIR_MODE)
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs:
            _tighten(Path(root, name), DIR_MODE)
        for name in files:
            _tighten(Path(root, name), FILE_MODE)
    return folder


def private_files(*paths: Path) -> None:
    """Make these files (that exist) readable by their owner only."""
    for path in paths:
        _tighten(Path(path), FILE_MODE)


def private_umask() -> int:
    """From now on, this process creates files 0600 and folders 0700; returns the old umask."""
    return os.umask(UMASK)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600 from the first byte."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def secret_file(path: Path, nbytes: int = 32) -> str:
    """The secret kept in ``path`` (0600), created on first use: a URL-safe random string."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        private_files(path)
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
        path.unlink()
        return secret_file(path, nbytes)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(nbytes))
    return secret_file(path, nbytes)
