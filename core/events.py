"""Typed events a worker emits per conversation; the web (SSE), Slack and the CLI render them.

``status``   progress of a step (node started/finished), with a short text
``token``    a piece of streamed model output
``question`` something archops must know: id, prompt, choices, default (see :class:`Question`)
``artifact`` a produced file set, diagram, plan, cost or findings
``error``    the request failed (or was refused); the text says why and what to do
``done``     the request is finished; nothing more comes for it
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal["status", "token", "question", "artifact", "error", "done"]
TERMINAL_TYPES: frozenset[str] = frozenset({"done", "error", "question"})


def stream_id_key(entry_id: str) -> tuple[int, int]:
    """Order of Redis stream ids ("1700000000000-3"), as events carry them."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str
    label: str
    # what this choice costs or implies (e.g. "≈ $33/month per NAT gateway")
    detail: str | None = None


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    prompt: str
    choices: list[Choice] = Field(default_factory=list)
    default: str | None = None
    # free text allowed besides the choices
    free_text: bool = False


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: EventType
    conversation_id: str
    request_id: str | None = None
    # the stream entry id once stored; SSE uses it as the event id
    id: str | None = None
    # position of this event within its request (dedupes redelivered work)
    seq: int = 0
    text: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    # the trace of the work that emitted it (W3C trace id, hex), to find it in Zipkin
    trace_id: str | None = None
    # the span that emitted it (hex): an edge delivering it continues that trace (tracing.following)
    span_id: str | None = None
    ts: float = Field(default_factory=time.time)

    def to_fields(self) -> dict[str, str]:
        return {"type": self.type, "body": self.model_dump_json(exclude={"id"})}

    @classmethod
    def from_fields(cls, entry_id: str, fields: dict[Any, Any]) -> Event:
        body = fields.get("body") if "body" in fields else fields.get(b"body")
        if isinstance(body, bytes):
            body = body.decode()
        if not isinstance(body, str):
            raise ValueError("an event entry without a body")
        data = json.loads(body)
        data["id"] = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        return cls.model_validate(data)
