"""Building Redis clients, and probing a server without redis-py's built-in retries.

redis-py 8 retries a refused connection for ~3 s per call, so readiness checks use a raw socket
(:func:`probe`). Clients are built with ``decode_responses=True`` (stream fields come back as
``str``, which trace context extraction needs) and the hiredis parser when it is installed.
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import SplitResult, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

RETRYABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)

try:  # hiredis packs commands in C; redis-py's asyncio connection packs them in Python
    from redis.connection import HiredisRespSerializer
    from redis.utils import HIREDIS_AVAILABLE
except ImportError:  # pragma: no cover - redis-py without the serializer
    HIREDIS_AVAILABLE = False


class _HiredisPackingConnection(aioredis.Connection):
    """An asyncio connection that packs commands with hiredis (3-4x less CPU per command)."""

    _serializer = HiredisRespSerializer() if HIREDIS_AVAILABLE else None

    def pack_command(self, *args):  # type: ignore[no-untyped-def]
        return self._serializer.pack(*args)  # type: ignore[union-attr]


def make_redis(url: str, *, retries: int = 3, max_connections: int | None = None) -> aioredis.Redis:
    """An asyncio client for ``url`` with bounded retries (no multi-second stalls)."""
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        socket_connect_timeout=2,
        health_check_interval=15,
        max_connections=max_connections,
        protocol=2,
        **({"connection_class": _HiredisPackingConnection}  # type: ignore[arg-type]
           if _use_fast_packing(url) else {}),
    )


def _use_fast_packing(url: str) -> bool:
    return HIREDIS_AVAILABLE and urlsplit(url).scheme == "redis"


def probe(url: str, timeout: float = 0.5) -> bool:
    """True when a Redis server answers PING at ``url`` within ``timeout`` seconds."""
    return ping(url, timeout) is None


def ping(url: str, timeout: float = 1.0) -> str | None:
    """None when the server answers PING, else why not (never the password)."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        return f"scheme {parts.scheme!r} is not redis://, rediss:// or unix://"
    commands: list[list[str]] = []
    if parts.password:
        user = unquote(parts.username) if parts.username else None
        commands.append(["AUTH", *([user] if user else []), unquote(parts.password)])
    commands.append(["PING"])
    try:
        with _redis_socket(parts, timeout) as sock:
            for command in commands:
                sock.sendall(_resp(command))
                reply = sock.recv(256).split(b"\r\n", 1)[0].decode("utf-8", "replace")
                if reply.startswith("-"):
                    return f"{command[0]} answered {reply[1:]}"
                if command[0] == "PING" and reply != "+PONG":
                    return f"unexpected answer to PING: {reply[:40]!r}"
    except (OSError, ssl.SSLError) as exc:
        return f"cannot connect ({exc.strerror or exc.__class__.__name__})"
    return None


def _redis_socket(parts: SplitResult, timeout: float) -> socket.socket:
    if parts.scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(parts.path)
        except OSError:
            sock.close()
            raise
        return sock
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout)
    if parts.scheme == "rediss":
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
    sock.settimeout(timeout)
    return sock


def _resp(args: list[str]) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
    return b"".join(out)
