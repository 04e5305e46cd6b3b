"""What the guard and the extractor read: the user's text normalized, and its language.

A request may arrive in full-width forms (ＡＷＳ, ｄｅｓｔｒｏｙ), with zero-width or soft-hyphen
characters inside words, with letters borrowed from other scripts that look Latin (Cyrillic
``е`` in ``dеstroy``), or spelt out letter by letter (``d e s t r o y``). ``normalize`` folds
all of these to the plain text a person reads, so a rule sees what the person meant: Unicode
NFKC (full-width and compatibility forms), zero-width and format characters removed, a table of
confusable letters mapped to Latin, and letter-by-letter spelling joined. Hangul is left as it
is (NFKC composes it), so Korean requests read the same.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["en", "ko"]

# zero-width and invisible format characters people (and attacks) slip into words
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0]")
# letters of other scripts that look like Latin ones (Unicode's confusables, the common part)
CONFUSABLES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
    "Ѕ": "S", "І": "I", "Ј": "J", "Ү": "Y", "ү": "y", "Ԁ": "D", "Ԍ": "G", "ԍ": "g",
    # Greek
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ϲ": "c",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin look-alikes and symbols
    "ı": "i", "ȷ": "j", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ʟ": "l", "ɴ": "n", "ʙ": "b", "ꜱ": "s", "ғ": "f", "ǫ": "q", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ʀ": "r", "ʏ": "y", "ᴀ": "a", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e",
    "ᴋ": "k", "ᴍ": "m", "ᴏ": "o", "ᴘ": "p", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ℓ": "l",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-",
})
# "d e s t r o y", "d.e.s.t.r.o.y", "d-e-s-t-r-o-y": four or more single letters, one separator kind
_SPELLED = re.compile(r"(?<![A-Za-z])[A-Za-z]([ .\-_*])[A-Za-z](?:\1[A-Za-z]){2,}(?![A-Za-z])")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def _join_spelled(match: re.Match[str]) -> str:
    sep = match.group(1)
    text = match.group(0)
    parts = text.split(sep)
    # "a b c d" runs of one-letter English words are rare; a run that spells a word joins
    return "".join(parts) if all(len(p) == 1 for p in parts) else text


def normalize(text: str | None) -> str:
    """The text as a person reads it: NFKC, no invisible characters, confusables mapped."""
    out = unicodedata.normalize("NFKC", text or "")
    out = _INVISIBLE.sub("", out)
    out = out.translate(CONFUSABLES)
    # combining marks on Latin letters used to disguise a word ("d̶e̶s̶t̶r̶o̶y̶")
    out = "".join(ch for ch in unicodedata.normalize("NFD", out) if not (unicodedata.combining(ch) and ch not in "\u0300\u0301\u0303\u0308\u0327"))
    out = unicodedata.normalize("NFC", out)
    out = _SPELLED.sub(_join_spelled, out)
    return out


def language(text: str | None, current: Language | None = None) -> Language:
    """The language to answer in: Korean when the text has Hangul; English when it is plainly
    English; otherwise the conversation's language so far (English by default)."""
    body = text or ""
    if _HANGUL.search(body):
        return "ko"
    if current and len(_LATIN_WORD.findall(body)) < 4:
        return current
    return "en" if _LATIN_WORD.search(body) or not current else current
