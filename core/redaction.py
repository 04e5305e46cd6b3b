"""Credential-shaped text, found and replaced before anything is stored or logged.

One module for every place text is kept: the Submitter (the one door every edge goes through)
redacts a message before it reaches the ingress stream (and so the AOF), the event log redacts
what it appends, the store what it writes (requests, conversation titles), the agent handler what
goes into checkpoints, and the log processor every log line.

    found = redact_text("key AKIAIOSFODNN7EXAMPLE")   # Redacted(text, kinds)
    found.text   -> "key [redacted: AWS access key]"
    found.kinds  -> ("AWS access key",)
    redact("...") -> the text only

What counts as a credential: AWS access key ids (AKIA/ASIA...) and the 40-character secret keys
written next to them or labelled as such, Slack tokens (xox[abprs]-, xapp-), GitHub tokens
(ghp_/gho_/ghu_/ghs_/ghr_, github_pat_), OpenAI-style keys (sk-...), private key PEM blocks,
``password: ...`` / ``password=...`` (and secret, token, api key, passwd, pwd), and the
password inside a connection string (``postgres://user:PASSWORD@host``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.envelope import Envelope

MARK = "[redacted: {}]"
MARKER = re.compile(r"\[redacted: [^\]]{1,40}\]")

_AWS_KEY_ID = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")
# an AWS secret access key: 40 characters of base64; only taken as one next to a key id, or
# after a label, since 40 such characters alone may be anything (a hash, an id)
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AWS_SECRET_LABELLED = re.compile(
    r"(?i)\b(aws_secret_access_key|secret_access_key|aws_secret_key|secret access key|secret key)"
    r"(\s*(?:[:=]|\bis\b)\s*[\"']?)([A-Za-z0-9/+]{40})"
)
_PEM = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----.*?"
    r"(?:-----END \1-----|$)",
    re.DOTALL,
)
_TOKENS: list[tuple[str, re.Pattern[str]]] = [
    ("Slack token", re.compile(r"(?<![A-Za-z0-9])xox[abprse]-[A-Za-z0-9-]{6,}")),
    ("Slack app token", re.compile(r"(?<![A-Za-z0-9])xapp-[A-Za-z0-9-]{10,}")),
    ("GitHub token", re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{20,}")),
    ("GitHub token", re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{20,}")),
    ("API key", re.compile(r"(?<![A-Za-z0-9])sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}")),
]
# scheme://user:PASSWORD@host; a password made of ${...} or {...} is a template, not a secret
_URL_PASSWORD = re.compile(
    r"(?i)\b([a-z][a-z0-9+.-]{1,30}://[^\s:/@\"'<>]*:)([^\s@/\"'<>${}]{1,200})(@[^\s\"'<>]+)"
)
# password: hunter2 / password=hunter2 / "password": "hunter2" / password is hunter2
_LABELLED = re.compile(
    r"(?i)(\b(?:password|passwd|passphrase|pwd|secret|client_secret|token|api[_ -]?key|"
    r"access[_ -]?token|auth[_ -]?token)\b[\"']?)"
    r"(\s*(?:[:=]|\bis\b)\s*)"
    r"(\"[^\"\n]{1,200}\"|'[^'\n]{1,200}'|[^\s\"',;}]{1,200})"
)

# 패스워드: s3cr3t! / 비밀번호=hunter22: a Korean label with ":" or "=", as the English ones
# (암호화, "encryption", is no label; a password written in a sentence is answered by the honesty
# check, as in English)
_LABELLED_KO = re.compile(
    r"((?:비밀\s*번호|패스\s*워드|암호(?!화)|시크릿|토큰))"
    r"(\s*[:=]\s*)"
    r"([\"']?[A-Za-z0-9!@#$%^&*()_+\-=.~/]{4,200}[\"']?)"
)


@dataclass(frozen=True)
class Redacted:
    text: str
    kinds: tuple[str, ...]  # what was removed, in order of discovery, each kind once

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


def redact_text(text: str, *, labelled: bool = True) -> Redacted:
    """``text`` with every credential replaced by ``[redacted: KIND]``, and the kinds found.

    ``labelled=False`` leaves ``password = ...`` alone (for generated Terraform, where
    ``password = random_password.db.result`` is a reference, not a secret).
    """
    if not text:
        return Redacted(text, ())
    kinds: list[str] = []

    def sub(kind: str, pattern: re.Pattern[str], value: str,
            repl: Callable[[re.Match[str]], str] | None = None) -> str:
        def one(match: re.Match[str]) -> str:
            if MARKER.fullmatch(match.group(0)):
                return match.group(0)
            replaced = repl(match) if repl else MARK.format(kind)
            if replaced != match.group(0) and kind not in kinds:
                kinds.append(kind)
            return replaced

        return pattern.sub(one, value)

    out = sub("private key", _PEM, text)
    had_key_id = bool(_AWS_KEY_ID.search(out))
    out = sub("AWS access key", _AWS_KEY_ID, out)
    out = sub("AWS secret key", _AWS_SECRET_LABELLED, out,
              lambda m: f"{m.group(1)}{m.group(2)}{MARK.format('AWS secret key')}")
    if had_key_id:
        out = sub("AWS secret key", _AWS_SECRET, out)
    for kind, pattern in _TOKENS:
        out = sub(kind, pattern, out)
    out = sub("password in a URL", _URL_PASSWORD, out,
              lambda m: f"{m.group(1)}{MARK.format('password')}{m.group(3)}")
    if labelled:
        out = sub("password or secret", _LABELLED, out, _labelled)
        out = sub("password or secret", _LABELLED_KO, out, _labelled)
    return Redacted(out, tuple(kinds))


def _labelled(match: re.Match[str]) -> str:
    value = match.group(3)
    bare = value.strip("\"'")
    if MARKER.search(value) or bare.lower() in _NOT_SECRETS or _REFERENCE.match(bare):
        return match.group(0)
    if match.group(2).strip().lower() == "is" and bare.isalpha():
        return match.group(0)  # "the secret is kept in Secrets Manager": a sentence, no secret
    quote = value[0] if value[:1] in {'"', "'"} else ""
    return f"{match.group(1)}{match.group(2)}{quote}{MARK.format('secret')}{quote}"


# a Terraform reference or template where a password goes (var.db_password, ${...}), no secret
_REFERENCE = re.compile(r"^(\$\{|(var|local|data|module)\.[A-Za-z_]|[a-z][a-z0-9_]*\.[a-z_][\w-]*\.[a-z_])")
# words after "password:" that are no secret (a sentence about passwords, not one)
_NOT_SECRETS = {"", "none", "null", "true", "false", "required", "optional", "rotation",
                "manager", "policy", "managed", "generated", "random", "***"}


def redact(text: str) -> str:
    """The text with every credential replaced (what logs and stored errors use)."""
    return redact_text(text).text


def redact_data(value: Any, *, labelled: bool = False) -> Any:
    """Every string inside nested dicts/lists redacted (dict keys are kept as they are)."""
    if isinstance(value, str):
        return redact_text(value, labelled=labelled).text
    if isinstance(value, dict):
        return {k: redact_data(v, labelled=labelled) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_data(v, labelled=labelled) for v in value)
    return value


def removed_notice(kinds: tuple[str, ...]) -> str:
    """What the user is told when a message lost credentials on the way in."""
    what = ", ".join(kinds)
    return (f"archops removed what looked like a credential ({what}) from your message before "
            "storing it; nothing of it was kept. If it was real, rotate it.")


def redact_envelope(envelope: Envelope) -> tuple[Envelope, tuple[str, ...]]:
    """The envelope with credentials removed from what the user wrote, and what was removed."""
    update: dict[str, object] = {}
    kinds: list[str] = []
    if envelope.text:
        found = redact_text(envelope.text)
        if found.changed:
            update["text"], kinds = found.text, [*kinds, *found.kinds]
    if envelope.action is not None:
        found = redact_text(envelope.action.value)
        if found.changed:
            update["action"] = envelope.action.model_copy(update={"value": found.text})
            kinds += [k for k in found.kinds if k not in kinds]
    if not update:
        return envelope, ()
    return envelope.model_copy(update=update), tuple(dict.fromkeys(kinds))
