"""The server-sent events wire format (what a browser's EventSource reads), and nothing else.

Both the hub (which formats each live event once for all its streams) and the per-connection
stream (:mod:`web.sse`) write these bytes; neither imports the other for them.
"""

from __future__ import annotations

import json

from core.events import Event, stream_id_key

__all__ = ["KEEPALIVE", "RECONNECT", "format_event", "stream_id_key"]

KEEPALIVE = b": keepalive\n\n"  # a comment line: proxies see traffic, EventSource ignores it
RECONNECT = "reconnect"  # the last event of a stream the server ends on purpose (no id)


def format_event(event: Event) -> bytes:
    payload = event.model_dump_json()
    lines = [f"id: {event.id}", f"event: {event.type}"]
    lines += [f"data: {line}" for line in payload.splitlines() or [""]]
    return ("\n".join(lines) + "\n\n").encode()


def retry(ms: int) -> bytes:
    """How long an EventSource waits before it reconnects after the connection ends."""
    return f"retry: {int(ms)}\n\n".encode()


def goodbye(reason: str, retry_ms: int) -> bytes:
    """The end of a stream the server closes on purpose (shutdown, an expired link): a new
    ``retry:`` then a final event without an ``id:`` (so the client's Last-Event-ID stays the
    last real event), telling it why and when it will reconnect."""
    data = json.dumps({"reason": reason, "retry_ms": int(retry_ms)})
    return retry(retry_ms) + f"event: {RECONNECT}\ndata: {data}\n\n".encode()


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
