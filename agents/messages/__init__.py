"""One message catalog per language: every sentence archops says to a person, by key.

Why Python modules rather than gettext ``.po``/``.mo`` files: the catalogs are plain dicts that
import with the package (no compile step, no binary ``.mo`` in the repository, nothing to install
in the container), a test checks that every language has every key with the same ``{fields}``,
and a missing key fails loudly in tests instead of silently falling back. Like gettext, the
English text is the default and any other language falls back to it key by key; adding a
language is adding one module and one entry in ``CATALOGS``.

``t(key, lang, **fields)`` renders a message; ``label(kind, value, lang)`` names a choice value
(environment, component...) in the language.
"""

from __future__ import annotations

import string
from typing import Any

from agents.messages import en, ko

CATALOGS: dict[str, dict[str, str]] = {"en": en.MESSAGES, "ko": ko.MESSAGES}
LANGUAGES = tuple(CATALOGS)


def t(key: str, lang: str | None = "en", /, **fields: Any) -> str:
    """The message ``key`` in ``lang`` (English when the language lacks it), filled in."""
    catalog = CATALOGS.get(lang or "en", en.MESSAGES)
    template = catalog.get(key)
    if template is None:
        template = en.MESSAGES[key]
    return template.format(**fields) if fields else template


def has(key: str) -> bool:
    return key in en.MESSAGES


def fields_of(template: str) -> set[str]:
    """The ``{fields}`` a template fills, to check that translations agree."""
    return {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}
