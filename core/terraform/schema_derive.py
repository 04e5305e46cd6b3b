"""Derive archops' compact AWS provider schema from the published cdktn-provider-aws wheel.

No Terraform provider can be downloaded where archops runs, but the cdktn-provider-aws wheel on
PyPI carries a JSII assembly generated from hashicorp/aws itself: every resource and data source
with each argument's type, whether it is optional, and its nested blocks. The Terraform name of a
property is not stored as such; it is the fragment of the property's documentation link
(``.../resources/security_group#cidr_blocks``). This module reads that assembly once, at setup,
and writes only what the checks need:

    {"provider_version": "6.69.1", "source": "cdktn-provider-aws 25.8.1",
     "resources": {"aws_vpc": S, ...}, "data_sources": {"aws_ami": S, ...}}
    S = {"a": {arg: [type, required]}, "b": {block: [nesting, required, S]}, "x": [attribute]}

``type`` is a Terraform type string (``string``, ``number``, ``bool``, ``list(string)``,
``map(string)``, ``any``); ``nesting`` is ``single`` or ``list``; ``x`` lists every attribute a
resource exports (arguments and computed ones).

Run as ``python -m core.terraform.schema_derive [WHEEL_OR_CACHE_DIR]``.
"""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError
from core.terraform.paths import cache_dir, schema_path

_LINK = re.compile(r"\{@link https?://\S+/(resources|data-sources)/(\w+)#(\w+) ")
_CLASS_LINK = re.compile(r"\{@link https?://\S+/aws/([\d.]+)/docs/(resources|data-sources)/\w+ (\w+)\}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake(name: str) -> str:
    """camelCase -> snake_case, the fallback when a property carries no documentation link."""
    return _CAMEL.sub("_", name).lower()


def _tf_name(prop: dict[str, Any]) -> str:
    docs = prop.get("docs", {})
    text = f"{docs.get('summary', '')} {docs.get('remarks', '')}"
    match = _LINK.search(text)
    return match.group(3) if match else snake(prop["name"])


class _Deriver:
    """Turns JSII types into compact schema entries, memoising nested structs."""

    def __init__(self, types: dict[str, Any]) -> None:
        self.types = types
        self.memo: dict[str, dict[str, Any]] = {}
        self.stack: set[str] = set()

    def type_string(self, ref: dict[str, Any]) -> str:
        if "primitive" in ref:
            prim = ref["primitive"]
            return {"boolean": "bool", "json": "any", "date": "string"}.get(prim, prim)
        if "collection" in ref:
            coll = ref["collection"]
            inner = self.type_string(coll["elementtype"])
            return f"{'map' if coll['kind'] == 'map' else 'list'}({inner})"
        if "union" in ref:
            real = [t for t in ref["union"]["types"] if t.get("fqn") != "cdktn.IResolvable"]
            return self.type_string(real[0]) if len(real) == 1 else "any"
        fqn = ref.get("fqn", "")
        return "object" if self._is_struct(fqn) else "any"

    def _is_struct(self, fqn: str) -> bool:
        entry = self.types.get(fqn)
        return bool(entry and entry.get("datatype"))

    def _block_of(self, ref: dict[str, Any]) -> tuple[str, str] | None:
        """(nesting, struct fqn) when a property is a nested block, else None."""
        if self._is_struct(ref.get("fqn", "")):
            return "single", ref["fqn"]
        for t in ref.get("union", {}).get("types", []):
            coll = t.get("collection")
            if coll and coll["kind"] == "array" and self._is_struct(coll["elementtype"].get("fqn", "")):
                return "list", coll["elementtype"]["fqn"]
            if self._is_struct(t.get("fqn", "")):
                return "single", t["fqn"]
        return None

    def struct(self, fqn: str) -> dict[str, Any]:
        if fqn in self.memo:
            return self.memo[fqn]
        if fqn in self.stack:  # a recursive struct (WAF statements): leave deeper levels open
            return {"a": {}, "b": {}, "open": 1}
        self.stack.add(fqn)
        out: dict[str, Any] = {"a": {}, "b": {}}
        for prop in self.types[fqn].get("properties", []):
            name = _tf_name(prop)
            required = 0 if prop.get("optional") else 1
            block = self._block_of(prop["type"])
            if block:
                out["b"][name] = [block[0], required, self.struct(block[1])]
            else:
                out["a"][name] = [self.type_string(prop["type"]), required]
        self.stack.discard(fqn)
        self.memo[fqn] = out
        return out

    def resource(self, cls: dict[str, Any]) -> dict[str, Any] | None:
        params = cls.get("initializer", {}).get("parameters", [])
        config = next((p for p in params if p["name"] == "config"), None)
        if not config or "fqn" not in config["type"]:
            return None
        base = self.struct(config["type"]["fqn"])
        exported = {name for name in base["a"]} | {name for name in base["b"]}
        for prop in cls.get("properties", []):
            if prop.get("static") or prop["name"].endswith("Input"):
                continue
            exported.add(snake(prop["name"]))
        return {"a": base["a"], "b": base["b"], "x": sorted(exported)}


def derive(types: dict[str, Any]) -> dict[str, Any]:
    """Build the compact schema from the assembly's ``types`` table."""
    deriver = _Deriver(types)
    out: dict[str, Any] = {"provider_version": "", "resources": {}, "data_sources": {}}
    for entry in types.values():
        if entry.get("kind") != "class" or entry.get("base") not in (
            "cdktn.TerraformResource",
            "cdktn.TerraformDataSource",
        ):
            continue
        match = _CLASS_LINK.search(entry.get("docs", {}).get("summary", ""))
        if not match:
            continue
        version, kind, tf_type = match.groups()
        compact = deriver.resource(entry)
        if compact is None:
            continue
        out["provider_version"] = version
        out["data_sources" if kind == "data-sources" else "resources"][tf_type] = compact
    return out


def _find_wheel(where: Path) -> Path:
    if where.is_file():
        return where
    wheels = sorted(where.glob("cdktn_provider_aws-*.whl"))
    if not wheels:
        raise ConfigurationError(
            f"no cdktn-provider-aws wheel in {where}",
            hint="pip download --no-deps cdktn-provider-aws -d " + str(where),
        )
    return wheels[-1]


def load_assembly(wheel: Path) -> dict[str, Any]:
    """Read the JSII assembly (``package/.jsii``) out of the wheel's ``_jsii/*.jsii.tgz``."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
        blob = zf.read(name)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        member = tar.extractfile("package/.jsii")
        if member is None:
            raise ConfigurationError(f"{wheel.name} holds no JSII assembly")
        return json.load(member)


def main(argv: list[str]) -> int:
    where = Path(argv[0]) if argv else cache_dir() / "wheels"
    wheel = _find_wheel(where)
    assembly = load_assembly(wheel)
    schema = derive(assembly["types"])
    schema["source"] = f"cdktn-provider-aws {assembly.get('version', '?')}"
    target = schema_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(schema, separators=(",", ":")))
    tmp.replace(target)
    print(
        f"schema: hashicorp/aws {schema['provider_version']} from {schema['source']}: "
        f"{len(schema['resources'])} resources, {len(schema['data_sources'])} data sources "
        f"-> {target}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
