"""The versioned envelope every ingress message carries.

An edge (Slack, web, CLI) turns its input into an :class:`Envelope`; the worker validates it
again when it reads it from the stream. A stream entry that does not validate is rejected with a
logged reason (and dead-lettered), never crashing a worker.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import MalformedEnvelope

ENVELOPE_VERSION = 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_TEXT_CHARS = 20_000  # hard ceiling; the guard applies the configured, smaller limit

Source = Literal["slack", "web", "cli", "api"]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class Action(BaseModel):
    """An answer to a question archops asked (a button, a select, a number typed in the CLI)."""

    model_config = ConfigDict(extra="forbid")

    question_id: str = Field(min_length=1, max_length=200)
    value: str = Field(max_length=2000)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1  # ENVELOPE_VERSION
    request_id: str = Field(default_factory=lambda: new_id("req"), min_length=1, max_length=200)
    # what makes a submission the same submission (a Slack event id, a client's message id)
    idempotency_key: str = Field(default_factory=lambda: new_id("idem"), min_length=1, max_length=300)
    conversation_id: str = Field(min_length=1, max_length=200)
    source: Source
    user: str = Field(min_length=1, max_length=200)
    project_id: str | None = Field(default=None, max_length=200)
    client_id: str | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    action: Action | None = None
    # answer every question with its default instead of asking
    non_interactive: bool = False
    # W3C trace context (traceparent, tracestate), injected by the submitter
    trace: dict[str, str] = Field(default_factory=dict)
    # edge-specific routing data (Slack channel and thread ts, ...)
    reply_to: dict[str, str] = Field(default_factory=dict)
    created_at: float = Field(default_factory=time.time)

    @field_validator("conversation_id", "request_id", "idempotency_key", "user")
    @classmethod
    def _no_control_chars(cls, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        return value

    @model_validator(mode="after")
    def _text_or_action(self) -> Envelope:
        if (self.text is None) == (self.action is None):
            raise ValueError("exactly one of text or action is required")
        return self

    # -- stream encoding ------------------------------------------------------------------
    # A stream entry holds the envelope as JSON in ``body`` beside the keys routing needs
    # (``conversation_id``, ``request_id``); see core.bus.scripts.SUBMIT.

    @classmethod
    def from_fields(cls, fields: dict[Any, Any]) -> Envelope:
        """Decode a stream entry; raise :class:`MalformedEnvelope` with the reason."""
        body = fields.get("body", fields.get(b"body"))
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        if body is None:
            raise MalformedEnvelope("stream entry has no 'body' field")
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            if first.get("type") == "json_invalid":
                raise MalformedEnvelope(f"body is not JSON: {first.get('msg')}") from exc
            version = _version_of(body)
            if version != ENVELOPE_VERSION:
                raise MalformedEnvelope(f"unsupported envelope version {version!r}") from exc
            where = ".".join(str(p) for p in first.get("loc", ())) or "envelope"
            raise MalformedEnvelope(f"invalid envelope: {where}: {first.get('msg')}") from exc


def _version_of(body: str) -> object:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("version") if isinstance(data, dict) else None
