"""Every sentence the Slack edge says on its own (not what the workflow says): one place to read."""

from __future__ import annotations

HELP = """*archops* designs AWS infrastructure from plain words and opens a reviewed Terraform pull request.

• `/archops <what you need>`: start, e.g. `/archops a web app with a Postgres database in eu-west-1`
• mention me in a channel (`@archops ...`) or write to me directly; reply in my thread to go on
• I ask back what I must know (buttons); the recommended choice is marked
• I design a Well-Architected baseline, check the Terraform (parse, references, security
  policy, cost) and open a pull request
• I never destroy resources, work only on AWS, and never accept secrets in messages
• `/archops help`: this text"""

EMPTY_MENTION = (
    "Tell me what you need after the mention, e.g. "
    "`@archops a static website with a CDN in us-east-1`."
)
EMPTY_COMMAND = "Say what you need after `/archops`, or `/archops help` for what I can do."
NOT_ACCEPTED = (
    ":warning: I could not accept this request: {reason}. Nothing was queued; "
    "please try again in a moment."
)
INVALID = ":warning: I could not take this message: {reason}. Nothing was queued."
COMMAND_ACCEPTED = "On it: I will answer in a thread in this channel."
ALREADY_ANSWERED = "This question was already answered; I go on with that answer."
UNKNOWN_QUESTION = "I cannot tell which conversation this answer belongs to; please reply in the thread."
ONLY_THEY_CAN_ANSWER = "Only {who} can answer this."
ONLY_THEY_CAN_ASK = (
    "Only {who} can ask me for changes in this thread; mention me in a new message to start "
    "a request of your own."
)
DUPLICATE = "I already have this request; the answer comes in the thread."


def reason_of(exc: BaseException) -> str:
    """The user-facing part of an archops error (its message and hint)."""
    message = getattr(exc, "message", None) or str(exc)
    hint = getattr(exc, "hint", None)
    return f"{message} ({hint})" if hint else message
