"""archops in Slack: the Events API / interactivity edge and the replies in threads.

``build_bot(settings, redis_url)`` wires everything (see :mod:`bot.service`); ``run_bot`` serves
it. :class:`SlackIngress` turns Slack payloads into envelopes on the ingress bus;
:class:`SlackEgress` keeps one Slack message per request current from the conversation's events.
"""

from bot.egress import SlackEgress
from bot.ingress import SlackIngress
from bot.service import Bot, build_bot, require_slack, run_bot
from bot.state import SlackState

__all__ = ["Bot", "SlackEgress", "SlackIngress", "SlackState", "build_bot", "require_slack", "run_bot"]
