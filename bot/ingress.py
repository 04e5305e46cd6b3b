"""Slack -> the ingress bus: mentions, direct messages, thread replies, answers, /archops.

Each listener submits before Slack gets its 200 (the app runs with ``process_before_response``),
so an acknowledged event is on the bus; submitting takes about a millisecond and is bounded by
``submit_timeout_s`` so that Slack's 3-second limit always holds. Replies that the edge sends on
its own (bad input, Redis down) go out in background tasks after the acknowledgement.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.state import SlackState
from bot.translate import (
    ANSWER_ACTION,
    action_envelope,
    conversation_id,
    is_user_text,
    mentions,
    parse_answer,
    strip_mention,
    team_of,
    text_envelope,
)
from core.bus.ingress import SubmitResult, Submitter
from core.envelope import Envelope
from core.errors import ServiceUnavailable, ValidationError
from core.logging import bind_ids, get_logger
from core.tracing import inject_context, span

log = get_logger("archops.bot")


class SlackIngress:
    """Translates Slack requests into envelopes and submits them once."""

    def __init__(
        self, submitter: Submitter, state: SlackState, *, submit_timeout_s: float = 2.0
    ) -> None:
        self.submitter = submitter
        self.state = state
        self.submit_timeout_s = submit_timeout_s
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- helpers ---------------------------------------------------------------------------
    def later(self, call: Awaitable[Any]) -> None:
        """Run a Web API call after the acknowledgement; a failure is logged, not raised."""

        async def guarded() -> None:
            try:
                await call
            except (SlackApiError, OSError, TimeoutError) as exc:
                log.warning("slack reply failed", error=str(exc))

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the replies still in flight (at shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def submit(self, envelope: Envelope) -> SubmitResult:
        with bind_ids(conversation_id=envelope.conversation_id), span(
            "bot.submit", conversation_id=envelope.conversation_id
        ):
            envelope = envelope.model_copy(update={"trace": inject_context()})
            try:
                async with asyncio.timeout(self.submit_timeout_s):
                    result = await self.submitter.submit(envelope)
            except TimeoutError as exc:
                raise ServiceUnavailable(
                    "the message bus (Redis) did not answer in time", hint="retry in a moment"
                ) from exc
            log.info("slack request", request_id=result.request_id, accepted=result.accepted)
            return result

    async def _open_and_submit(
        self, envelope: Envelope, team: str, channel: str, thread_ts: str | None,
        record: dict[str, str] | None = None,
    ) -> SubmitResult:
        await self.state.open_conversation(envelope.conversation_id, team, channel, thread_ts)
        result = await self.submit(envelope)
        if result.accepted:
            fields = {"conversation_id": envelope.conversation_id, "user": envelope.user}
            await self.state.start_message(result.request_id, **fields, **(record or {}))
            if envelope.text is not None:  # words in the thread answer an open question
                asking = (await self.state.conversation(envelope.conversation_id)).get("asking")
                if asking:
                    await self.state.claim_answer(asking, envelope.user, "")
        return result

    # -- messages --------------------------------------------------------------------------
    async def on_text(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
        bot_user_id: str | None, *, known_thread: bool,
    ) -> None:
        """A mention, a direct message or a reply in an archops thread."""
        team, channel = team_of(body), str(event.get("channel"))
        root = str(event.get("thread_ts") or event.get("ts"))
        text = strip_mention(str(event.get("text") or ""), bot_user_id)
        if not text:
            self.later(client.chat_postMessage(
                channel=channel, thread_ts=root, text=messages.EMPTY_MENTION))
            return
        try:
            conv = (await self.state.conversation_of_thread(team, channel, root)
                    if known_thread else None) or conversation_id(team, channel, root)
            envelope = text_envelope(
                conversation=conv, user=str(event.get("user")), text=text,
                idempotency_key=f"slack:event:{body.get('event_id') or event.get('ts')}",
                channel=channel, thread_ts=root, team=team,
            )
            await self._open_and_submit(envelope, team, channel, root)
        except ValidationError as exc:
            self.later(client.chat_postMessage(
                channel=channel, thread_ts=root,
                text=messages.INVALID.format(reason=messages.reason_of(exc))))
        except ServiceUnavailable as exc:
            self.later(client.chat_postMessage(
                channel=channel, thread_ts=root,
                text=messages.NOT_ACCEPTED.format(reason=messages.reason_of(exc))))

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
        bot_user_id: str | None,
    ) -> None:
        """Direct messages and replies in a thread archops is part of; nothing else."""
        if not is_user_text(event):
            log.debug("slack message ignored", subtype=event.get("subtype"))
            return
        if event.get("channel_type") == "im":
            await self.on_text(body, event, client, bot_user_id, known_thread=True)
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or mentions(str(event.get("text") or ""), bot_user_id):
            return  # not in a thread, or a mention: the app_mention event carries it
        try:
            known = await self.state.conversation_of_thread(
                team_of(body), str(event.get("channel")), str(thread_ts))
        except ServiceUnavailable:
            known = None
            log.warning("slack thread lookup failed: Redis unavailable")
        if known:
            await self.on_text(body, event, client, bot_user_id, known_thread=True)

    # -- answers ---------------------------------------------------------------------------
    async def on_answer(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A click on one of archops' question buttons (or a select) -> an answer envelope."""
        action = (body.get("actions") or [{}])[0]
        parsed = parse_answer(action)
        user = str((body.get("user") or {}).get("id"))
        channel = str((body.get("channel") or {}).get("id")
                      or (body.get("container") or {}).get("channel_id"))
        if parsed is None:
            return
        question_id, value = parsed
        message = body.get("message") or {}
        message_ts = str((body.get("container") or {}).get("message_ts") or message.get("ts"))
        team = team_of(body)

        def tell(text: str) -> None:
            self.later(client.chat_postEphemeral(channel=channel, user=user, text=text))

        try:
            asked_in = await self.state.request_of_message(channel, message_ts)
            record = await self.state.message(asked_in) if asked_in else {}
            conv = record.get("conversation_id")
            if not asked_in or not conv:
                tell(messages.UNKNOWN_QUESTION)
                return
            if not await self.state.claim_answer(asked_in, user, value):
                tell(messages.ALREADY_ANSWERED)
                return
            thread_ts = (await self.state.conversation(conv)).get("thread_ts") or None
            envelope = action_envelope(
                conversation=conv, user=user, question_id=question_id, value=value,
                idempotency_key=f"slack:action:{body.get('trigger_id') or action.get('action_ts')}",
                channel=channel, thread_ts=thread_ts, team=team,
            )
            try:
                await self._open_and_submit(envelope, team, channel, thread_ts)
            except Exception:
                await self.state.release_answer(asked_in)
                raise
        except (ValidationError, ServiceUnavailable) as exc:
            tell(messages.NOT_ACCEPTED.format(reason=messages.reason_of(exc)))

    # -- /archops --------------------------------------------------------------------------
    async def on_command(self, command: dict[str, Any]) -> str:
        """``/archops help`` answers at once; other text starts a conversation in the channel."""
        text = str(command.get("text") or "").strip()
        if text.lower() in {"help", "?"}:
            return messages.HELP
        if not text:
            return messages.EMPTY_COMMAND
        team, channel = str(command.get("team_id") or "-"), str(command.get("channel_id"))
        user = str(command.get("user_id"))
        trigger = str(command.get("trigger_id"))
        try:
            envelope = text_envelope(
                conversation=conversation_id(team, channel, f"cmd-{trigger}"), user=user,
                text=text, idempotency_key=f"slack:command:{trigger}", channel=channel,
                thread_ts=None, team=team,
            )
            result = await self._open_and_submit(
                envelope, team, channel, None, record={"asked": text})
        except ValidationError as exc:
            return messages.INVALID.format(reason=messages.reason_of(exc))
        except ServiceUnavailable as exc:
            return messages.NOT_ACCEPTED.format(reason=messages.reason_of(exc))
        return messages.COMMAND_ACCEPTED if result.accepted else messages.DUPLICATE


def register(app: AsyncApp, ingress: SlackIngress) -> None:
    """Attach archops' listeners to a bolt app."""

    @app.event("app_mention")
    async def app_mention(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                          context: dict[str, Any]) -> None:
        await ingress.on_text(body, event, client, context.get("bot_user_id"), known_thread=True)

    @app.event("message")
    async def message(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                      context: dict[str, Any]) -> None:
        await ingress.on_message(body, event, client, context.get("bot_user_id"))

    @app.action(ANSWER_ACTION)
    async def answer(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ingress.on_answer(body, client)
        await ack()

    @app.command("/archops")
    async def command(ack: Any, command: dict[str, Any]) -> None:
        await ack(text=await ingress.on_command(command), response_type="ephemeral")

    @app.event(re.compile(".*"))
    async def other_event(event: dict[str, Any]) -> None:
        """Events archops does not act on are acknowledged (Slack retries unanswered ones)."""
        log.debug("slack event ignored", type=event.get("type"))
