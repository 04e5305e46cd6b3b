"""What one web instance's handlers share (its composition root fills it in)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from core.bus import EventLog, Submitter
from web.auth import Access
from web.hub import Hub


@dataclass
class WebContext:
    submitter: Submitter
    events: EventLog
    hub: Hub
    instance_id: str
    client_ttl_s: int = 60
    # who may see and do what (web.auth); create_app refuses to serve without it
    access: Access | None = None
    # readiness probes this Redis with a raw socket (redis-py's retries would stall the probe)
    redis_url: str | None = None
    # how long a shutdown waits for its SSE streams to say goodbye
    drain_timeout_s: float = 5.0
    # set when the instance begins to stop: readiness answers 503 from then on
    stopping: bool = False
    # projects (core.projects.Projects) and GitHub account linking (web.github_link); the web
    # service opens them on the system of record when it starts
    projects: Any = None
    github: Any = None


CTX = web.AppKey("ctx", WebContext)
