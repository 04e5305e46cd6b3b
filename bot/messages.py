"""Every sentence the Slack edge says on its own (not what the workflow says): one place to read."""

from __future__ import annotations

EMPTY_MENTION = (
    "Tell me what you need after the mention, e.g. "
    "`@archops a static website with a CDN in us-east-1`."
)
NOT_ACCEPTED = (
    ":warning: I could not accept this request: {reason}. Nothing was queued; "
    "please try again in a moment."
)
INVALID = ":warning: I could not take this message: {reason}. Nothing was queued."
COMMAND_ACCEPTED = "On it: I will answer in a thread in this channel."
CHANGE_ACCEPTED = "On it: the change goes into your design's card in this channel."
REGENERATING = "Regenerating the design: its card shows the progress."
ALREADY_ANSWERED = "This question was already answered; I go on with that answer."
UNKNOWN_QUESTION = "I cannot tell which conversation this belongs to; please reply in the thread."
ONLY_THEY_CAN_ANSWER = "Only {who} can answer this."
ONLY_THEY_CAN_ASK = (
    "Only {who} can ask me for changes in this thread; mention me in a new message to start "
    "a request of your own."
)
DUPLICATE = "I already have this request; the answer comes in the thread."
EMPTY_ANSWER = "Type an answer, or pick one of the choices on the card."
EMPTY_CHANGE = "Say what should change, e.g. \"add a Redis cache\"."
ANSWER_TOO_LONG = "An answer has at most {limit} characters; this one has {count}."
NOT_A_DOMAIN = "{value!r} is not a domain name: use one like app.example.com"
QUESTION_CLOSED = "This question is no longer open: the card shows where the design is now."

# commands
UNKNOWN_COMMAND = "I do not know `/archops {name}`.{suggestion} `/archops help` lists what I can do."
DID_YOU_MEAN = " Did you mean `/archops {name}`?"
SAY_WHAT = "Say what you need after `/archops {name}`, e.g. `/archops {name} {example}`."
NO_DESIGN_HERE = ("You have no design in this channel to change yet: start one with "
                  "`/archops new <what you need>`.")
NOTHING_YET = "You have no conversation with archops yet: `/archops new <what you need>` starts one."
COMMAND_FAILED = ":warning: `/archops {name}` failed: {reason}"
NO_PROJECT = ("This channel is not bound to a project yet: `/archops project bind` opens a form "
              "for its name, AWS account, role, regions and repository.")
PROJECT_SAVED = ":white_check_mark: This channel is bound to project *{name}* (`{id}`)."
PROJECT_ELSEWHERE = "Project `{id}` is bound to another channel (<#{channel}>); pick another name."
ONLY_APPROVERS = "Only an approver ({who}) can {what}."
SCAN_STARTED = ("Scanning {regions} of account {account}: the inventory, the Terraform (a zip) and "
                "the findings follow in a thread in this channel.")
SCAN_NEEDS_REGIONS = ("Say which regions to scan (`/archops scan eu-west-1,us-east-1`), or bind a "
                      "project with its regions: `/archops project bind`.")
SCAN_UNAVAILABLE = ("Scans are not wired into this bot process; run `archops bot` (or "
                    "`archops up`) from the archops command line, or `archops scan` yourself.")
TAGS_NEEDS_TAG = ("Say which tag to check (`/archops tags Project=acme`), or set the project's tag "
                  "policy.")
TAGS_STARTED = "Checking which resources lack `{key}={value}` in {regions}: the tag plan follows in a thread."
METRICS_NOT_CONFIGURED = ("The monitor is not configured, so there are no metrics or insights to "
                          "show yet; it watches the CloudWatch metrics of a bound project once it "
                          "runs (`archops monitor`).")

# buttons whose feature needs a missing piece
NEEDS_GITHUB = ("No pull request came for this design: the workers that made it deliver none. "
                "Each design opens its pull request on its own in the repository of the "
                "channel's project (`/archops project bind`; GitHub needs `ARCHOPS_GITHUB_TOKEN`, "
                "else archops' own git repository is used). Until then, the zip in the thread "
                "holds the Terraform.")
PR_FAILED = ("The pull request could not be opened: {error}. {hint} Ask again in the thread "
             "(or Regenerate) once it is fixed; until then, the zip in the thread holds the "
             "Terraform.")
NEEDS_PUBLIC_URL = ("Links to the live stream and the diagram need the web app's address: set "
                    "`ARCHOPS_PUBLIC_URL` for `archops bot` (and run `archops web`).")

HINTS = {
    "channel_not_found": "the channel may have been deleted, or I was never added to it",
    "not_in_channel": "invite me there with `/invite @archops`",
    "is_archived": "the channel is archived: unarchive it, or ask again elsewhere",
    "restricted_action": "posting there is restricted to some members",
    "restricted_action_read_only_channel": "the channel is read-only",
    "restricted_action_thread_only_channel": "the channel takes replies in threads only",
    "account_inactive": "archops' token is no longer valid; an admin must reinstall the app",
    "token_revoked": "archops' token was revoked; an admin must reinstall the app",
    "ekm_access_denied": "your workspace's key management refused the message",
    "message_limit_exceeded": "the channel reached its message limit",
}


def refused_write(channel: str, error: str, asked: str) -> str:
    hint = HINTS.get(error, "")
    about = f" about \"{asked[:200]}\"" if asked else ""
    text = (f":warning: I could not post your design{about} in <#{channel}>: Slack answered "
            f"`{error}`.")
    if hint:
        text += f" ({hint})"
    return text + " The work itself is kept: ask me again once I can post there."


def reason_of(exc: BaseException) -> str:
    """The user-facing part of an archops error (its message and hint)."""
    message = getattr(exc, "message", None) or str(exc)
    hint = getattr(exc, "hint", None)
    return f"{message} ({hint})" if hint else message
