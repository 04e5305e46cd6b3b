"""The monitor's notices (alerts, weekly digests) posted in their project's Slack channel.

The monitor publishes them to one Redis stream (:mod:`core.notify`); the Slack edge is one
consumer group of it. Every process that writes to Slack consumes (the group gives each notice
to one of them, and one that failed is claimed again), posting with its Web API client.
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.logging import get_logger
from core.notify import NoticeConsumer, slack_sender

log = get_logger("archops.bot.notices")


async def run_notices(redis: Any, prefix: str, client: Any, consumer: str, stop: asyncio.Event
                      ) -> None:
    """Post notices until ``stop`` is set."""
    consumer_loop = NoticeConsumer(redis, prefix, slack_sender(client), consumer=consumer)
    await consumer_loop.run(stop)
