"""Slack -> the ingress bus: mentions, direct messages, thread replies, answers, /archops.

Listeners read the payload's checked shape (:mod:`bot.payloads`, put in the context by
:mod:`bot.http` or the shape middleware), never the raw dict. In a thread archops is part of,
only the conversation's owner and the approvers (:mod:`bot.access`) may answer or ask further;
anyone else is told privately who can, and nothing is submitted.

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
from bot.access import Access
from bot.http import PAYLOAD_KEY
from bot.payloads import BlockActions, MessageCallback, PayloadError, SlashCommand, check_payload
from bot.state import SlackState, guarded
from bot.translate import (
    ANSWER_ACTION,
    action_envelope,
    conversation_id,
    is_user_text,
    mentions,
    parse_answer,
    ref_id,
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
        self, submitter: Submitter, state: SlackState, *, access: Access | None = None,
        submit_timeout_s: float = 2.0,
    ) -> None:
        self.submitter = submitter
        self.state = state
        self.access = access or Access()
        self.submit_timeout_s = submit_timeout_s
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- helpers ---------------------------------------------------------------------------
    def later(self, call: Awaitable[Any]) -> None:
        """Run a Web API call after the acknowledgement; a failure is logged, not raised."""

        async def guarded_call() -> None:
            try:
                await call
            except (SlackApiError, OSError, TimeoutError) as exc:
                log.warning("slack reply failed", error=str(exc))

        task = asyncio.get_running_loop().create_task(guarded_call())
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
        """Record the request as a Slack one, then submit it. The record comes first: the egress
        posts only for requests recorded here, and a worker may answer within a millisecond."""
        await self.state.open_conversation(
            envelope.conversation_id, team, channel, thread_ts, owner=envelope.user)
        await self.state.start_message(
            envelope.request_id, conversation_id=envelope.conversation_id, user=envelope.user,
            origin="slack", **(record or {}))
        # kept when the submission fails: had Redis taken it after all, its replies still show
        result = await self.submit(envelope)
        if not result.accepted:  # a retry: the first submission's record is the one
            await self._forget(envelope.request_id)
        elif envelope.text is not None:  # words in the thread answer an open question
            asking = (await self.state.conversation(envelope.conversation_id)).get("asking")
            if asking:
                await self.state.claim_answer(asking, envelope.user, "")
        return result

    async def _forget(self, request_id: str) -> None:
        try:
            await self.state.forget_message(request_id)
        except ServiceUnavailable:
            log.warning("could not drop the record of a refused request", request_id=request_id)

    async def _refused(self, conv: dict[str, str], user: str, team: str, channel: str
                       ) -> str | None:
        """The private answer for ``user`` when they may not act on ``conv``, else None."""
        decision = await self.access.decide(user, conv.get("owner"), team, channel)
        if decision.allowed:
            return None
        template = messages.ONLY_THEY_CAN_ANSWER if conv.get("asking") else messages.ONLY_THEY_CAN_ASK
        log.info("slack answer refused", user=user, asking=bool(conv.get("asking")))
        return template.format(who=decision.who)

    # -- messages --------------------------------------------------------------------------
    async def on_text(
        self, payload: MessageCallback, client: AsyncWebClient, bot_user_id: str | None, *,
        known_thread: bool,
    ) -> None:
        """A mention, a direct message or a reply in an archops thread."""
        event = payload.event
        team, channel, user = team_of(payload), event.channel, event.user
        if not user:
            return
        root = event.thread_ts or event.ts
        text = strip_mention(event.text or "", bot_user_id)
        if not text:
            self.later(client.chat_postMessage(
                channel=channel, thread_ts=root, text=messages.EMPTY_MENTION))
            return
        try:
            existing = (await self.state.conversation_of_thread(team, channel, root)
                        if known_thread else None)
            if existing:
                conv = await guarded(lambda: self.state.conversation(existing))
                refusal = await self._refused(conv, user, team, channel)
                if refusal:
                    self.later(client.chat_postEphemeral(
                        channel=channel, user=user, thread_ts=root, text=refusal))
                    return
            envelope = text_envelope(
                conversation=existing or conversation_id(team, channel, root), user=user,
                text=text, idempotency_key=f"slack:event:{payload.event_id or event.ts}",
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
        self, payload: MessageCallback, client: AsyncWebClient, bot_user_id: str | None,
    ) -> None:
        """Direct messages and replies in a thread archops is part of; nothing else."""
        event = payload.event
        if not is_user_text(event):
            log.debug("slack message ignored", subtype=event.subtype)
            return
        if event.channel_type == "im":
            await self.on_text(payload, client, bot_user_id, known_thread=True)
            return
        if not event.thread_ts or mentions(event.text or "", bot_user_id):
            return  # not in a thread, or a mention: the app_mention event carries it
        try:
            known = await self.state.conversation_of_thread(
                team_of(payload), event.channel, event.thread_ts)
        except ServiceUnavailable:
            known = None
            log.warning("slack thread lookup failed: Redis unavailable")
        if known:
            await self.on_text(payload, client, bot_user_id, known_thread=True)

    # -- answers ---------------------------------------------------------------------------
    async def on_answer(self, payload: BlockActions, client: AsyncWebClient) -> None:
        """A click on one of archops' question buttons (or a select) -> an answer envelope."""
        action = payload.actions[0]
        parsed = parse_answer(action)
        user = payload.user.id
        container = payload.container
        channel = ref_id(payload.channel) or (container.channel_id if container else None)
        message_ts = (container.message_ts if container else None) or (
            payload.message.ts if payload.message else None)
        if parsed is None or not channel:
            return
        question_id, value = parsed
        team = team_of(payload)

        def tell(text: str) -> None:
            self.later(client.chat_postEphemeral(channel=channel, user=user, text=text))

        try:
            asked_in = await self.state.request_of_message(channel, message_ts) if message_ts else None
            record = await guarded(lambda: self.state.message(asked_in)) if asked_in else {}
            conv_id = record.get("conversation_id")
            if not asked_in or not conv_id:
                tell(messages.UNKNOWN_QUESTION)
                return
            conv = await guarded(lambda: self.state.conversation(conv_id))
            decision = await self.access.decide(
                user, conv.get("owner") or record.get("user"), team, channel)
            if not decision.allowed:
                log.info("slack answer refused", user=user, request_id=asked_in)
                tell(messages.ONLY_THEY_CAN_ANSWER.format(who=decision.who))
                return
            if not await self.state.claim_answer(asked_in, user, value):
                tell(messages.ALREADY_ANSWERED)
                return
            thread_ts = conv.get("thread_ts") or None
            envelope = action_envelope(
                conversation=conv_id, user=user, question_id=question_id, value=value,
                idempotency_key=f"slack:action:{payload.trigger_id or action.action_ts}",
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
    async def on_command(self, command: SlashCommand) -> str:
        """``/archops help`` answers at once; other text starts a conversation in the channel."""
        text = command.text.strip()
        if text.lower() in {"help", "?"}:
            return messages.HELP
        if not text:
            return messages.EMPTY_COMMAND
        team, channel = command.team_id or "-", command.channel_id
        trigger = command.trigger_id
        try:
            envelope = text_envelope(
                conversation=conversation_id(team, channel, f"cmd-{trigger}"),
                user=command.user_id, text=text, idempotency_key=f"slack:command:{trigger}",
                channel=channel, thread_ts=None, team=team,
            )
            result = await self._open_and_submit(
                envelope, team, channel, None, record={"asked": text})
        except ValidationError as exc:
            return messages.INVALID.format(reason=messages.reason_of(exc))
        except ServiceUnavailable as exc:
            return messages.NOT_ACCEPTED.format(reason=messages.reason_of(exc))
        return messages.COMMAND_ACCEPTED if result.accepted else messages.DUPLICATE


def checked(context: dict[str, Any], body: dict[str, Any], kind: type[Any]) -> Any:
    """The payload's checked shape (from the context; checked here when it is missing), or None
    when it is not of the kind this listener acts on (it is acknowledged and ignored)."""
    payload = context.get(PAYLOAD_KEY)
    if payload is None:
        try:
            payload = check_payload(body)
        except PayloadError as exc:
            log.info("slack payload ignored", reason=exc.reason)
            return None
    return payload if isinstance(payload, kind) else None


def register(app: AsyncApp, ingress: SlackIngress) -> None:
    """Attach archops' listeners to a bolt app."""

    @app.event("app_mention")
    async def app_mention(body: dict[str, Any], client: AsyncWebClient,
                          context: dict[str, Any]) -> None:
        payload = checked(context, body, MessageCallback)
        if payload is not None:
            await ingress.on_text(payload, client, context.get("bot_user_id"), known_thread=True)

    @app.event("message")
    async def message(body: dict[str, Any], client: AsyncWebClient,
                      context: dict[str, Any]) -> None:
        payload = checked(context, body, MessageCallback)
        if payload is not None:
            await ingress.on_message(payload, client, context.get("bot_user_id"))

    @app.action(ANSWER_ACTION)
    async def answer(ack: Any, body: dict[str, Any], client: AsyncWebClient,
                     context: dict[str, Any]) -> None:
        payload = checked(context, body, BlockActions)
        if payload is not None:
            await ingress.on_answer(payload, client)
        await ack()

    @app.command("/archops")
    async def command(ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
        payload = checked(context, body, SlashCommand)
        if payload is None:
            await ack()
            return
        await ack(text=await ingress.on_command(payload), response_type="ephemeral")

    @app.event(re.compile(".*"))
    async def other_event(event: dict[str, Any]) -> None:
        """Events archops does not act on are acknowledged (Slack retries unanswered ones)."""
        log.debug("slack event ignored", type=event.get("type"))
