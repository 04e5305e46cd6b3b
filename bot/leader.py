"""One egress at a time: a lease in Redis decides which bot instance writes to Slack.

Several `archops bot` instances may serve the Events API behind a load balancer (ingress is safe
to run anywhere), but two egress loops would race to post the same message. The lease holder
renews it while it works; when it dies, another instance takes over after ``ttl_ms`` and resumes
from the cursors it left in Redis.
"""

from __future__ import annotations

import time
import uuid

import redis.asyncio as aioredis

_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    """Take or renew a named lease; renewals are spaced to a third of the TTL."""

    def __init__(self, redis: aioredis.Redis, key: str, *, ttl_ms: int = 10_000) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = ttl_ms
        self.token = uuid.uuid4().hex
        self._hold = redis.register_script(_HOLD)
        self._release = redis.register_script(_RELEASE)
        self._valid_until = 0.0

    async def hold(self) -> bool:
        """True while this instance holds the lease (taking it when it is free)."""
        now = time.monotonic()
        if now < self._valid_until - self.ttl_ms / 1000 * 2 / 3:
            return True
        if int(await self._hold(keys=[self.key], args=[self.token, self.ttl_ms])):
            self._valid_until = now + self.ttl_ms / 1000
            return True
        self._valid_until = 0.0
        return False

    async def release(self) -> None:
        self._valid_until = 0.0
        await self._release(keys=[self.key], args=[self.token])
