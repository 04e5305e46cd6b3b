"""Signed links: forged, expired, tampered, wrong-scope and rotated-out tokens are refused."""

from __future__ import annotations

import os
import stat

import pytest

from core.capability import Signer, load_or_create_key_file, signer_from
from core.errors import Forbidden

KEY_A = b"a" * 32
KEY_B = b"b" * 32


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_link_grants_what_it_names_and_nothing_else() -> None:
    signer = Signer([KEY_A])
    token = signer.issue("conversation", "conv-1", actions={"read"})
    cap = signer.verify(token, scope="conversation", subject="conv-1", action="read")
    assert cap.subject == "conv-1"
    with pytest.raises(Forbidden, match="does not grant write"):
        signer.verify(token, scope="conversation", subject="conv-1", action="write")
    with pytest.raises(Forbidden):
        signer.verify(token, scope="conversation", subject="conv-2")
    with pytest.raises(Forbidden):
        signer.verify(token, scope="design", subject="conv-1")


def test_expired_tampered_and_forged_links_are_refused() -> None:
    clock = Clock()
    signer = Signer([KEY_A], clock=clock)
    token = signer.issue("conversation", "conv-1", ttl_s=60)
    clock.now += 61
    with pytest.raises(Forbidden, match="expired"):
        signer.parse(token)
    clock.now -= 61
    body, mac = token.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for bad in (f"{flipped}.{mac}", f"{body}.{mac[:-1]}x", "", "x" * 5000, "not-a-token", f"{body}"):
        with pytest.raises(Forbidden):
            signer.parse(bad)
    forged = Signer([b"z" * 32], clock=clock).issue("conversation", "conv-1")
    with pytest.raises(Forbidden):
        signer.parse(forged)


def test_keys_rotate_new_first_old_still_verifies_until_dropped() -> None:
    old = Signer([KEY_A]).issue("design", "d-1")
    rotated = Signer([KEY_B, KEY_A])
    assert rotated.verify(old, scope="design", subject="d-1")
    new = rotated.issue("design", "d-1")
    assert Signer([KEY_B]).verify(new, scope="design", subject="d-1")
    with pytest.raises(Forbidden, match="no longer accepts"):
        Signer([KEY_B]).parse(old)


def test_embedded_key_file_is_private_and_stable(tmp_path) -> None:
    data = tmp_path / "data"
    key = load_or_create_key_file(data)
    assert len(key) == 32 and load_or_create_key_file(data) == key
    mode = stat.S_IMODE(os.stat(data / "capability.key").st_mode)
    assert mode == 0o600
    token = signer_from(None, data).issue("conversation", "c")
    assert signer_from(None, data).verify(token, scope="conversation", subject="c")
