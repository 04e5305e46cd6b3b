"""A local Zipkin collector: POST /api/v2/spans with a JSON list of spans, answered 202.

It refuses what the real collector refuses (400 on a body that is not a JSON list of spans
with traceId, id and name) and records every span it accepted.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

_HEX = re.compile(r"^[0-9a-f]{16}([0-9a-f]{16})?$")


class ZipkinStandIn:
    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.posts = 0
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v2/spans"

    async def start(self) -> ZipkinStandIn:
        app = web.Application()
        app.router.add_post("/api/v2/spans", self._spans)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _spans(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="Malformed reading List<Span> from json")
        if not isinstance(body, list) or not all(_valid(s) for s in body):
            return web.Response(status=400, text="Malformed reading List<Span> from json")
        async with self._arrived:
            self.posts += 1
            self.spans.extend(body)
            self._arrived.notify_all()
        return web.Response(status=202)

    async def wait_for(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.spans) >= count), within)
        return list(self.spans)


def _valid(span: Any) -> bool:
    return (
        isinstance(span, dict)
        and bool(_HEX.match(str(span.get("traceId", ""))))
        and bool(_HEX.match(str(span.get("id", ""))))
        and ("parentId" not in span or bool(_HEX.match(str(span["parentId"]))))
    )
