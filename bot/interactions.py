"""Clicks on a card's buttons and the modals they open -> answers and requests on the bus.

A click names what it does (:mod:`bot.blocks` action ids); everything else comes from the card
the click was made on, found by the message's channel and ts: which question is open, what each
choice's value is, who may act. A choice is taken by its index on the card, so a click cannot
answer with a value the card did not offer, and a click on a question that is no longer open
(answered by someone else a moment before) answers nothing. Modals are decided again when they
are submitted: their ``private_metadata`` only says which conversation they are about.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as bk
from bot import messages, modals
from bot.card import result_header
from bot.ingress import SlackIngress
from bot.payloads import BlockActions, ViewSubmission
from bot.projects import PROJECT_CALLBACK, Projects, project_modal
from bot.state import guarded, loads
from bot.translate import ref_id, team_of
from core.errors import ServiceUnavailable, ValidationError
from core.logging import get_logger

log = get_logger("archops.bot.interactions")
REGENERATE_TEXT = "regenerate the design"


class Interactions:
    """What the card's buttons and the modals do."""

    def __init__(self, ingress: SlackIngress, *, projects: Projects | None = None) -> None:
        self.ingress = ingress
        self.state = ingress.state
        self.projects = projects

    # -- where a click was made ------------------------------------------------------------
    @staticmethod
    def where(payload: BlockActions) -> tuple[str | None, str | None]:
        container = payload.container
        channel = ref_id(payload.channel) or (container.channel_id if container else None)
        ts = (container.message_ts if container else None) or (
            payload.message.ts if payload.message else None)
        return channel, ts

    async def card_of(self, payload: BlockActions) -> str | None:
        channel, ts = self.where(payload)
        if not channel or not ts:
            return None
        return await self.state.conversation_of_card(channel, ts)

    def _tell(self, client: AsyncWebClient, payload: BlockActions, text: str) -> None:
        channel, _ts = self.where(payload)
        if channel:
            self.ingress.tell(client, channel, payload.user.id, text)

    # -- buttons ---------------------------------------------------------------------------
    async def on_answer(self, payload: BlockActions, client: AsyncWebClient) -> None:
        """A choice's button (or the select): the answer, once, from who may give it."""
        action = payload.actions[0]
        rest = action.action_id[len(bk.ANSWER):]
        key, _, index = rest.rpartition(":")
        if action.type == "static_select":
            index = action.selected_option.value if action.selected_option else ""
        try:
            conversation = await self.card_of(payload)
            if conversation is None:
                self._tell(client, payload, messages.UNKNOWN_QUESTION)
                return
            decision, _conv = await self.ingress.decide(payload.user.id, conversation)
            if not decision.allowed:
                log.info("slack answer refused", user=payload.user.id)
                self._tell(client, payload, messages.ONLY_THEY_CAN_ANSWER.format(who=decision.who))
                return
            card = await guarded(lambda: self.state.card(conversation))
            question = loads(card.get("question"), {})
            choices = [c for c in question.get("choices") or [] if isinstance(c, dict)]
            if card.get("question_key") != key or not index.isdigit() or int(index) >= len(choices):
                self._tell(client, payload, messages.ALREADY_ANSWERED if card.get("answered_by")
                           else messages.QUESTION_CLOSED)
                return
            choice = choices[int(index)]
            told = await self.ingress.answer(
                conversation, user=payload.user.id, question_key=key,
                value=str(choice.get("value")), label=str(choice.get("label") or choice.get("value")),
                via="button", idempotency_key=f"slack:action:{payload.trigger_id or action.action_ts}")
        except (ValidationError, ServiceUnavailable) as exc:
            told = messages.NOT_ACCEPTED.format(reason=messages.reason_of(exc))
        if told:
            self._tell(client, payload, told)

    async def on_free_text(self, payload: BlockActions, client: AsyncWebClient) -> None:
        """"Type an answer…": the answer modal for the card's open question."""
        conversation = await self.card_of(payload)
        if conversation is None:
            self._tell(client, payload, messages.UNKNOWN_QUESTION)
            return
        decision, _conv = await self.ingress.decide(payload.user.id, conversation)
        if not decision.allowed:
            self._tell(client, payload, messages.ONLY_THEY_CAN_ANSWER.format(who=decision.who))
            return
        card = await self.state.card(conversation)
        key = payload.actions[0].action_id[len(bk.FREE_TEXT):]
        if card.get("phase") != "question" or card.get("question_key") != key:
            self._tell(client, payload, messages.QUESTION_CLOSED)
            return
        view = modals.answer_modal(conversation, loads(card.get("question"), {}), key)
        await client.views_open(trigger_id=payload.trigger_id or "", view=view)

    async def on_change(self, payload: BlockActions, client: AsyncWebClient) -> None:
        """"Request a change": the change modal, for who may ask."""
        conversation = await self.card_of(payload)
        if conversation is None:
            self._tell(client, payload, messages.UNKNOWN_QUESTION)
            return
        decision, _conv = await self.ingress.decide(payload.user.id, conversation)
        if not decision.allowed:
            self._tell(client, payload, messages.ONLY_THEY_CAN_ASK.format(who=decision.who))
            return
        result = loads((await self.state.card(conversation)).get("result"), {})
        view = modals.change_modal(conversation, result_header(result) if result else "")
        await client.views_open(trigger_id=payload.trigger_id or "", view=view)

    async def on_regenerate(self, payload: BlockActions, client: AsyncWebClient) -> None:
        conversation = await self.card_of(payload)
        if conversation is None:
            self._tell(client, payload, messages.UNKNOWN_QUESTION)
            return
        decision, _conv = await self.ingress.decide(payload.user.id, conversation)
        if not decision.allowed:
            self._tell(client, payload, messages.ONLY_THEY_CAN_ASK.format(who=decision.who))
            return
        try:
            await self.ingress.follow_up(
                conversation, user=payload.user.id, text=REGENERATE_TEXT,
                key=f"slack:action:{payload.trigger_id or payload.actions[0].action_ts}")
        except (ValidationError, ServiceUnavailable) as exc:
            self._tell(client, payload, messages.NOT_ACCEPTED.format(reason=messages.reason_of(exc)))

    async def on_needs_setup(self, payload: BlockActions, client: AsyncWebClient) -> None:
        """A button whose feature is not configured says what to configure."""
        action_id = payload.actions[0].action_id
        text = messages.NEEDS_PUBLIC_URL
        if action_id == bk.PULL_REQUEST:
            conversation = await self.card_of(payload)
            pr = loads((await self.state.card(conversation)).get("pr"), {}) if conversation else {}
            text = (messages.PR_FAILED.format(error=pr["error"], hint=pr.get("hint") or "")
                    if pr.get("error") else messages.NEEDS_GITHUB)
        self._tell(client, payload, text)

    async def on_project_edit(self, payload: BlockActions, client: AsyncWebClient) -> None:
        channel, _ts = self.where(payload)
        if not channel or self.projects is None:
            return
        decision = await self.ingress.access.may_manage(payload.user.id, team_of(payload), channel)
        if not decision.allowed:
            self._tell(client, payload, messages.ONLY_APPROVERS.format(
                who=decision.who, what="bind this channel's project"))
            return
        current = await self.projects.view_of_channel(channel)
        await client.views_open(trigger_id=payload.trigger_id or "",
                                view=project_modal(channel, current))

    # -- modals ----------------------------------------------------------------------------
    async def on_answer_view(self, payload: ViewSubmission) -> dict[str, Any] | None:
        """A typed answer: refused in the modal with its reason, or submitted (None)."""
        meta = modals.read_metadata(payload.view.private_metadata)
        conversation, key = meta.get("c", ""), meta.get("k", "")
        text = modals.submitted(payload.view, modals.ANSWER_BLOCK)
        card = await guarded(lambda: self.state.card(conversation)) if conversation else {}
        decision, _conv = await self.ingress.decide(payload.user.id, conversation)
        question = loads(card.get("question"), {})
        if not card or not decision.allowed:
            why = (messages.ONLY_THEY_CAN_ANSWER.format(who=decision.who) if card
                   else messages.UNKNOWN_QUESTION)
            return errors(modals.ANSWER_BLOCK, why)
        if card.get("phase") != "question" or card.get("question_key") != key:
            return errors(modals.ANSWER_BLOCK, messages.ALREADY_ANSWERED if card.get("answered_by")
                          else messages.QUESTION_CLOSED)
        problem = modals.check_answer(question, text)
        if problem:
            return errors(modals.ANSWER_BLOCK, problem)
        value, label = modals.answer_value(question, text)
        try:
            told = await self.ingress.answer(
                conversation, user=payload.user.id, question_key=key, value=value, label=label,
                via="modal", idempotency_key=f"slack:view:{payload.view.id or payload.trigger_id}")
        except (ValidationError, ServiceUnavailable) as exc:
            told = messages.NOT_ACCEPTED.format(reason=messages.reason_of(exc))
        return errors(modals.ANSWER_BLOCK, told) if told else None

    async def on_change_view(self, payload: ViewSubmission) -> dict[str, Any] | None:
        conversation = modals.read_metadata(payload.view.private_metadata).get("c", "")
        text = modals.submitted(payload.view, modals.CHANGE_BLOCK)
        if not text:
            return errors(modals.CHANGE_BLOCK, messages.EMPTY_CHANGE)
        decision, conv = await self.ingress.decide(payload.user.id, conversation)
        if not conv:
            return errors(modals.CHANGE_BLOCK, messages.UNKNOWN_QUESTION)
        if not decision.allowed:
            return errors(modals.CHANGE_BLOCK, messages.ONLY_THEY_CAN_ASK.format(who=decision.who))
        try:
            await self.ingress.follow_up(
                conversation, user=payload.user.id, text=text,
                key=f"slack:view:{payload.view.id or payload.trigger_id}")
        except (ValidationError, ServiceUnavailable) as exc:
            return errors(modals.CHANGE_BLOCK, messages.reason_of(exc))
        return None

    async def on_project_view(self, payload: ViewSubmission, client: AsyncWebClient
                              ) -> dict[str, Any] | None:
        channel = payload.view.private_metadata
        if self.projects is None or not channel:
            return errors("project:name", "Projects are not available in this bot process")
        decision = await self.ingress.access.may_manage(payload.user.id, team_of(payload), channel)
        if not decision.allowed:
            return errors("project:name", messages.ONLY_APPROVERS.format(
                who=decision.who, what="bind this channel's project"))
        values = {block: modals.submitted(payload.view, block)
                  for block in payload.view.state.values}
        actor = f"slack:{team_of(payload)}:{payload.user.id}"
        project, problems = await self.projects.bind(channel, values, actor)
        if problems or project is None:
            return {"response_action": "errors", "errors": problems}
        self.ingress.tell(client, channel, payload.user.id,
                          messages.PROJECT_SAVED.format(name=project.name, id=project.id))
        return None


def errors(block_id: str, text: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {block_id: text[:2000]}}


CALLBACKS = (modals.ANSWER_CALLBACK, modals.CHANGE_CALLBACK, PROJECT_CALLBACK)
