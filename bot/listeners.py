"""archops' listeners on the bolt app: what each kind of Slack request does.

Requests that make a change (a message, a click on a choice, Regenerate, a modal, a command)
submit before Slack gets its 200, so an acknowledged request is on the bus. Work that only
answers (opening a modal, publishing App Home, an unfurl, an ephemeral note) runs right after
the acknowledgement, in a background task.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as bk
from bot import commands, home, install, modals, unfurl
from bot.http import PAYLOAD_KEY
from bot.ingress import SlackIngress
from bot.interactions import Interactions
from bot.payloads import (
    AppHomeCallback,
    BlockActions,
    EventCallback,
    LinkSharedCallback,
    MessageCallback,
    MessageEvent,
    PayloadError,
    SlashCommand,
    TokensRevokedCallback,
    ViewSubmission,
    check_payload,
)
from bot.projects import PROJECT_CALLBACK
from bot.translate import team_of
from core.logging import get_logger

log = get_logger("archops.bot")


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


async def publish_home(payload: AppHomeCallback, deps: commands.Deps) -> None:
    user, team = payload.event.user, team_of(payload)
    state = deps.state
    ids = await state.conversations_of(team, user, limit=home.SHOWN + 1)
    rows = []
    for cid, card in zip(ids, await state.cards(ids), strict=True):
        if card:
            rows.append((cid, card, await state.conversation(cid)))
    projects = []
    if deps.projects is not None:
        seen: set[str] = set()
        for _cid, _card, conv in rows:
            channel = conv.get("channel") or ""
            if channel and channel not in seen:
                seen.add(channel)
                view = await deps.projects.view_of_channel(channel)
                if view is not None:
                    projects.append(view)
    view = home.home_view(rows, projects, deps.render_context.links)
    await deps.client.views_publish(user_id=user, view=view)


async def send_unfurls(payload: LinkSharedCallback, deps: commands.Deps, verifier: Any) -> None:
    links = deps.render_context.links
    found = await unfurl.unfurls(payload, links.public_url if links else None, deps.state,
                                 deps.access, verifier)
    if not found:
        return
    event = payload.event
    if event.source == "composer" and event.unfurl_id:
        await deps.client.chat_unfurl(unfurl_id=event.unfurl_id, source="composer", unfurls=found)
    else:
        await deps.client.chat_unfurl(channel=event.channel, ts=event.message_ts, unfurls=found)


@dataclass(frozen=True)
class Me:
    """The app's own user and bot ids in its workspace."""

    user_id: str | None
    bot_id: str | None

    def wrote(self, event: MessageEvent) -> bool:
        """An event of the app's own making (bolt's ``ignoring_self_events`` rule)."""
        return bool((event.user and event.user == self.user_id)
                    or (event.bot_id and event.bot_id == self.bot_id))


class Identity:
    """Who the app is, asked of Slack once (``auth.test``, as bolt's single-workspace
    authorization asks it); None until Slack has answered."""

    RETRY_S = 5.0  # after a failed auth.test, events go to bolt this long without asking

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._me: Me | None = None
        self._failed_at = -float("inf")
        self._lock = asyncio.Lock()

    async def me(self) -> Me | None:
        if self._me is None and time.monotonic() - self._failed_at > self.RETRY_S:
            async with self._lock:
                if self._me is None and time.monotonic() - self._failed_at > self.RETRY_S:
                    try:
                        found = await self.client.auth_test()
                        self._me = Me(found.get("user_id"), found.get("bot_id"))
                    except Exception as exc:  # bolt then answers, with its own error
                        self._failed_at = time.monotonic()
                        log.warning("slack auth.test failed", error=str(exc))
        return self._me


class Direct:
    """Mentions and messages, most of what Slack sends, taken without bolt's generic dispatch:
    its middleware chain, kwargs injection and listener matching cost more per event than
    archops' own work, and Slack's acknowledgement waits for all of it. The handler is the bolt
    listener's (:meth:`SlackIngress.on_callback`); the app's own events are acknowledged and
    dropped, as bolt drops them. False: not one of these (or who the app is is not known yet),
    and bolt dispatches it."""

    def __init__(self, ingress: SlackIngress, client: AsyncWebClient,
                 identity: Identity | None = None) -> None:
        self.ingress = ingress
        self.client = client
        self.identity = identity or Identity(client)

    async def __call__(self, payload: Any) -> bool:
        if not isinstance(payload, MessageCallback):
            return False
        me = await self.identity.me()
        if me is None:
            return False  # bolt answers it, with its own authorization error
        if not me.wrote(payload.event):
            await self.ingress.on_callback(payload, self.client, me.user_id)
        return True


