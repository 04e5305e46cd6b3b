"""Where the validation tools live: the derived provider schema and checkov's own venv.

Both are large, derived from PyPI packages at setup (``scripts/setup-validation``) and kept
outside git, under ``$ARCHOPS_CACHE_DIR`` or ``~/.cache/archops``.
"""

from __future__ import annotations

import os
from pathlib import Path

SETUP_HINT = "run scripts/setup-validation once (it derives the schema and installs checkov)"


def cache_dir() -> Path:
    """The cache folder: ``$ARCHOPS_CACHE_DIR`` when set, else ``~/.cache/archops``."""
    env = os.environ.get("ARCHOPS_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archops"


def schema_path() -> Path:
    """The compact AWS provider schema written by :mod:`core.terraform.schema_derive`."""
    return cache_dir() / "aws-provider-schema.json"


def checkov_bin() -> Path:
    """The checkov executable inside its own venv (it pins an old boto3, so it lives apart)."""
    return cache_dir() / "checkov-venv" / "bin" / "checkov"
