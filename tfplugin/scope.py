"""What one plan needs of a provider's schema: the types its module names, without the nested
blocks it never writes.

A provider's whole schema is large (hashicorp/aws: 1,735 resources, 685 data sources) and a few of
its types are huge: the WAFv2 statement tree alone is ~10,000 nested blocks, and Terraform core
spends seconds per plan walking it (its decoder spec, implied type and plan checks), whether the
module writes three levels of ``and_statement`` or none. Before a plan archops writes every word
of the module into :data:`SCOPE_FILE` of the plan's working directory (which Terraform's
``-chdir`` makes the plugin's), and the plugin then serves

- only the resource and data source types whose names occur in the module, and
- of each, every attribute, every top-level block and every block that must be present
  (``min_items`` > 0), and below the top level only the optional nested blocks whose names occur
  somewhere in the module (as a block, a ``dynamic`` block or a reference).

For the module's own configuration this is the same plan: a block type the text never names is
absent from every configuration that could be decoded with it (an empty list, or null), so
Terraform's diagnostics, the planned values and the plan's summary do not change. Without the
file (a plugin started by anything else) the whole schema is served.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

SCOPE_FILE = Path(".terraform") / "archops-scope.json"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def words_of(files: Mapping[str, str]) -> list[str]:
    """Every identifier-like word of the module's files (a superset of every name it uses)."""
    found: set[str] = set()
    for text in files.values():
        found.update(_WORD.findall(text))
    return sorted(found)


def write(workdir: str | Path, files: Mapping[str, str]) -> None:
    target = Path(workdir) / SCOPE_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"words": words_of(files)}), encoding="utf-8")


def read(workdir: str | Path | None = None) -> frozenset[str] | None:
    """The words of the module being planned, or None (serve the whole schema)."""
    path = Path(workdir or Path.cwd()) / SCOPE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    words = data.get("words") if isinstance(data, dict) else None
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        return None
    return frozenset(words)


def prune(block: dict[str, Any], words: frozenset[str], depth: int = 0) -> dict[str, Any]:
    """``block`` with the optional nested blocks below the top level that no word names."""
    kept: dict[str, Any] = {}
    for name, nested in (block.get("block_types") or {}).items():
        if depth == 0 or int(nested.get("min_items") or 0) > 0 or name in words:
            kept[name] = {**nested, "block": prune(nested["block"], words, depth + 1)}
    return {**block, "block_types": kept}


def capabilities() -> Any:
    """What the plugin tells Terraform it can do. ``get_provider_schema_optional`` stays off:
    with it, Terraform keeps the first schema it gets in a process-wide cache for every later
    plan in that process (archops' planner plans many modules, each with its own scope)."""
    from tf.gen import tfplugin_pb2 as pb

    return pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=False)


def cached_response(provider: str, build: Callable[[], Any], workdir: str | Path | None = None) -> Any:
    """The scoped GetProviderSchema response, built by the plan's first process of ``provider``
    and read by the others (Terraform starts several per plan)."""
    from google.protobuf.message import DecodeError
    from tf.gen import tfplugin_pb2 as pb

    path = Path(workdir or Path.cwd()) / SCOPE_FILE.parent / f"archops-scope-{provider}.pb"
    try:
        return pb.GetProviderSchema.Response.FromString(path.read_bytes())
    except (OSError, DecodeError):
        pass
    response = build()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(response.SerializeToString())
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
    return response


# -- tfplugin6 -----------------------------------------------------------------------------
def block_proto(block: dict[str, Any]) -> Any:
    """A schema block (archops' plugin schema shape) as tfplugin6's ``Schema.Block``."""
    from tf.gen import tfplugin_pb2 as pb

    nesting = {"single": pb.Schema.NestedBlock.SINGLE, "list": pb.Schema.NestedBlock.LIST,
               "set": pb.Schema.NestedBlock.SET, "map": pb.Schema.NestedBlock.MAP}
    out = pb.Schema.Block(version=0)
    for name in sorted(block.get("attributes") or {}):
        attr = block["attributes"][name]
        out.attributes.append(pb.Schema.Attribute(
            name=name, type=json.dumps(attr["type"], separators=(",", ":")).encode(),
            required=bool(attr.get("required")), optional=bool(attr.get("optional")),
            computed=bool(attr.get("computed")), sensitive=bool(attr.get("sensitive")),
        ))
    for name in sorted(block.get("block_types") or {}):
        nested = block["block_types"][name]
        out.block_types.append(pb.Schema.NestedBlock(
            type_name=name, block=block_proto(nested["block"]), nesting=nesting[nested["nesting"]],
            min_items=int(nested.get("min_items", 0)), max_items=int(nested.get("max_items", 0)),
        ))
    return out


def schema_response(provider_config: dict[str, Any], resources: Mapping[str, dict[str, Any]],
                    data_sources: Mapping[str, dict[str, Any]], functions: Mapping[str, Any]) -> Any:
    """tfplugin6's GetProviderSchema response for these blocks."""
    from tf.gen import tfplugin_pb2 as pb

    response = pb.GetProviderSchema.Response(
        provider=pb.Schema(version=0, block=block_proto(provider_config)),
        server_capabilities=capabilities(),
    )
    for name, block in resources.items():
        response.resource_schemas[name].CopyFrom(pb.Schema(version=0, block=block_proto(block)))
    for name, block in data_sources.items():
        response.data_source_schemas[name].CopyFrom(pb.Schema(version=0, block=block_proto(block)))
    for name, fn in functions.items():
        response.functions[name].CopyFrom(fn)
    return response