def register(app: AsyncApp, deps: commands.Deps, interactions: Interactions, *,
             verifier: Any = None) -> None:
    """Attach archops' listeners to a bolt app."""
    ingress = deps.ingress

    # mentions and messages usually come through :class:`Direct`; these serve the rest
    @app.event("app_mention")
    @app.event("message")
    async def mention_or_message(body: dict[str, Any], client: AsyncWebClient,
                                 context: dict[str, Any]) -> None:
        payload = checked(context, body, MessageCallback)
        if payload is not None:
            await ingress.on_callback(payload, client, context.get("bot_user_id"))

    # -- the card's buttons ----------------------------------------------------------------
    @app.action(re.compile("^" + re.escape(bk.ANSWER)))
    async def answer(ack: Any, body: dict[str, Any], client: AsyncWebClient,
                     context: dict[str, Any]) -> None:
        payload = checked(context, body, BlockActions)
        if payload is not None:
            await interactions.on_answer(payload, client)
        await ack()

    @app.action(bk.REGENERATE)
    async def regenerate(ack: Any, body: dict[str, Any], client: AsyncWebClient,
                         context: dict[str, Any]) -> None:
        payload = checked(context, body, BlockActions)
        if payload is not None:
            await interactions.on_regenerate(payload, client)
        await ack()

    def opens(handler: Any) -> Any:
        """A button that answers (a modal, a note): acknowledged at once, handled right after."""

        async def listener(ack: Any, body: dict[str, Any], client: AsyncWebClient,
                           context: dict[str, Any]) -> None:
            payload = checked(context, body, BlockActions)
            await ack()
            if payload is not None:
                ingress.later(handler(payload, client))

        return listener

    app.action(re.compile("^" + re.escape(bk.FREE_TEXT)))(opens(interactions.on_free_text))
    app.action(bk.CHANGE)(opens(interactions.on_change))
    app.action(bk.PULL_REQUEST)(opens(interactions.on_needs_setup))
    app.action(re.compile("^" + re.escape(bk.NEEDS_SETUP)))(opens(interactions.on_needs_setup))
    app.action(bk.PROJECT_EDIT)(opens(interactions.on_project_edit))

    @app.action(re.compile("^" + re.escape(bk.LINK)))
    async def link(ack: Any) -> None:
        """URL buttons open their link in the browser; Slack still tells the app."""
        await ack()

    # -- modals ----------------------------------------------------------------------------
    @app.view(modals.ANSWER_CALLBACK)
    async def answer_view(ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
        payload = checked(context, body, ViewSubmission)
        reply = await interactions.on_answer_view(payload) if payload is not None else None
        await ack(**reply) if reply else await ack()

    @app.view(modals.CHANGE_CALLBACK)
    async def change_view(ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
        payload = checked(context, body, ViewSubmission)
        reply = await interactions.on_change_view(payload) if payload is not None else None
        await ack(**reply) if reply else await ack()

    @app.view(PROJECT_CALLBACK)
    async def project_view(ack: Any, body: dict[str, Any], client: AsyncWebClient,
                           context: dict[str, Any]) -> None:
        payload = checked(context, body, ViewSubmission)
        reply = await interactions.on_project_view(payload, client) if payload is not None else None
        await ack(**reply) if reply else await ack()

    # -- /archops --------------------------------------------------------------------------
    @app.command("/archops")
    async def command(ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
        payload = checked(context, body, SlashCommand)
        if payload is None:
            await ack()
            return
        reply = await commands.dispatch(payload, deps)
        await ack(text=reply.text, blocks=reply.blocks, response_type="ephemeral")

    # -- App Home, unfurls, the installation -----------------------------------------------
    @app.event("app_home_opened")
    async def app_home_opened(body: dict[str, Any], context: dict[str, Any]) -> None:
        payload = checked(context, body, AppHomeCallback)
        if payload is not None and payload.event.tab in {None, "home"}:
            ingress.later(publish_home(payload, deps))

    @app.event("link_shared")
    async def link_shared(body: dict[str, Any], context: dict[str, Any]) -> None:
        payload = checked(context, body, LinkSharedCallback)
        if payload is not None:
            ingress.later(send_unfurls(payload, deps, verifier))

    @app.event("app_uninstalled")
    async def app_uninstalled(body: dict[str, Any], context: dict[str, Any]) -> None:
        payload = checked(context, body, EventCallback)
        if payload is not None:
            await install.on_uninstalled(payload, deps.state)

    @app.event("tokens_revoked")
    async def tokens_revoked(body: dict[str, Any], context: dict[str, Any]) -> None:
        payload = checked(context, body, TokensRevokedCallback)
        if payload is not None:
            await install.on_tokens_revoked(payload, deps.state)

    @app.event(re.compile(".*"))
    async def other_event(event: dict[str, Any]) -> None:
        """Events archops does not act on are acknowledged (Slack retries unanswered ones)."""
        log.debug("slack event ignored", type=event.get("type"))
