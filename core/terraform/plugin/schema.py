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


# -- tfplugin6 -----------------------------------------------------------------------------
def block_proto(block: dict[str, Any]) -> Any:
    from tf.gen import tfplugin_pb2 as pb

    nesting = {"single": pb.Schema.NestedBlock.SINGLE, "list": pb.Schema.NestedBlock.LIST,
               "set": pb.Schema.NestedBlock.SET, "map": pb.Schema.NestedBlock.MAP}
    out = pb.Schema.Block(version=0)
    for name in sorted(block.get("attributes", {})):
        attr = block["attributes"][name]
        out.attributes.append(pb.Schema.Attribute(
            name=name, type=json.dumps(attr["type"], separators=(",", ":")).encode(),
            required=bool(attr.get("required")), optional=bool(attr.get("optional")),
            computed=bool(attr.get("computed")), sensitive=bool(attr.get("sensitive")),
        ))
    for name in sorted(block.get("block_types", {})):
        nested = block["block_types"][name]
        out.block_types.append(pb.Schema.NestedBlock(
            type_name=name, block=block_proto(nested["block"]), nesting=nesting[nested["nesting"]],
            min_items=int(nested.get("min_items", 0)), max_items=int(nested.get("max_items", 0)),
        ))
    return out


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
    from tf.gen import tfplugin_pb2 as pb

    data = load(provider)
    response = pb.GetProviderSchema.Response(
        provider=pb.Schema(version=0, block=block_proto(data["provider_config"])),
        server_capabilities=pb.ServerCapabilities(plan_destroy=True,
                                                  get_provider_schema_optional=True),
    )
    for name, block in data["resources"].items():
        response.resource_schemas[name].CopyFrom(pb.Schema(version=0, block=block_proto(block)))
    for name, block in data["data_sources"].items():
        response.data_source_schemas[name].CopyFrom(pb.Schema(version=0, block=block_proto(block)))
    for name, fn in functions.items():
        response.functions[name].CopyFrom(fn)
    return response
