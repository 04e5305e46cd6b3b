"""Derive a provider's full plugin schema from its published CDK Terrain (cdktn) wheel.

The wheel carries the npm package of the provider's bindings (``_jsii/*.jsii.tgz``), generated
from the provider's own ``terraform providers schema -json``. Two parts of it together give back
what Terraform needs to plan:

- the JSII assembly (``package/.jsii``): every class and struct with the type of each property;
- the generated JavaScript (``package/lib/*/index.js``): for every attribute a comment
  ``// name - computed: B, optional: B, required: B``, the attribute's Terraform name in its
  getter (``this.getStringAttribute('name')``), and whether a collection is a set
  (``cdktn.Fn.tolist(...)``, ``new XList(this, "name", true)``).

The result, one JSON file per provider, is close to ``providers schema -json``:

    {"provider": "aws", "version": "6.69.1", "source": "cdktn-provider-aws 25.8.1",
     "provider_config": BLOCK, "resources": {type: BLOCK}, "data_sources": {type: BLOCK}}
    BLOCK = {"attributes": {name: ATTR}, "block_types": {name: NESTED}}
    ATTR  = {"type": CTY, "required": b, "optional": b, "computed": b}
    NESTED = {"nesting": "list" | "set" | "single", "min_items": n, "max_items": n, "block": BLOCK}
    CTY   = "string" | "number" | "bool" | "dynamic" | ["list"|"set"|"map", CTY]
            | ["object", {name: CTY}]

Run as ``python -m core.terraform.plugin.derive WHEEL [OUT.json]``.
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

from core.terraform.schema_derive import snake

_CLASS = re.compile(r"^class (\w+) extends ([\w.]+) \{", re.M)
_COMMENT = re.compile(
    r"// (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\n"
    r"\s*(?:this\.)?(_\w+)(?: = new (\w+)\(this, \"(\w+)\"(?:, (true|false))?\))?;"
)
_GETTER = re.compile(r"\n    get (\w+)\(\) \{\n\s*return (.+?);\n\s*\}")
_ATTR_CALL = re.compile(r"this\.(get\w*Attribute|interpolationForAttribute)\('(\w+)'\)")
_DOC_LINK = re.compile(
    r"registry\.terraform\.io/providers/[\w-]+/([\w-]+)/([\d.]+)/docs/(resources|data-sources)/\w+ (\w+)\}")

PRIMITIVES = {"string": "string", "number": "number", "boolean": "bool", "json": "dynamic",
              "date": "string", "any": "dynamic"}
MAPS = {"cdktn.StringMap": ["map", "string"], "cdktn.NumberMap": ["map", "number"],
        "cdktn.BooleanMap": ["map", "bool"], "cdktn.AnyMap": ["map", "dynamic"],
        "cdktn.StringListMap": ["map", ["list", "string"]],
        "cdktn.NumberListMap": ["map", ["list", "number"]],
        "cdktn.StringMapList": ["list", ["map", "string"]],
        "cdktn.NumberMapList": ["list", ["map", "number"]],
        "cdktn.BooleanMapList": ["list", ["map", "bool"]],
        "cdktn.AnyMapList": ["list", ["map", "dynamic"]]}


class JsClass:
    """What a generated JavaScript class says about each of its attributes."""

    def __init__(self) -> None:
        # camel getter name -> (tf name, is_set, class of a complex value or None)
        self.getters: dict[str, tuple[str, bool, str | None]] = {}
        # tf name -> (computed, optional, required)
        self.flags: dict[str, tuple[bool, bool, bool]] = {}


def parse_js(text: str) -> dict[str, JsClass]:
    out: dict[str, JsClass] = {}
    starts = list(_CLASS.finditer(text))
    for i, match in enumerate(starts):
        body = text[match.end(): starts[i + 1].start() if i + 1 < len(starts) else len(text)]
        cls = JsClass()
        fields: dict[str, tuple[str, bool, str]] = {}
        for c in _COMMENT.finditer(body):
            name, computed, optional, required, field, new_cls, new_name, wraps = c.groups()
            cls.flags[name] = (computed == "true", optional == "true", required == "true")
            if new_cls:
                fields[field] = (new_name or name, wraps == "true", new_cls)
        for g in _GETTER.finditer(body):
            camel, expr = g.groups()
            if camel.endswith("Input"):
                continue
            field = re.fullmatch(r"this\.(_\w+)", expr)
            if field and field.group(1) in fields:
                cls.getters[camel] = fields[field.group(1)]
                continue
            call = _ATTR_CALL.search(expr)
            if call:
                cls.getters[camel] = (call.group(2), "Fn.tolist(" in expr, None)
        out[match.group(1)] = cls
    return out


class Deriver:
    def __init__(self, types: dict[str, Any], js: dict[tuple[str, str], JsClass]) -> None:
        self.types = types
        self.js = js
        self.stack: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------
    def _js_for(self, fqn: str) -> JsClass:
        entry = self.types.get(fqn, {})
        filename = entry.get("locationInModule", {}).get("filename", "")
        folder = filename.removeprefix("src/").removesuffix("/index.ts")
        return self.js.get((folder, fqn.rsplit(".", 1)[-1]), JsClass())

    def _is_struct(self, fqn: str | None) -> bool:
        entry = self.types.get(fqn or "")
        return bool(entry and entry.get("datatype"))

    def _element_class(self, fqn: str) -> str | None:
        """The OutputReference class a ComplexList/ComplexMap holds (its ``get`` method)."""
        for method in self.types.get(fqn, {}).get("methods", []):
            if method["name"] == "get":
                return method.get("returns", {}).get("type", {}).get("fqn")
        return None

    def _struct_block_fqn(self, ref: dict[str, Any]) -> tuple[bool, str] | None:
        """(is_list, struct fqn) when a config property is a nested block."""
        if self._is_struct(ref.get("fqn")):
            return False, ref["fqn"]
        for t in ref.get("union", {}).get("types", []):
            coll = t.get("collection")
            if coll and coll["kind"] == "array" and self._is_struct(coll["elementtype"].get("fqn")):
                return True, coll["elementtype"]["fqn"]
            if self._is_struct(t.get("fqn")):
                return False, t["fqn"]
        return None

    def cty_of(self, ref: dict[str, Any], is_set: bool = False) -> Any:
        """A cty type for a JSII type reference (a getter's or a config property's)."""
        if "primitive" in ref:
            return PRIMITIVES.get(ref["primitive"], "dynamic")
        if "collection" in ref:
            coll = ref["collection"]
            inner = self.cty_of(coll["elementtype"])
            if coll["kind"] == "map":
                return ["map", inner]
            return ["set" if is_set else "list", inner]
        if "union" in ref:
            real = [t for t in ref["union"]["types"] if t.get("fqn") != "cdktn.IResolvable"]
            if len(real) == 1:
                return self.cty_of(real[0], is_set)
            return "bool" if not real else "dynamic"
        fqn = ref.get("fqn", "")
        if fqn == "cdktn.IResolvable":
            return "bool"
        if fqn in MAPS:
            return MAPS[fqn]
        entry = self.types.get(fqn, {})
        base = entry.get("base")
        if base == "cdktn.ComplexList":
            element = self._element_class(fqn)
            return ["set" if is_set else "list", self.object_of(element) if element else "dynamic"]
        if base == "cdktn.ComplexMap":
            element = self._element_class(fqn)
            return ["map", self.object_of(element) if element else "dynamic"]
        if base == "cdktn.ComplexObject":
            return ["list", self.object_of(fqn)]  # a MaxItems=1 block, read as a list
        if entry.get("datatype"):
            return self.object_of_struct(fqn)
        return "dynamic"

    def object_of(self, fqn: str) -> Any:
        """The object type of a computed nested value, from its OutputReference getters."""
        if fqn in self.stack:
            return "dynamic"
        self.stack.add(fqn)
        js = self._js_for(fqn)
        attrs: dict[str, Any] = {}
        for prop in self.types.get(fqn, {}).get("properties", []):
            info = js.getters.get(prop["name"])
            if prop.get("static") or info is None or prop["name"] == "internalValue":
                continue
            tf_name, is_set, _cls = info
            attrs[tf_name] = self.cty_of(prop["type"], is_set)
        self.stack.discard(fqn)
        return ["object", attrs] if attrs else "dynamic"

    def object_of_struct(self, fqn: str) -> Any:
        attrs = {}
        for prop in self.types.get(fqn, {}).get("properties", []):
            attrs[snake(prop["name"])] = self.cty_of(prop["type"])
        return ["object", attrs]

    # -- blocks ----------------------------------------------------------------------------
    def block(self, config_fqn: str | None, class_fqn: str | None) -> dict[str, Any]:
        """A block from its config struct (arguments, nested blocks) and the class that reads it
        back (every attribute with its type, including computed ones)."""
        key = f"{config_fqn}|{class_fqn}"
        if key in self.stack:
            return {"attributes": {}, "block_types": {}}
        self.stack.add(key)
        js = self._js_for(class_fqn) if class_fqn else JsClass()
        getters = {p["name"]: p for p in self.types.get(class_fqn or "", {}).get("properties", [])
                   if not p.get("static")}
        attributes: dict[str, Any] = {}
        block_types: dict[str, Any] = {}
        config_props = self.types.get(config_fqn or "", {}).get("properties", [])
        seen: set[str] = set()
        for prop in config_props:
            camel = prop["name"]
            seen.add(camel)
            info = js.getters.get(camel)
            tf_name = info[0] if info else snake(camel)
            computed, optional, required = js.flags.get(
                tf_name, (False, bool(prop.get("optional")), not prop.get("optional")))
            as_block = self._struct_block_fqn(prop["type"])
            if as_block and tf_name not in _NOT_BLOCKS:
                is_list, struct_fqn = as_block
                holder = info[2] if info else None
                if holder and class_fqn:
                    holder = f"{class_fqn.rsplit('.', 1)[0]}.{holder}"
                element = self._element_class(holder) if holder and self.types.get(holder, {}).get(
                    "base") == "cdktn.ComplexList" else holder
                nested = self.block(struct_fqn, element)
                if is_list:
                    nesting = "set" if info and info[1] else "list"
                    block_types[tf_name] = {"nesting": nesting, "min_items": 1 if required else 0,
                                            "max_items": 0, "block": nested}
                else:
                    block_types[tf_name] = {"nesting": "list", "min_items": 1 if required else 0,
                                            "max_items": 1, "block": nested}
                continue
            getter = getters.get(camel)
            ref = getter["type"] if getter else prop["type"]
            attributes[tf_name] = {"type": self.cty_of(ref, bool(info and info[1])),
                                   "required": required, "optional": optional and not required,
                                   "computed": computed}
        for camel, getter in getters.items():
            if camel in seen or camel.endswith("Input") or camel in _CLASS_ONLY:
                continue
            info = js.getters.get(camel)
            if info is None:
                continue
            tf_name, is_set, _cls = info
            if tf_name in attributes or tf_name in block_types:
                continue
            attributes[tf_name] = {"type": self.cty_of(getter["type"], is_set),
                                   "required": False, "optional": False, "computed": True}
        self.stack.discard(key)
        return {"attributes": attributes, "block_types": block_types}

    def resource(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        params = entry.get("initializer", {}).get("parameters", [])
        config = next((p for p in params if p["name"] == "config"), None)
        if not config or "fqn" not in config["type"]:
            return None
        block = self.block(config["type"]["fqn"], entry["fqn"])
        for meta in _META_ARGUMENTS:
            block["attributes"].pop(meta, None)
            block["block_types"].pop(meta, None)
        return block


def as_attribute(nested: dict[str, Any]) -> dict[str, Any]:
    """A nested block as the attribute the provider really declares (SDK ``ConfigModeAttr``):
    an optional, computed list or set of objects that also takes block syntax."""
    def object_type(block: dict[str, Any]) -> list[Any]:
        attrs = {n: a["type"] for n, a in block["attributes"].items()}
        for n, inner in block["block_types"].items():
            kind = "set" if inner["nesting"] == "set" else "list"
            attrs[n] = [kind, object_type(inner["block"])]
        return ["object", attrs]

    kind = "set" if nested["nesting"] == "set" else "list"
    return {"type": [kind, object_type(nested["block"])], "required": False, "optional": True,
            "computed": True}


# blocks that the real provider declares as attributes (schema.SchemaConfigModeAttr): plain
# `ingress = []` is valid there, and block syntax still works through Terraform's fixup
CONFIG_MODE_ATTR: dict[str, tuple[str, ...]] = {
    "aws_security_group": ("ingress", "egress"),
    "aws_default_security_group": ("ingress", "egress"),
    "aws_network_acl": ("ingress", "egress"),
    "aws_default_network_acl": ("ingress", "egress"),
    "aws_route_table": ("route",),
    "aws_default_route_table": ("route",),
}


def sanitize(block: dict[str, Any], in_set: bool = False) -> list[str]:
    """Terraform refuses ``dynamic`` attributes inside set-nested blocks: what is left of them
    after the hand-written corrections is typed as a string (and reported)."""
    fixed: list[str] = []
    for name, attr in block["attributes"].items():
        if in_set and _has_dynamic(attr["type"]):
            attr["type"] = "string"
            fixed.append(name)
    for name, nested in block["block_types"].items():
        fixed += [f"{name}.{n}" for n in sanitize(nested["block"], in_set or nested["nesting"] == "set")]
    return fixed


def _has_dynamic(cty: Any) -> bool:
    if cty == "dynamic":
        return True
    if isinstance(cty, list):
        inner = cty[1]
        if isinstance(inner, dict):
            return any(_has_dynamic(t) for t in inner.values())
        return _has_dynamic(inner)
    return False


def correct(schema: dict[str, Any]) -> list[str]:
    """Apply what the bindings cannot say: config-mode attributes, WAFv2 statement trees, and no
    dynamic attribute inside a set."""
    for tf_type, names in CONFIG_MODE_ATTR.items():
        block = schema["resources"].get(tf_type)
        for name in names if block else ():
            nested = block["block_types"].pop(name, None)
            if nested is not None:
                block["attributes"][name] = as_attribute(nested)
    try:
        from core.terraform.plugin import wafv2
    except ImportError:
        wafv2 = None  # type: ignore[assignment]
    if wafv2 is not None and schema.get("provider") == "aws":
        wafv2.patch(schema)
    left: list[str] = []
    for kind in ("resources", "data_sources"):
        for tf_type, block in schema[kind].items():
            left += [f"{tf_type}.{n}" for n in sanitize(block)]
    return left


# Terraform meta-arguments that the cdktn config structs carry (TerraformMetaArguments)
_META_ARGUMENTS = ("count", "depends_on", "for_each", "lifecycle", "provider", "provisioners",
                   "connection")
_CLASS_ONLY = {"tfResourceType", "fqn", "friendlyUniqueId", "terraformMetaArguments", "node",
               "cdktfStack", "cdktnStack", "terraformGeneratorMetadata", "rawOverrides", "alias",
               "metaAttributes"}
_NOT_BLOCKS: set[str] = set()


def read_wheel(wheel: Path) -> tuple[dict[str, Any], dict[tuple[str, str], JsClass]]:
    """The JSII assembly and the parsed JavaScript classes of a cdktn provider wheel."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
        blob = zf.read(name)
    assembly: dict[str, Any] = {}
    js: dict[tuple[str, str], JsClass] = {}
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member in tar:
            if member.name == "package/.jsii":
                f = tar.extractfile(member)
                assert f is not None
                assembly = json.load(f)
            elif member.name.startswith("package/lib/") and member.name.endswith("/index.js"):
                f = tar.extractfile(member)
                assert f is not None
                folder = member.name[len("package/lib/"):-len("/index.js")]
                for cls_name, cls in parse_js(f.read().decode("utf-8")).items():
                    js[(folder, cls_name)] = cls
    return assembly, js


