"""A minimal EventSource for tests: reads SSE blocks as a browser does."""

from __future__ import annotations

import asyncio

from aiohttp import ClientSession

from web.sse import parse_sse


async def read_sse(session: ClientSession, url: str, n: int, headers: dict | None = None,
                   timeout: float = 5.0) -> list[tuple[str, str, dict]]:
    """Read ``n`` events from an SSE endpoint the way a browser's EventSource does."""
    out: list[tuple[str, str, dict]] = []
    async with asyncio.timeout(timeout), session.get(url, headers=headers or {}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        buffer = ""
        async for chunk in response.content.iter_any():
            buffer += chunk.decode()
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                entry_id, kind, data = parse_sse(block)
                if kind:
                    out.append((entry_id, kind, data))
                    if len(out) == n:
                        return out
    return out
