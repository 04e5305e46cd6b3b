"""The AWS provider schema archops checks against, derived at setup and cached outside git.

``PROVIDER_VERSION`` is the hashicorp/aws release the derived schema describes; generated
``versions.tf`` pins it so that what archops checked is what Terraform will run. The schema file
is written by :mod:`core.terraform.schema_derive` (``scripts/setup-validation``); loading it is a
single JSON read (~0.05 s) done once per process.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError
from core.terraform.paths import SETUP_HINT, schema_path

PROVIDER_VERSION = "6.69.1"
# the cdktn-provider-aws release whose assembly describes PROVIDER_VERSION
SCHEMA_PACKAGE = "cdktn-provider-aws==25.8.1"


@dataclass(frozen=True)
class BlockSchema:
    """Arguments (name -> (type, required)) and nested blocks of one block."""

    raw: dict[str, Any]

    @property
    def open(self) -> bool:
        """A recursive block cut short at derivation: its insides are not checked."""
        return bool(self.raw.get("open"))

    @property
    def arguments(self) -> dict[str, list[Any]]:
        return self.raw["a"]

    @property
    def blocks(self) -> dict[str, list[Any]]:
        return self.raw["b"]

    @property
    def attributes(self) -> list[str]:
        """What the resource exports to references (arguments and computed attributes)."""
        return self.raw.get("x", [])

    def block(self, name: str) -> tuple[str, bool, BlockSchema] | None:
        entry = self.blocks.get(name)
        return (entry[0], bool(entry[1]), BlockSchema(entry[2])) if entry else None


@dataclass(frozen=True)
class ProviderSchema:
    version: str
    source: str
    resources: dict[str, Any]
    data_sources: dict[str, Any]

    def resource(self, rtype: str, data: bool = False) -> BlockSchema | None:
        table = self.data_sources if data else self.resources
        entry = table.get(rtype)
        return BlockSchema(entry) if entry else None

    def nearest_type(self, rtype: str, data: bool = False) -> str | None:
        return nearest(rtype, self.data_sources if data else self.resources)


def nearest(name: str, choices: Any) -> str | None:
    """The closest valid name, for a hint (``aws_s3_bukcet`` -> ``aws_s3_bucket``)."""
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


@lru_cache(maxsize=4)
def _load(path: Path, mtime: float) -> ProviderSchema:
    data = json.loads(path.read_text())
    return ProviderSchema(
        data["provider_version"], data.get("source", ""), data["resources"], data["data_sources"]
    )


def load_schema(path: Path | None = None) -> ProviderSchema:
    """The cached derived schema; ConfigurationError (with the setup hint) when absent."""
    target = path or schema_path()
    try:
        mtime = target.stat().st_mtime
    except FileNotFoundError:
        raise ConfigurationError(
            f"the AWS provider schema is not derived yet ({target} is missing)", hint=SETUP_HINT
        ) from None
    try:
        return _load(target, mtime)
    except (ValueError, KeyError) as exc:
        raise ConfigurationError(f"the schema cache {target} is damaged", hint=SETUP_HINT) from exc


def schema_available() -> bool:
    return schema_path().is_file()
