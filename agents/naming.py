"""The project's default name: from the request, else the conversation's own.

Every resource name, the state key and the bucket names start with the project's name, so two
requests that both fell back to one constant (``app``) would share state and names in one
account. When the request names no product (the extractor reads product names and most
domains), the domain's own host name does ("shop.example.com" -> ``shop``); failing that the
name is ``app-`` and four characters of a hash of the conversation id: stable for the
conversation (a follow-up keeps it), different from every other one.
"""

from __future__ import annotations

import hashlib
import re

from agents.requirements import Requirements

# host labels that name a role, not a product ("www.example.com" is nobody's project)
_GENERIC = frozenset({"www", "app", "api", "web", "m", "mobile", "dev", "staging", "prod", "test", "admin",
                      "portal", "my", "static", "cdn", "assets", "example", "localhost"})


def default_project(req: Requirements, conversation_id: str) -> str:
    """The project name archops assumes when the request gives none."""
    return from_domain(req.domain) or conversation_slug(conversation_id)


def from_domain(domain: str | None) -> str | None:
    """The first label of a domain that names something (``shop.example.com`` -> ``shop``)."""
    for label in (domain or "").lower().split(".")[:-1]:
        slug = re.sub(r"[^a-z0-9-]", "-", label).strip("-")[:31].strip("-")
        if slug and slug[0].isalpha() and slug not in _GENERIC:
            return slug
    return None


def conversation_slug(conversation_id: str) -> str:
    """``app-`` and four hex characters of the conversation id's hash."""
    return "app-" + hashlib.sha256(conversation_id.encode()).hexdigest()[:4]
