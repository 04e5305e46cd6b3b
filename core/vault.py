"""Secrets kept at rest (a person's GitHub token), encrypted with keys that rotate.

    vault = vault_from(settings.encryption_keys, settings.data_dir)
    sealed = vault.seal("gho_...")      # what the database holds
    vault.open(sealed)                  # -> "gho_..."; SealBroken when tampered or the key is gone

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) rather than a construction of our
own: it authenticates what it decrypts and carries a timestamp. Keys come from
``ARCHOPS_ENCRYPTION_KEYS`` (Fernet keys, comma-separated, newest first: the first encrypts, all
decrypt, so a new key can be put first and the old one dropped once :meth:`Vault.rotate` has
re-sealed what was stored), or, on the embedded default, a key created once in the data folder
with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import ArchopsError, ConfigurationError

KEY_FILE = "vault.key"


class SealBroken(ArchopsError):
    """A sealed value that no key opens (tampered with, or its key was dropped)."""


class Vault:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ConfigurationError("no encryption key", hint="set ARCHOPS_ENCRYPTION_KEYS")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "an encryption key is not a Fernet key (32 url-safe base64-encoded bytes)",
                hint="make one with: python -c 'from cryptography.fernet import Fernet; "
                     "print(Fernet.generate_key().decode())'",
            ) from exc

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SealBroken("a stored secret cannot be decrypted (its key is gone or it was "
                             "altered)", hint="link the account again") from exc

    def rotate(self, sealed: str) -> str:
        """The same secret sealed with the newest key."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise SealBroken("a stored secret cannot be decrypted") from exc


def _key_file(data_dir: Path) -> bytes:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if key:
            return key
        path.unlink()
        return _key_file(data_dir)
    with os.fdopen(fd, "wb") as out:
        out.write(Fernet.generate_key())
    return _key_file(data_dir)


def vault_from(keys_setting: str | None, data_dir: Path) -> Vault:
    """The vault of ``ARCHOPS_ENCRYPTION_KEYS``, else of the key file in the data folder."""
    if keys_setting:
        return Vault([k.strip().encode() for k in keys_setting.split(",") if k.strip()])
    return Vault([_key_file(Path(data_dir))])
