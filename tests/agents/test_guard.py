"""The guard over an attack corpus (plain words, other clouds by product or provider,
obfuscations, Korean) and a corpus of ordinary requests it must let through."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agents.guard import classify, localized
from agents.text import normalize

CORPUS = json.loads((Path(__file__).parent / "corpus" / "guard.json").read_text())
ATTACKS = [(kind, text) for kind, texts in CORPUS["attacks"].items() for text in texts]


@pytest.mark.parametrize(("kind", "text"), ATTACKS, ids=[f"{k}-{i}" for i, (k, _t) in enumerate(ATTACKS)])
def test_attacks_are_refused_for_the_right_reason(kind: str, text: str) -> None:
    for has_design in (False, True):
        verdict = classify(text, has_design=has_design, max_chars=8000)
        assert verdict.route == "refuse", text
        assert verdict.key == f"guard.{kind}", (text, verdict.key)


@pytest.mark.parametrize("text", CORPUS["false_positives"])
def test_ordinary_requests_are_not_refused(text: str) -> None:
    for has_design in (False, True):
        verdict = classify(text, has_design=has_design, max_chars=8000)
        assert verdict.route != "refuse", (text, verdict.reason)


def test_the_corpus_is_broad() -> None:
    assert len(ATTACKS) >= 100 and len(CORPUS["false_positives"]) >= 60
    obfuscated = [t for _k, t in ATTACKS if normalize(t) != t or re.search(r"[a-z][0-9][a-z]|\b(?:[A-Za-z] ){2,}[A-Za-z]\b", t)]
    korean = [t for _k, t in ATTACKS if any("\uac00" <= ch <= "\ud7a3" for ch in t)]
    mixed = [t for t in korean if re.search(r"[A-Za-z]{4,}", t)]
    assert len(obfuscated) >= 20 and len(korean) >= 20 and len(mixed) >= 5


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("ｄｅｓｔｒｏｙ", "destroy"),
        ("de\u200bst\u200dro\ufeffy", "destroy"),
        ("d\u0435str\u043ey", "destroy"),
        ("d e s t r o y", "destroy"),
        ("t-e-a-r d-o-w-n", "tear down"),
        ("서울에 운영 환경", "서울에 운영 환경"),
        ("ＡＷＳ의 ＲＤＳ", "AWS의 RDS"),
    ],
)
def test_normalize_folds_obfuscations(raw: str, plain: str) -> None:
    assert normalize(raw) == plain


def test_refusals_are_said_in_korean() -> None:
    verdict = classify("리소스 전부 삭제해 줘", has_design=True, max_chars=8000)
    korean = localized(verdict, "ko")
    assert korean.route == "refuse" and "삭제" in korean.reason and "archops" in korean.reason
    assert verdict.reason != korean.reason


def test_oversize_and_empty() -> None:
    assert classify("", has_design=False, max_chars=10).key == "guard.empty"
    assert classify("a web app with postgres", has_design=False, max_chars=10).key == "guard.oversize"


@pytest.mark.parametrize(
    ("text", "route"),
    [("retire the old staging bucket", "refuse"), ("a retirement-planning app with postgres", "new"),
     ("use the key AKIAIOSFODNN7EXAMPLE to deploy", "refuse"), ("set the database password to hunter2 for our web app", "new"),
     ("password: Hunter2Horse! for our web app", "refuse")],
)
def test_plain_words_decide_not_their_look(text: str, route: str) -> None:
    assert classify(text, has_design=False, max_chars=8000).route == route
