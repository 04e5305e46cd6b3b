"""One model step, asked once per request: streamed, validated, retried with its error, recorded.

:meth:`Asker.ask` runs a :class:`Step` through ``ctx.once("llm:<key>")``: the first delivery of
a request calls the model and records the accepted answer (or why it gave up) with every call's
accounting under the request; a redelivery gets the record back, re-validates the same answer
and calls nothing, so it neither pays twice nor answers differently.

Inside one step: the token budget is checked before each call; the model's text streams to the
conversation as ``token`` events; the answer is parsed against the step's pydantic model and
checked by the step's ``check`` (which raises ``ValueError`` with what is wrong); a rejected
answer goes back to the model with the error, at most ``schema_retries`` times. What still
fails, or a model that does not answer (after the client's retries), or a spent budget, gives
``None`` and the reason: the caller answers that step with the offline engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ValidationError

from agents.guard import INJECTION
from agents.llm import prompts
from agents.llm.accounting import CallRecord, Usage
from agents.llm.client import ModelClient, ModelError
from agents.llm.schemas import json_schema
from agents.llm.words import say
from agents.text import normalize
from core.context import RequestContext
from core.logging import get_logger
from core.tracing import span

log = get_logger(__name__)
FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n(.*?)```", re.DOTALL)


@dataclass
class Step:
    name: str  # the kind of step: route, extract, questions, plan, params, hcl, hcl_repair
    key: str  # unique within the request (the record's name)
    messages: list[BaseMessage]
    out: type[BaseModel] | None  # None: a plain-text answer (Terraform in a fence)
    check: Callable[[Any], Any]  # the parsed answer -> the value the engine uses


class Rejected(ValueError):
    """An answer that archops does not accept (sent back to the model with this message)."""


def parse(text: str, out: type[BaseModel] | None) -> Any:
    """The answer as its model (JSON, a fenced block tolerated), or the text of its fence."""
    fenced = FENCE.search(text)
    if out is None:
        return fenced.group(1) if fenced else text
    body = fenced.group(1) if fenced and not text.lstrip().startswith("{") else text
    return out.model_validate_json(body.strip())


def screen(value: Any, where: str = "answer") -> None:
    """Refuse free text that carries instructions aimed at archops (model output is data)."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, str):
        if INJECTION.search(value) or INJECTION.search(normalize(value)):
            raise Rejected(f"{where} contains instructions aimed at archops; answers are data, give only the values asked for")
    elif isinstance(value, dict):
        for key, item in value.items():
            screen(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            screen(item, where)


def brief(exc: Exception) -> str:
    """An error as the model is told it: pydantic's errors listed, one line each."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:8]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "answer"
            parts.append(f"{where}: {err.get('msg')}")
        return "; ".join(parts)
    return str(exc)[:600]


class Tokens:
    """Streams model text as ``token`` events, a few words at a time."""

    def __init__(self, ctx: RequestContext, step: str, every: int = 32) -> None:
        self.ctx, self.step, self.every = ctx, step, every
        self.buffer = ""

    async def __call__(self, piece: str) -> None:
        self.buffer += piece
        if len(self.buffer) >= self.every or "\n" in piece:
            await self.flush()

    async def flush(self) -> None:
        if self.buffer:
            text, self.buffer = self.buffer, ""
            await self.ctx.emit("token", text, step=self.step)


class Asker:
    def __init__(self, client: ModelClient, ctx: RequestContext, usage: Usage, *, budget: int,
                 spent: int, schema_retries: int, lang: Callable[[], str]) -> None:
        self.client = client
        self.ctx = ctx
        self.usage = usage
        self.budget = budget
        self.spent = spent  # tokens the conversation spent before this request
        self.schema_retries = schema_retries
        self.lang = lang

    def left(self, pending: int = 0) -> int:
        return self.budget - self.spent - self.usage.tokens - pending

    async def ask(self, step: Step) -> tuple[Any | None, str | None]:
        """(the checked value, None), or (None, why the offline engine answers instead)."""
        ran = False

        async def fresh() -> dict[str, Any]:
            nonlocal ran
            ran = True
            return await self._fresh(step)

        record = await self.ctx.once(f"llm:{step.key}", fresh)
        self.usage.add([CallRecord.from_dict(c) for c in record.get("calls", [])], replayed=not ran)
        if record.get("ok"):
            try:
                return step.check(parse(record["answer"], step.out)), None
            except ValueError as exc:  # a record this version no longer accepts
                record = {"ok": False, "why": f"recorded answer no longer valid: {brief(exc)}"}
        why = str(record.get("why") or "no answer")
        self.usage.fallbacks.append((step.name, why))
        log.info("model_step_fallback", step=step.name, why=why)
        key = "fallback" if step.out is not None else "fallback.part"
        await self.ctx.emit("status", say(key, self.lang(), step=step.name, why=why), node="llm", step=step.name)
        return None, why

    async def _fresh(self, step: Step) -> dict[str, Any]:
        messages = list(step.messages)
        calls: list[CallRecord] = []
        schema = json_schema(step.out) if step.out is not None else None
        error = ""
        for attempt in range(self.schema_retries + 1):
            estimate = sum(len(str(m.content)) for m in messages) // 4
            if self.left(sum(c.tokens_in + c.tokens_out for c in calls) + estimate) < 0:
                return _record(False, calls, why=say("budget", self.lang(), budget=self.budget))
            tokens = Tokens(self.ctx, step.name)
            with span("llm.call", step=step.name, attempt=attempt + 1, model=self.client.model,
                      prompt_version=prompts.PROMPT_VERSION) as current:
                try:
                    reply, made = await self.client.complete(messages, name=step.name, schema=schema, on_text=tokens)
                except ModelError as exc:
                    calls += exc.calls
                    current.set_attribute("llm.error", exc.kind)
                    return _record(False, calls, why=f"{exc.kind}: {exc}"[:300])
                finally:
                    await tokens.flush()
                calls += made
                current.set_attributes({"llm.tokens_in": reply.tokens_in, "llm.tokens_out": reply.tokens_out,
                                        "llm.latency_ms": round(reply.latency_ms, 1), "llm.calls": len(made)})
            try:
                step.check(parse(reply.text, step.out))
            except ValueError as exc:
                error = brief(exc)
                log.info("model_answer_rejected", step=step.name, attempt=attempt + 1, error=error)
                messages = [*messages, prompts.rejected(reply.text, error, schema=step.out is not None)]
                continue
            return _record(True, calls, answer=reply.text)
        return _record(False, calls, why=f"answers broke their schema {self.schema_retries + 1} times: {error}"[:300])


def _record(ok: bool, calls: list[CallRecord], **fields: Any) -> dict[str, Any]:
    out = {"ok": ok, "calls": [c.to_dict() for c in calls], **fields}
    json.dumps(out)  # what once records must be JSON
    return out
