"""The app's installation: ``app_uninstalled`` and ``tokens_revoked`` stop work for a team.

Slack sends them when a workspace removes archops or revokes its bot token. The team is recorded
as stopped (``{prefix}:slack:team:{team}``, with why and when, and in the log); the egress then
gives up the cards of that team instead of writing with a token that no longer works. A person's
request from that team afterwards means the app is installed again: the record is cleared
(:meth:`bot.state.SlackState.open_request`). Revoked user tokens alone change nothing: archops
uses only its bot token.
"""

from __future__ import annotations

from bot.payloads import EventCallback, TokensRevokedCallback
from bot.state import SlackState
from bot.translate import team_of
from core.logging import get_logger

log = get_logger("archops.bot.install")


async def on_uninstalled(payload: EventCallback, state: SlackState) -> None:
    team = team_of(payload)
    await state.stop_team(team, "uninstalled", f"app_uninstalled ({payload.event_id})")
    log.warning("slack app uninstalled: work for the team stops", team=team)


async def on_tokens_revoked(payload: TokensRevokedCallback, state: SlackState) -> None:
    team = team_of(payload)
    tokens = payload.event.tokens
    if tokens.bot:
        await state.stop_team(team, "tokens_revoked", f"bot token revoked ({payload.event_id})")
        log.warning("slack bot token revoked: work for the team stops", team=team)
    else:
        log.info("slack user tokens revoked; archops uses none", team=team,
                 users=len(tokens.oauth))
