"""Server-sent events over aiohttp: the wire format and the per-connection stream."""

from __future__ import annotations

import json

from aiohttp import web

from core.events import Event


def stream_id_key(entry_id: str) -> tuple[int, int]:
    """Order of Redis stream ids ("1700000000000-3")."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def format_event(event: Event) -> bytes:
    payload = event.model_dump_json()
    lines = [f"id: {event.id}", f"event: {event.type}"]
    lines += [f"data: {line}" for line in payload.splitlines() or [""]]
    return ("\n".join(lines) + "\n\n").encode()


def parse_sse(block: str) -> tuple[str | None, str | None, dict[str, object] | None]:
    """Parse one SSE block into (id, event, data): what a client does."""
    entry_id = kind = None
    data_lines: list[str] = []
    for line in block.splitlines():
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            entry_id = value
        elif name == "event":
            kind = value
        elif name == "data":
            data_lines.append(value)
    data = json.loads("\n".join(data_lines)) if data_lines else None
    return entry_id, kind, data


async def open_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    await response.write(b"retry: 1000\n\n")
    return response
