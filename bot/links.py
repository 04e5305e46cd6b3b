"""Links from Slack to the web app, each carrying a capability (:mod:`core.capability`).

A card links to its conversation's live stream (``/c/{id}``) and diagram (``/c/{id}/diagram``);
each link carries ``cap=``: read access to that one conversation, signed and expiring. Anyone in
the channel can see the card, so a link grants no more than what the thread already shows, and
nothing for any other conversation. :func:`parse` reads such a link back (for unfurls).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

LINK_TTL_S = 7 * 24 * 3600
KINDS = ("stream", "diagram")


class _Signer(Protocol):
    def issue(self, scope: str, subject: str, *, actions: Any = ..., ttl_s: int = ...,
              principal: str | None = ...) -> str: ...


@dataclass(frozen=True)
class Links:
    """Makes the web app's links for one installation (``ARCHOPS_PUBLIC_URL``)."""

    public_url: str
    signer: _Signer
    ttl_s: int = LINK_TTL_S

    @property
    def base(self) -> str:
        return self.public_url.rstrip("/")

    def _cap(self, conversation_id: str) -> str:
        token = self.signer.issue("conversation", conversation_id, actions={"read"},
                                  ttl_s=self.ttl_s)
        return quote(token, safe=".-_")

    def stream(self, conversation_id: str) -> str:
        return f"{self.base}/c/{quote(conversation_id, safe='')}?cap={self._cap(conversation_id)}"

    def diagram(self, conversation_id: str) -> str:
        return (f"{self.base}/c/{quote(conversation_id, safe='')}/diagram"
                f"?cap={self._cap(conversation_id)}")

    def conversation(self, conversation_id: str) -> str:
        """The chat page opened on the conversation (it redirects to the stream)."""
        return (f"{self.base}/?conversation={quote(conversation_id, safe='')}"
                f"&cap={self._cap(conversation_id)}")


@dataclass(frozen=True)
class ArchopsLink:
    kind: str  # stream | diagram
    conversation_id: str
    cap: str | None


def parse(url: str, public_url: str | None) -> ArchopsLink | None:
    """The conversation an archops link opens, or None for any other link."""
    if not public_url:
        return None
    base, link = urlsplit(public_url.rstrip("/")), urlsplit(url)
    if (link.scheme, link.netloc.lower()) != (base.scheme, base.netloc.lower()):
        return None
    path = link.path[len(base.path):] if link.path.startswith(base.path) else None
    if path is None:
        return None
    query = parse_qs(link.query)
    caps = query.get("cap") or []
    cap = caps[0] if caps else None
    if path in {"", "/"} and query.get("conversation"):
        return ArchopsLink("stream", query["conversation"][0], cap)
    parts = path.strip("/").split("/")
    if len(parts) in {2, 3} and parts[0] == "c" and parts[1]:
        kind = "diagram" if len(parts) == 3 and parts[2] == "diagram" else "stream"
        if len(parts) == 3 and parts[2] != "diagram":
            return None
        return ArchopsLink(kind, unquote(parts[1]), cap)
    return None
