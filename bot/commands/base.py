"""What every `/archops` command gets and gives back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.card import RenderContext
from bot.hooks import Hooks
from bot.ingress import SlackIngress
from bot.payloads import SlashCommand
from bot.projects import Projects
from bot.state import SlackState


@dataclass(frozen=True)
class Reply:
    """The ephemeral answer to the person who typed the command (only they see it)."""

    text: str
    blocks: list[dict[str, Any]] | None = None


@dataclass
class Deps:
    """What the commands work with (built once, in the composition root)."""

    ingress: SlackIngress
    state: SlackState
    access: Access
    client: AsyncWebClient
    projects: Projects | None = None
    hooks: Hooks = field(default_factory=Hooks)
    render_context: RenderContext = field(default_factory=RenderContext)


@dataclass(frozen=True)
class Request:
    payload: SlashCommand
    name: str
    args: str  # the text after the command's name
    deps: Deps
    commands: Mapping[str, Command]

    @property
    def team(self) -> str:
        return self.payload.team_id or "-"

    @property
    def channel(self) -> str:
        return self.payload.channel_id

    @property
    def user(self) -> str:
        return self.payload.user_id

    @property
    def trigger(self) -> str:
        return self.payload.trigger_id


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    run: Callable[[Request], Awaitable[Reply]]
