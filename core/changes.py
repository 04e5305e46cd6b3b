"""An insight's recommended change, submitted as a chat request of the project's conversation.

The same door every edge uses (:class:`~core.bus.Submitter`): the worker reads the envelope,
the agent designs the change on the project's module and delivers it as a pull request. Asking
twice for the same insight's change is one request (the idempotency key is the insight's), so a
double click, a retried command or two people acting at once start the work once.

The conversation is the project's (where its design lives: the latest one bound to the
project); the project rides in the envelope, so the worker binds a new conversation to it.
"""

from __future__ import annotations

from typing import Any

from core.bus.ingress import SubmitResult, Submitter
from core.envelope import Envelope, Source
from core.errors import Forbidden, ValidationError
from core.store.metrics_store import MetricsStore


def change_text(insight: Any) -> str:
    """What the agent is asked: the change alone, then which insight it comes from.

    The evidence and the money stay on the insight (its page, `archops monitor insights`): read
    by the offline engine, "saves $70 a month" is a wish to spend less (a single NAT, a single
    zone), which is not what the change is about.
    """
    if not insight.change_request:
        raise ValidationError(f"insight {insight.id} recommends nothing archops can change in Terraform",
                              hint="its recommendation says what to look at")
    change = insight.change_request[0].upper() + insight.change_request[1:]
    return f"{change} (archops monitor insight {insight.id})."


def change_envelope(insight: Any, conversation_id: str, *, user: str, source: Source) -> Envelope:
    return Envelope(
        conversation_id=conversation_id, source=source, user=user, project_id=insight.project_id,
        text=change_text(insight), idempotency_key=f"insight:{insight.id}",
    )


async def request_change(metrics: MetricsStore, submitter: Submitter, insight_id: str, *, user: str,
                         source: Source, project_id: str | None = None,
                         conversation_id: str | None = None) -> tuple[SubmitResult, str]:
    """Submit the insight's change; (the submission, the conversation it went to)."""
    insight = await metrics.get_insight(insight_id, project_id)
    if insight.status == "resolved":
        raise ValidationError(f"insight {insight_id} is resolved: what it found is gone")
    conversation = conversation_id or insight.conversation_id or await metrics.project_conversation(
        insight.project_id)
    edge = conversation.split(":", 1)[0] if ":" in conversation else None
    if edge is not None and edge != source:
        # a Slack thread's requests are answered in Slack, by requests that came from Slack
        raise Forbidden(f"the project's conversation {conversation} belongs to the {edge} edge",
                        hint=f"act on the insight from {edge}, where the design is discussed")
    result = await submitter.submit(change_envelope(insight, conversation, user=user, source=source))
    await metrics.mark_acted(insight.id, result.request_id, conversation)
    return result, conversation
