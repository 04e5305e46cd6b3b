"""Branch names and the trailers that make a commit archops' own.

One branch per conversation: ``archops/<project>/<slug>``, the slug made of the conversation's
first words and a short digest of its id, so the name is the same on every delivery (and after a
crash) without being stored first. Each commit archops writes ends with trailers naming its
conversation, request and design version; that is how a delivery tells its own commits from
someone else's, and how a redelivered request finds the commit it already made.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

BRANCH_PREFIX = "archops"
TRAILER_CONVERSATION = "Archops-Conversation"
TRAILER_REQUEST = "Archops-Request"
TRAILER_VERSION = "Archops-Version"
_TRAILER = re.compile(r"^(Archops-[A-Za-z]+): (.+)$", re.M)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"a", "an", "the", "and", "or", "with", "for", "of", "to", "in", "on", "our", "my",
         "we", "i", "need", "want", "please", "some", "that", "is", "it"}


def slug(text: str | None, conversation_id: str, max_words: int = 6) -> str:
    """``saas-web-app-postgres-1a2b3c``: the first words (ASCII), then the id's digest."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    words = [w for w in _WORD.findall(ascii_text.lower()) if w not in _STOP][:max_words]
    digest = hashlib.sha256(conversation_id.encode()).hexdigest()[:6]
    head = "-".join(words)[:40].strip("-")
    return f"{head}-{digest}" if head else f"design-{digest}"


def ref_part(value: str) -> str:
    """A name made safe as one component of a git ref (``git check-ref-format``)."""
    part = re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-.")
    part = re.sub(r"\.{2,}", ".", part)
    while part.endswith(".lock"):
        part = part[: -len(".lock")]
    return part[:60] or "project"


def branch_name(project_id: str, first_text: str | None, conversation_id: str) -> str:
    return f"{BRANCH_PREFIX}/{ref_part(project_id)}/{slug(first_text, conversation_id)}"


def trailers(message: str) -> dict[str, str]:
    """The ``Archops-*`` trailers of a commit message, by name."""
    return {name: value.strip() for name, value in _TRAILER.findall(message or "")}


def with_trailers(message: str, conversation_id: str, request_id: str, version: int) -> str:
    body = message.rstrip("\n")
    return (f"{body}\n\n{TRAILER_CONVERSATION}: {conversation_id}\n"
            f"{TRAILER_REQUEST}: {request_id}\n{TRAILER_VERSION}: {version}\n")
