"""Credential-shaped text is cut before a message is stored, in English and in Korean, and
ordinary words about passwords or encryption are left alone."""

from __future__ import annotations

import pytest

from core.redaction import redact, redact_text


@pytest.mark.parametrize("text, secret", [
    # a password in a sentence is answered by the honesty check (built around, never echoed)
    ("set the db password to hunter22 please", None),
    ("password: hunter22", "hunter22"),
    ("비밀번호=hunter22 로 해줘", "hunter22"),
    ("DB 패스워드: s3cr3t!", "s3cr3t!"),
    ("관리자 암호: Pa55word", "Pa55word"),
    ("토큰 = abcd1234efgh", "abcd1234efgh"),
])
def test_labelled_secrets_are_cut(text: str, secret: str | None) -> None:
    out = redact_text(text)
    if secret is None:
        assert out.text == text
        return
    assert secret not in out.text and "[redacted: secret]" in out.text
    assert out.kinds == ("password or secret",)


@pytest.mark.parametrize("text", [
    "암호화된 버킷을 만들어 주세요",       # "encrypted": no label
    "비밀번호 정책은 강하게 해 주세요",     # a password policy, no value
    "the password is managed by RDS",
    "rotate the password to keep it fresh",
])
def test_words_about_secrets_stay(text: str) -> None:
    assert redact(text) == text
