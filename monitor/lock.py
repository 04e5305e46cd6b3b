"""One collection per project at a time, across every monitor instance: a Redis lock with fencing.

``acquire`` sets ``{prefix}:monitor:lock:{project}`` (NX, with a TTL) and hands out the next
value of ``{prefix}:monitor:fence:{project}``, a counter that only grows: the fencing token. A
holder renews its lock while it works. A holder that stalls past the TTL (a long pause, a lost
network) may find that another instance took the lock with a larger token; the system of record
refuses every write that carries a token smaller than the largest one it has seen
(:meth:`core.store.metrics_store.MetricsStore.write`), so the stalled holder can write nothing,
even when it does not know yet that it lost the lock.
"""

from __future__ import annotations

import redis.asyncio as aioredis

_ACQUIRE = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
local token = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return token
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class ProjectLock:
    def __init__(self, redis: aioredis.Redis, prefix: str = "archops", ttl_ms: int = 120_000) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_ms = ttl_ms
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def key(self, project_id: str) -> str:
        return f"{self.prefix}:monitor:lock:{project_id}"

    def fence_key(self, project_id: str) -> str:
        return f"{self.prefix}:monitor:fence:{project_id}"

    async def acquire(self, project_id: str, owner: str) -> int | None:
        """The fencing token when the lock was free, None when someone holds it."""
        token = int(await self._acquire(keys=[self.key(project_id), self.fence_key(project_id)],
                                        args=[owner, self.ttl_ms]))
        return token or None

    async def renew(self, project_id: str, owner: str, token: int) -> bool:
        """Extend the lock; False when it is no longer ours (expired, or taken over)."""
        return bool(await self._renew(keys=[self.key(project_id)],
                                      args=[f"{owner}|{token}", self.ttl_ms]))

    async def release(self, project_id: str, owner: str, token: int) -> bool:
        return bool(await self._release(keys=[self.key(project_id)], args=[f"{owner}|{token}"]))

    async def holder(self, project_id: str) -> str | None:
        value = await self.redis.get(self.key(project_id))
        return value.decode() if isinstance(value, bytes) else value
