"""The bus as every process builds it from settings (one place, so they always agree)."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from core.bus.egress import EventLog
from core.bus.ingress import Submitter
from core.bus.keys import Keys
from core.settings import Settings


@dataclass(frozen=True)
class Bus:
    keys: Keys
    submitter: Submitter
    events: EventLog


def bus_from_settings(redis: aioredis.Redis, settings: Settings) -> Bus:
    keys = Keys(settings.redis_prefix, partitions=settings.partitions)
    events = EventLog(
        redis, keys, maxlen=settings.event_maxlen, retention_s=settings.event_retention_s,
        client_ttl_s=settings.client_ttl_s,
    )
    return Bus(
        keys=keys,
        submitter=Submitter(
            redis, keys, max_text_chars=settings.max_message_chars, events=events,
            admit_total=settings.admit_total, admit_per_user=settings.admit_per_user,
        ),
        events=events,
    )
