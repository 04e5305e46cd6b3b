"""archops in Slack: the Events API / interactivity edge and one living card per conversation.

``build_bot(settings, redis_url)`` wires everything (see :mod:`bot.service`); ``run_bot`` serves
it. :class:`SlackIngress` turns Slack payloads into envelopes on the ingress bus;
:class:`SlackEgress` keeps each conversation's card current from its events. The names are
imported on first use, so that the pure modules (the card, the limits) load without slack-bolt.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Bot": "bot.service", "build_bot": "bot.service", "require_slack": "bot.service",
    "run_bot": "bot.service", "SlackEgress": "bot.egress", "SlackIngress": "bot.ingress",
    "SlackState": "bot.state",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
