"""The worker's entry point: runs or resumes the graph for one request of a conversation.

Thread id = conversation id, so any worker continues any conversation. A redelivered request
replays from the checkpoint recorded (once) before its first delivery, so it emits the same
event sequence, which the worker deduplicates by position.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agents.engine import Engine, engine_from_settings
from agents.graph import build_graph
from agents.llm.session import open_session
from agents.state import RunContext
from core.context import RequestContext
from core.errors import ArchopsError, LeaseLost
from core.logging import bind_ids, get_logger
from core.offload import in_thread
from core.redaction import redact_envelope

log = get_logger(__name__)


class AgentHandler:
    """``await handler(ctx)`` handles one request: a message, an answer, or a follow-up."""

    def __init__(
        self,
        checkpointer: Any,
        settings: Any,
        engine: Engine | None = None,
        *,
        review_checks: set[str] | None = None,
        offload: Callable[..., Awaitable[Any]] | None = None,
        checkov: Callable[[dict[str, str]], Awaitable[list[dict[str, Any]]]] | None = None,
        delivery: Any = None,
    ) -> None:
        self.settings = settings
        # opens the design's pull request when it is finished (agents.delivery.Deliverer)
        self.delivery = delivery
        # where CPU-bound work runs (the worker's process pool); None: a thread
        self.offload = offload or in_thread
        # checkov batched across concurrent requests (the worker's); None: inside the review
        self.checkov = checkov
        # which review checks the fixer runs (None: all of them, checkov included)
        self.review_checks = review_checks
        self.engine = engine or engine_from_settings(settings)
        self.graph = build_graph(checkpointer)

    async def _head(self, conversation_id: str) -> str | None:
        """The conversation's latest checkpoint; a new conversation gets an empty one first."""
        config = {"configurable": {"thread_id": conversation_id}}
        snapshot = await self.graph.aget_state(config)
        head = (snapshot.config or {}).get("configurable", {}).get("checkpoint_id")
        if head is None:
            written = await self.graph.aupdate_state(config, {"design_version": 0}, as_node="terraform_fixer")
            head = written["configurable"]["checkpoint_id"]
        return head

    async def __call__(self, ctx: RequestContext, *, answers: dict[str, str] | None = None) -> None:
        """Handle one delivery; ``answers`` (question id -> value) apply with a text message."""
        env, _removed = redact_envelope(ctx.envelope)  # the Submitter did; checkpoints too
        with bind_ids(request_id=env.request_id, conversation_id=env.conversation_id):
            base = await ctx.once("agents.base_checkpoint", lambda: self._head(env.conversation_id))
            configurable: dict[str, Any] = {"thread_id": env.conversation_id}
            if base:
                configurable["checkpoint_id"] = base
            request: dict[str, Any] = {
                "request_id": env.request_id,
                "text": env.text,
                "action": env.action.model_dump() if env.action else None,
                "non_interactive": env.non_interactive,
                "answers": dict(answers or {}),
            }
            state_in: dict[str, Any] = {
                "request": request,
                "config": {
                    "ticket": env.request_id,
                    "project_id": env.project_id,
                    "chat_id": env.reply_to.get("channel") or env.conversation_id,
                    "chat_message_id": env.reply_to.get("ts") or env.idempotency_key,
                    "account_id": None,
                },
                "trace": _trace(env.trace),
                "messages": [{"role": "user", "text": _said(env)}],
            }
            # the model engine bound to this request (its answers recorded under it); offline: as is
            session = await open_session(
                self.engine, ctx, graph=self.graph, conversation_id=env.conversation_id, base=base,
                text=env.text, review_checks=self.review_checks, offload=self.offload,
            )
            ctx = session.ctx
            context = RunContext(
                ctx=ctx,
                engine=session.engine,
                max_chars=getattr(self.settings, "max_message_chars", 8000),
                default_region=getattr(self.settings, "aws_region", "us-east-1"),
                review_checks=self.review_checks,
                offload=self.offload,
                checkov=self.checkov,
                delivery=self.delivery,
            )
            finished = False
            try:
                await self.graph.ainvoke(state_in, {"configurable": configurable}, context=context)
                finished = True
            except LeaseLost:
                raise  # not the request's failure: the worker runs it again (or its next owner)
            except ArchopsError as exc:
                log.info("request_failed", error=str(exc))
                await ctx.emit("error", exc.message, hint=exc.hint)
                finished = True
            finally:
                # what the model cost is kept only by a delivery that finished (a failed one is
                # delivered again, and replays its recorded answers)
                await session.close(self.graph, env.conversation_id, keep=finished)


def _said(env: Any) -> str:
    """What the user said, for the conversation's message history."""
    if env.action is not None:
        return f"answered {env.action.question_id} = {env.action.value}"
    return env.text or ""


def _trace(carrier: dict[str, str]) -> dict[str, Any]:
    """trace_id/span_id/sampled from a W3C ``traceparent``, when the edge sent one."""
    parts = (carrier.get("traceparent") or "").split("-")
    if len(parts) == 4:
        return {"trace_id": parts[1], "span_id": parts[2], "sampled": int(parts[3], 16) & 1 == 1}
    return {"trace_id": None, "span_id": None, "sampled": False}
