"""Signed, expiring capabilities: a link that grants one action on one conversation or design.

A link posted in Slack (a live stream, a diagram) carries a capability rather than relying on an
unguessable id: ``Signer.issue("conversation", conv_id, actions={"read"}, ttl_s=...)`` gives a
token; whoever presents it may do exactly that until it expires, and nothing else.

    token = base64url(payload JSON) "." base64url(HMAC-SHA256(key, kid "." payload))
    payload = {"v": 1, "k": kid, "s": scope, "id": subject, "a": [actions], "p": principal,
               "exp": unix seconds}

Keys rotate: a :class:`Signer` signs with its first key and verifies with any of them, so a new
key can be put first while links signed with the previous one stay valid until they expire.
The key material is a server secret (``ARCHOPS_SECRET_KEYS``, comma-separated, newest first) or,
on the embedded default, a random key kept in the data folder with mode 0600.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import ConfigurationError, Forbidden

Scope = Literal["conversation", "design"]
SCOPES: frozenset[str] = frozenset({"conversation", "design"})
ACTIONS: frozenset[str] = frozenset({"read", "write"})
MAX_TOKEN_CHARS = 2048
KEY_FILE = "capability.key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"archops-capability:" + key).hexdigest()[:12]


@dataclass(frozen=True)
class Capability:
    scope: str
    subject: str
    actions: frozenset[str]
    principal: str | None
    expires_at: int

    def allows(self, scope: str, subject: str, action: str) -> bool:
        return self.scope == scope and self.subject == subject and action in self.actions


class Signer:
    """Issues and verifies capabilities with rotatable HMAC keys (the first one signs)."""

    def __init__(self, keys: Sequence[bytes], *, clock: object = None) -> None:
        usable = [k for k in keys if k]
        if not usable:
            raise ConfigurationError("no capability key", hint="set ARCHOPS_SECRET_KEYS")
        if any(len(k) < 16 for k in usable):
            raise ConfigurationError("a capability key is shorter than 16 bytes",
                                     hint="use at least 32 random bytes per key")
        self._keys = {key_id(k): k for k in usable}
        self._current = key_id(usable[0])
        self._now = clock if callable(clock) else time.time

    def issue(self, scope: str, subject: str, *, actions: Iterable[str] = ("read",),
              ttl_s: int = 7 * 24 * 3600, principal: str | None = None) -> str:
        wanted = frozenset(actions)
        if scope not in SCOPES or not subject or not wanted or not wanted <= ACTIONS:
            raise ValueError(f"bad capability request: {scope!r} {subject!r} {sorted(wanted)}")
        if ttl_s <= 0:
            raise ValueError("a capability must expire in the future")
        payload = json.dumps(
            {"v": 1, "k": self._current, "s": scope, "id": subject, "a": sorted(wanted),
             "p": principal, "exp": int(self._now()) + int(ttl_s)},
            separators=(",", ":"), sort_keys=True,
        ).encode()
        body = _b64(payload)
        return f"{body}.{self._mac(self._keys[self._current], self._current, body)}"

    @staticmethod
    def _mac(key: bytes, kid: str, body: str) -> str:
        return _b64(hmac.new(key, f"{kid}.{body}".encode(), hashlib.sha256).digest())

    def parse(self, token: str) -> Capability:
        """The capability a token carries; :class:`Forbidden` if forged, tampered or expired."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise Forbidden("the link's token is missing or malformed")
        body, _, mac = token.partition(".")
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError) as exc:
            raise Forbidden("the link's token is malformed") from exc
        if not isinstance(payload, dict) or payload.get("v") != 1:
            raise Forbidden("the link's token is malformed")
        kid = payload.get("k")
        if not isinstance(kid, str) or kid not in self._keys:
            raise Forbidden("the link was signed with a key this server no longer accepts",
                            hint="ask for a new link")
        if not hmac.compare_digest(self._mac(self._keys[kid], kid, body), mac):
            raise Forbidden("the link's signature does not match")
        exp = payload.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool) or exp <= self._now():
            raise Forbidden("the link has expired", hint="ask for a new link")
        actions = payload.get("a")
        if (payload.get("s") not in SCOPES or not isinstance(payload.get("id"), str)
                or not isinstance(actions, list) or not set(actions) <= ACTIONS):
            raise Forbidden("the link's token is malformed")
        principal = payload.get("p")
        return Capability(payload["s"], payload["id"], frozenset(actions),
                          principal if isinstance(principal, str) else None, exp)

    def verify(self, token: str, *, scope: str, subject: str, action: str = "read") -> Capability:
        """The capability if it grants ``action`` on ``scope``/``subject``, else Forbidden."""
        cap = self.parse(token)
        if not cap.allows(scope, subject, action):
            raise Forbidden(f"the link does not grant {action} on this {scope}")
        return cap


def generate_key() -> bytes:
    return secrets.token_bytes(32)


def load_or_create_key_file(data_dir: Path) -> bytes:
    """The embedded default's key: created once with mode 0600 in the (0700) data folder."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        return base64.urlsafe_b64decode(key + b"=" * (-len(key) % 4))
    with os.fdopen(fd, "wb") as out:
        out.write(base64.urlsafe_b64encode(generate_key()))
    return load_or_create_key_file(data_dir)


def signer_from(keys_setting: str | None, data_dir: Path) -> Signer:
    """A Signer from ``ARCHOPS_SECRET_KEYS`` (comma-separated base64url, newest first), else the
    key file in the data folder."""
    if keys_setting:
        keys = []
        for part in keys_setting.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                keys.append(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            except ValueError as exc:
                raise ConfigurationError("ARCHOPS_SECRET_KEYS holds a key that is not base64url",
                                         hint="generate one with: python -c 'import secrets,base64;"
                                              "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'") from exc
        return Signer(keys)
    return Signer([load_or_create_key_file(data_dir)])
