"""Who may act on a Slack conversation: its requester and the approvers.

A conversation records its owner (the person whose message started it) when the ingress opens
it. Answers (a click on a question's button or select, a modal, a reply in words in the thread) and
further requests in that thread (a change, a regeneration) are taken from the owner or an
approver only; anyone else is told privately who can. Binding the channel's project and scanning
or tagging its account are for the approvers, or for anyone in a channel that has none.
Approvers come from an :data:`ApproversOf` lookup by (team, channel): the
``ARCHOPS_SLACK_APPROVERS`` setting for every channel, and the approvers of the project the
channel is bound to (``bot.service.approvers_with_projects``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

# (team, channel) -> the Slack user ids who may answer and approve there
ApproversOf = Callable[[str, str], Awaitable[frozenset[str]]]
_NAMED = 3  # approvers named in a refusal; beyond that "or an approver"


def fixed_approvers(user_ids: Iterable[str]) -> ApproversOf:
    """The same approvers in every channel (``ARCHOPS_SLACK_APPROVERS``)."""
    ids = frozenset(user_ids)

    async def approvers(_team: str, _channel: str) -> frozenset[str]:
        return ids

    return approvers


@dataclass(frozen=True)
class Decision:
    allowed: bool
    who: str  # who may act, in Slack's mention syntax: "<@U1>", "<@U1> or <@U2>"


class Access:
    """Decides whether ``user`` may act on a conversation owned by ``owner``."""

    def __init__(self, approvers: ApproversOf | None = None) -> None:
        self.approvers = approvers or fixed_approvers(())

    async def decide(self, user: str, owner: str | None, team: str, channel: str) -> Decision:
        approvers = await self.approvers(team, channel)
        if not owner:  # a conversation recorded before owners were: its first speaker keeps it
            return Decision(True, f"<@{user}>")
        allowed = user == owner or user in approvers
        return Decision(allowed, who_may_act(owner, approvers))

    async def may_manage(self, user: str, team: str, channel: str) -> Decision:
        """Binding a channel to a project (an AWS account, a role, a repository) and scanning or
        tagging its account: the approvers of the channel, or anyone in it when it has none."""
        approvers = await self.approvers(team, channel)
        if not approvers or user in approvers:
            return Decision(True, f"<@{user}>")
        named = sorted(approvers)
        who = ", ".join(f"<@{a}>" for a in named[:_NAMED]) + (" ..." if len(named) > _NAMED else "")
        return Decision(False, who)


def who_may_act(owner: str, approvers: frozenset[str]) -> str:
    others = sorted(approvers - {owner})
    if not others:
        return f"<@{owner}>"
    if len(others) > _NAMED:
        return f"<@{owner}> or an approver"
    named = [f"<@{owner}>", *(f"<@{a}>" for a in others)]
    return ", ".join(named[:-1]) + " or " + named[-1]
