"""The plugin schemas: where they live, how they load, and their tfplugin6 form.

One JSON file per provider (``plugin-schema-<name>.json``, written by
:mod:`core.terraform.plugin.derive` at setup) and, beside it, the serialized
``GetProviderSchema`` response (``.pb``), so that a provider process answers Terraform's first
call without rebuilding a 1.6 MB message.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError
from core.terraform.paths import SETUP_HINT, cache_dir

# the providers archops' modules use: Terraform name -> (PyPI package of the cdktn bindings)
PROVIDERS: dict[str, str] = {
    "aws": "cdktn-provider-aws==25.8.1",
    "random": "cdktn-provider-random==15.0.1",
    "archive": "cdktn-provider-archive==14.0.1",
    "tls": "cdktn-provider-tls==14.1.1",
    "null": "cdktn-provider-null==15.0.2",
    "time": "cdktn-provider-time==14.0.2",
}


def schema_file(provider: str) -> Path:
    return cache_dir() / "plugin" / f"plugin-schema-{provider}.json"


def proto_file(provider: str) -> Path:
    return schema_file(provider).with_suffix(".pb")


def marshal_file(provider: str) -> Path:
    return schema_file(provider).with_suffix(".marshal")


@lru_cache(maxsize=8)
def load(provider: str) -> dict[str, Any]:
    path = schema_file(provider)
    if not path.is_file():
        raise ConfigurationError(f"no plugin schema for the {provider} provider at {path}",
                                 hint=SETUP_HINT)
    data: dict[str, Any] = json.loads(path.read_text())
    for block in (*data["resources"].values(), *data["data_sources"].values()):
        _normalize(block)
    _normalize(data["provider_config"])
    return data


def _normalize(block: dict[str, Any]) -> None:
    block.setdefault("attributes", {})
    block.setdefault("block_types", {})
    for nested in block["block_types"].values():
        _normalize(nested["block"])


def write_plugin_files(provider: str) -> None:
    """What a plugin process reads at start, prepared once at setup: the serialized
    GetProviderSchema response, and each type's block in marshal form (a plan unmarshals only the
    types it uses)."""
    import marshal

    from tfplugin.server import functions_proto

    load.cache_clear()
    response = build_schema_response(provider, functions_proto() if provider == "aws" else {})
    data = load(provider)
    per_type = {kind: {name: marshal.dumps(block) for name, block in data[kind].items()}
                for kind in ("resources", "data_sources")}
    per_type["provider_config"] = {"": marshal.dumps(data["provider_config"])}
    for target, blob in ((proto_file(provider), response.SerializeToString()),
                         (marshal_file(provider), marshal.dumps(per_type))):
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_bytes(blob)
        tmp.replace(target)


def plugin_files_current(provider: str) -> bool:
    src = schema_file(provider)
    return src.is_file() and all(
        p.is_file() and p.stat().st_mtime >= src.stat().st_mtime
        for p in (proto_file(provider), marshal_file(provider)))


def build_schema_response(provider: str, functions: dict[str, Any]) -> Any:
    from tfplugin.scope import schema_response

    data = load(provider)
    return schema_response(data["provider_config"], data["resources"], data["data_sources"],
                           functions)
