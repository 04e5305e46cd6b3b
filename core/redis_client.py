"""Building Redis clients, and probing a server without redis-py's built-in retries.

redis-py 8 retries a refused connection for ~3 s per call, so readiness checks use a raw socket
(:func:`probe`). Clients are built with ``decode_responses=True`` (stream fields come back as
``str``, which trace context extraction needs) and the hiredis parser when it is installed.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

RETRYABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


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
    )


def probe(url: str, timeout: float = 0.5) -> bool:
    """True when a Redis server answers PING at ``url`` within ``timeout`` seconds."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            if parts.password:
                user = parts.username or "default"
                cmd = f"AUTH {user} {parts.password}\r\n"
                sock.sendall(cmd.encode())
                if not sock.recv(64).startswith(b"+OK"):
                    return False
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False