def derive(assembly: dict[str, Any], js: dict[tuple[str, str], JsClass]) -> dict[str, Any]:
    types = assembly["types"]
    deriver = Deriver(types, js)
    out: dict[str, Any] = {"provider": "", "version": "", "provider_config": {},
                           "resources": {}, "data_sources": {},
                           "source": f"{assembly.get('name', '?')} {assembly.get('version', '?')}"}
    for entry in types.values():
        base = entry.get("base")
        if entry.get("kind") != "class":
            continue
        docs = f"{entry.get('docs', {}).get('summary', '')} {entry.get('docs', {}).get('remarks', '')}"
        if base == "cdktn.TerraformProvider":
            params = entry.get("initializer", {}).get("parameters", [])
            config = next((p for p in params if p["name"] == "config"), None)
            if config and "fqn" in config["type"]:
                block = deriver.block(config["type"]["fqn"], None)
                block["attributes"].pop("alias", None)
                out["provider_config"] = block
            link = re.search(r"registry\.terraform\.io/providers/[\w-]+/([\w-]+)/([\d.]+)", docs)
            if link:
                out["provider"], out["version"] = link.group(1), link.group(2)
            continue
        if base not in ("cdktn.TerraformResource", "cdktn.TerraformDataSource"):
            continue
        match = _DOC_LINK.search(docs)
        if not match:
            continue
        provider, version, kind, tf_type = match.groups()
        derived = deriver.resource(entry)
        if derived is None:
            continue
        out["provider"], out["version"] = provider, version
        out["data_sources" if kind == "data-sources" else "resources"][tf_type] = derived
    return out


def main(argv: list[str]) -> int:
    wheel = Path(argv[0])
    target = Path(argv[1]) if len(argv) > 1 else None
    assembly, js = read_wheel(wheel)
    schema = derive(assembly, js)
    schema["typed_as_string"] = correct(schema)
    if target is None:
        from core.terraform.plugin.schema import schema_file

        target = schema_file(schema["provider"])
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(schema, separators=(",", ":")))
    tmp.replace(target)
    from core.terraform.plugin.schema import write_plugin_files

    write_plugin_files(schema["provider"])
    print(f"plugin schema: {schema['provider']} {schema['version']} from {schema['source']}: "
          f"{len(schema['resources'])} resources, {len(schema['data_sources'])} data sources "
          f"-> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
