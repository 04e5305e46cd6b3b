"""A worker process that dies (SIGKILL, no cleanup) in the middle of delivering a design.

    python -m tests.codehost.deliver_process REDIS_URL PREFIX CONVERSATION REQUEST VERSION
        HOST CRASH_AT           (HOST: github:API_URL:TOKEN:owner/name | local:PATH)

It delivers through the worker's own request context (the effect recorded in Redis under the
request, fenced by the lease the test holds) and kills itself at ``CRASH_AT``:
``before_pull`` (the commit and the branch exist, the pull request does not) or ``after_pull``
(GitHub opened the pull request, but the answer never reached archops' record).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from core.bus import EventLog, Keys, scripts
from core.bus.autopipe import autopipe
from core.bus.context import DeliveryContext
from core.codehost.effect import deliver_once
from core.codehost.github import host_for
from core.codehost.local import LocalHost
from core.redis_client import make_redis
from tests.codehost.conftest import LEASE_TOKEN, envelope
from tests.codehost.designs import change


def make_host(spec: str, crash_at: str):  # type: ignore[no-untyped-def]
    kind, _, rest = spec.partition(":")
    if kind == "github":
        api, token, repo = rest.rsplit(":", 2)
        host = host_for(repo, token=token, api_url=api, write_interval_s=0)
    else:
        host = LocalHost(rest, "shop")
    real = host.open_pull

    def open_pull(*args, **kwargs):  # type: ignore[no-untyped-def]
        if crash_at == "before_pull":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    host.open_pull = open_pull  # type: ignore[method-assign]
    return host


async def main(redis_url: str, prefix: str, conversation: str, request: str, version: str,
               spec: str, crash_at: str) -> None:
    redis = make_redis(redis_url)
    keys = Keys(prefix, partitions=1)
    ctx = DeliveryContext(envelope(conversation, request), 1, redis=redis, keys=keys,
                          events=EventLog(redis, keys), lease=(keys.lease(0), LEASE_TOKEN),
                          record=autopipe(redis).script(scripts.RECORD))
    host = make_host(spec, crash_at)
    await deliver_once(ctx, lambda: host, change(conversation, request, int(version)))
    print("delivered without crashing", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:8]))
