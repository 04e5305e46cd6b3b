"""A request's model session: what the agent handler opens around one run of the graph.

For the model engine it binds the engine to the request (answers recorded under it), reads from
the conversation's state what the model may see (the user's earlier messages, the design's
parts) and what the conversation already spent, meters the request (its last event carries
``data["llm"]``, its trace span the ``llm.*`` attributes, :func:`request_usage` returns it while
the graph runs) and, when done, adds what it spent to the conversation's ``llm_spent``.
For the offline engine it changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

from agents.llm.accounting import Usage, reset_request_usage, set_request_usage
from core.context import RequestContext
from core.events import TERMINAL_TYPES

SAID_MESSAGES = 6
SAID_CHARS = 2000


class MeteredContext:
    """The request's context; its terminal event (done, error, question) carries the usage."""

    def __init__(self, inner: RequestContext, usage: Usage) -> None:
        self._inner = inner
        self.usage = usage
        self.envelope = inner.envelope
        self.attempt = inner.attempt

    async def emit(self, type: Any, text: str | None = None, **data: Any) -> None:
        if type in TERMINAL_TYPES and (self.usage.calls or self.usage.fallbacks):
            data = {**data, "llm": self.usage.summary()}
        await self._inner.emit(type, text, **data)

    async def once(self, name: str, fn: Callable[[], Awaitable[Any]], **kw: Any) -> Any:
        return await self._inner.once(name, fn, **kw)  # type: ignore[call-arg]

    async def notice(self, key: str, text: str, **data: Any) -> None:
        await self._inner.notice(key, text, **data)


@dataclass
class Session:
    engine: Any
    ctx: Any
    usage: Usage | None = None
    spent: int = 0
    _token: Any = None

    async def close(self, graph: Any, conversation_id: str, *, keep: bool = True) -> None:
        """Put the usage on the request's span and, when ``keep``, add the tokens to what the
        conversation spent."""
        if self.usage is None:
            return
        reset_request_usage(self._token)
        trace.get_current_span().set_attributes(self.usage.attributes())
        if keep and self.usage.tokens:
            await graph.aupdate_state({"configurable": {"thread_id": conversation_id}},
                                      {"llm_spent": self.spent + self.usage.tokens}, as_node="terraform_fixer")


async def open_session(engine: Any, ctx: RequestContext, *, graph: Any, conversation_id: str, base: str | None,
                       text: str | None, review_checks: set[str] | None,
                       offload: Callable[..., Awaitable[Any]]) -> Session:
    bind = getattr(engine, "bind", None)
    if bind is None:
        return Session(engine, ctx)
    values: dict[str, Any] = {}
    if base:
        snapshot = await graph.aget_state({"configurable": {"thread_id": conversation_id, "checkpoint_id": base}})
        values = dict(snapshot.values or {})
    said = [str(m.get("text") or "")[:SAID_CHARS] for m in values.get("messages") or [] if m.get("role") == "user"]
    said = [s for s in said if s and not s.startswith("answered ")][-SAID_MESSAGES:]
    if text:
        said.append(text[:SAID_CHARS])
    design = [str(i.get("title")) for i in (values.get("resource_plan") or {}).get("items", [])]
    spent = int(values.get("llm_spent") or 0)
    bound = bind(ctx, said=said, design=design, spent=spent, review_checks=review_checks, offload=offload)
    usage: Usage = bound.usage
    token = set_request_usage(usage)
    return Session(bound, MeteredContext(ctx, usage), usage, spent, token)
