"""Slack -> the ingress bus: mentions, direct messages, thread replies and answers.

Listeners read the payload's checked shape (:mod:`bot.payloads`, put in the context by
:mod:`bot.http` or the shape middleware), never the raw dict. In a thread archops is part of,
only the conversation's owner and the approvers (:mod:`bot.access`) may answer or ask further;
anyone else is told privately who can, and nothing is submitted.

Each listener submits before Slack gets its 200 (the app runs with ``process_before_response``),
so an acknowledged event is on the bus; submitting takes about a millisecond and is bounded by
``submit_timeout_s`` so that Slack's 3-second limit always holds. Replies that the edge sends on
its own (bad input, Redis down) go out in background tasks after the acknowledgement. Clicks,
modals and ``/archops`` live in :mod:`bot.interactions` and :mod:`bot.commands`; they submit
through :meth:`SlackIngress.open_and_submit` and :meth:`SlackIngress.answer` like these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.access import Access, Decision
from bot.payloads import MessageCallback
from bot.state import SlackState, guarded, loads
from bot.translate import (
    action_envelope,
    conversation_id,
    is_user_text,
    mentions,
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
        submit_timeout_s: float = 2.0, wake: Callable[[], None] | None = None,
    ) -> None:
        self.submitter = submitter
        self.state = state
        self.access = access or Access()
        self.submit_timeout_s = submit_timeout_s
        self.wake = wake or (lambda: None)  # the egress: a card is due now
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- helpers ---------------------------------------------------------------------------
    def later(self, call: Awaitable[Any]) -> None:
        """Run a Web API call after the acknowledgement; a failure is logged, not raised."""

        async def guarded_call() -> None:
            try:
                await call
            except (SlackApiError, OSError, TimeoutError, ServiceUnavailable) as exc:
                log.warning("slack reply failed", error=str(exc))
            except Exception as exc:  # a bug in work done after the ack: logged, never lost
                log.exception("slack background work failed", error=repr(exc))

        task = asyncio.get_running_loop().create_task(guarded_call())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def tell(self, client: AsyncWebClient, channel: str, user: str, text: str,
             thread_ts: str | None = None) -> None:
        """A private answer to one person (after the acknowledgement)."""
        self.later(client.chat_postEphemeral(channel=channel, user=user, text=text,
                                             thread_ts=thread_ts))

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

    async def open_and_submit(
        self, envelope: Envelope, team: str, channel: str, thread_ts: str | None,
    ) -> SubmitResult:
        """Record the request as a Slack one (and on its card), then submit it. The record comes
        first: the egress shows only requests recorded here, and a worker may answer within a
        millisecond."""
        kind = "answer" if envelope.action is not None else "text"
        if await self.state.open_request(
                envelope.conversation_id, team=team, channel=channel, thread_ts=thread_ts,
                user=envelope.user, request_id=envelope.request_id, kind=kind,
                text=envelope.text, idempotency_key=envelope.idempotency_key):
            log.info("slack team resumed: a request after the app was uninstalled", team=team)
        # kept when the submission fails: had Redis taken it after all, its replies still show
        result = await self.submit(envelope)
        if not result.accepted:  # a retry: the first submission's record is the one
            await self._forget(envelope.request_id)
        self.wake()
        return result

    async def _forget(self, request_id: str) -> None:
        try:
            await self.state.forget_request(request_id)
        except ServiceUnavailable:
            log.warning("could not drop the record of a refused request", request_id=request_id)

    async def decide(self, user: str, conversation: str) -> tuple[Decision, dict[str, str]]:
        """May ``user`` act on ``conversation``? (and the conversation's record)"""
        conv = await guarded(lambda: self.state.conversation(conversation))
        decision = await self.access.decide(user, conv.get("owner"), conv.get("team") or "-",
                                            conv.get("channel") or "")
        return decision, conv

    async def answer(
        self, conversation: str, *, user: str, question_key: str, value: str, label: str,
        via: str, idempotency_key: str,
    ) -> str | None:
        """Answer the card's open question and submit the answer; None when it was submitted,
        else what to tell ``user`` (someone answered first, the question is gone...)."""
        card = await guarded(lambda: self.state.card(conversation))
        question = loads(card.get("question"), {})
        if card.get("phase") != "question" or not question:
            return messages.ALREADY_ANSWERED if card.get("answered_by") else messages.QUESTION_CLOSED
        if question_key and card.get("question_key") != question_key:
            return messages.QUESTION_CLOSED
        asked = await self.state.claim_answer(
            conversation, question_key=card.get("question_key", ""), user=user, value=value,
            label=label, via=via, prompt=str(question.get("prompt") or ""))
        if asked is None:
            return messages.ALREADY_ANSWERED
        self.wake()  # the buttons go now
        conv = await guarded(lambda: self.state.conversation(conversation))
        thread_ts = conv.get("thread_ts") or None
        try:
            envelope = action_envelope(
                conversation=conversation, user=user, question_id=str(question.get("id")),
                value=value, idempotency_key=idempotency_key, channel=conv.get("channel", ""),
                thread_ts=thread_ts, team=conv.get("team") or "-")
            await self.open_and_submit(envelope, conv.get("team") or "-", conv.get("channel", ""),
                                       thread_ts)
        except Exception:
            await self.state.release_answer(conversation)
            raise
        return None

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
            # a mention at a channel's root starts its own thread: nothing to look up (a retry
            # of it names the same conversation)
            existing = (await self.state.conversation_of_thread(team, channel, root)
                        if known_thread and event.thread_ts else None)
            card: dict[str, str] = {}
            if existing:
                decision, conv = await self.decide(user, existing)
                card = await guarded(lambda: self.state.card(existing))
                if not decision.allowed:
                    template = (messages.ONLY_THEY_CAN_ANSWER if card.get("phase") == "question"
                                else messages.ONLY_THEY_CAN_ASK)
                    log.info("slack message refused", user=user)
                    self.tell(client, channel, user, template.format(who=decision.who), root)
                    return
            envelope = text_envelope(
                conversation=existing or conversation_id(team, channel, root), user=user,
                text=text, idempotency_key=f"slack:event:{payload.event_id or event.ts}",
                channel=channel, thread_ts=root, team=team,
            )
            result = await self.open_and_submit(envelope, team, channel, root)
            if result.accepted and existing and card.get("phase") == "question":
                await self.state.claim_answer(  # words in the thread answer the open question
                    existing, question_key=card.get("question_key", ""), user=user, value="",
                    label=text[:75], via="thread",
                    prompt=str(loads(card.get("question"), {}).get("prompt") or ""))
                self.wake()
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

    async def on_callback(
        self, payload: MessageCallback, client: AsyncWebClient, bot_user_id: str | None,
    ) -> None:
        """An ``app_mention`` or ``message`` event, whichever door it came through."""
        if payload.event.type == "app_mention":
            await self.on_text(payload, client, bot_user_id, known_thread=True)
        else:
            await self.on_message(payload, client, bot_user_id)

    async def start(self, *, team: str, channel: str, user: str, text: str, key: str
                    ) -> SubmitResult:
        """A new conversation whose card is a new message in ``channel`` (a slash command)."""
        envelope = text_envelope(
            conversation=conversation_id(team, channel, f"cmd-{key}"), user=user, text=text,
            idempotency_key=f"slack:command:{key}", channel=channel, thread_ts=None, team=team)
        return await self.open_and_submit(envelope, team, channel, None)

    async def follow_up(self, conversation: str, *, user: str, text: str, key: str
                        ) -> SubmitResult:
        """A further request in an existing conversation (a change, a regeneration)."""
        conv = await guarded(lambda: self.state.conversation(conversation))
        thread_ts = conv.get("thread_ts") or None
        envelope = text_envelope(
            conversation=conversation, user=user, text=text, idempotency_key=key,
            channel=conv.get("channel", ""), thread_ts=thread_ts, team=conv.get("team") or "-")
        return await self.open_and_submit(envelope, conv.get("team") or "-",
                                          conv.get("channel", ""), thread_ts)
