"""The schema is derived from the JSII assembly of cdktn-provider-aws, names from doc links."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from core.terraform import schema_derive
from core.terraform.schema import PROVIDER_VERSION, load_schema

LINK = "Docs at Terraform Registry: {@link https://registry.terraform.io/providers/hashicorp/aws/6.69.1/docs/resources/widget#%s Widget#%s}."


def prop(name: str, tf: str | None, type_: dict, optional: bool = True) -> dict:
    docs = {"summary": LINK % (tf, tf)} if tf else {"summary": "no link"}
    return {"name": name, "docs": docs, "type": type_, "optional": optional} if optional else {
        "name": name, "docs": docs, "type": type_}


def assembly() -> dict:
    p = "@cdktn/provider-aws.widget."
    return {
        "version": "99.0.0",
        "types": {
            p + "Widget": {
                "kind": "class", "base": "cdktn.TerraformResource",
                "docs": {"summary": "Represents a {@link https://registry.terraform.io/providers/hashicorp/aws/6.69.1/docs/resources/widget aws_widget}."},
                "initializer": {"parameters": [{"name": "config", "type": {"fqn": p + "WidgetConfig"}}]},
                "properties": [
                    {"name": "arn", "type": {"primitive": "string"}},
                    {"name": "nameInput", "type": {"primitive": "string"}},
                    {"name": "tfResourceType", "static": True, "type": {"primitive": "string"}},
                ],
            },
            p + "WidgetConfig": {
                "kind": "interface", "datatype": True,
                "properties": [
                    prop("name", "name", {"primitive": "string"}, optional=False),
                    prop("ipv6CidrBlock", "ipv6_cidr_block", {"primitive": "string"}),
                    prop("enabled", "enabled", {"union": {"types": [{"primitive": "boolean"}, {"fqn": "cdktn.IResolvable"}]}}),
                    prop("ports", "ports", {"collection": {"kind": "array", "elementtype": {"primitive": "number"}}}),
                    prop("rule", "rule", {"union": {"types": [{"fqn": "cdktn.IResolvable"}, {"collection": {
                        "kind": "array", "elementtype": {"fqn": p + "WidgetRule"}}}]}}),
                    prop("timeouts", None, {"fqn": p + "WidgetTimeouts"}),
                ],
            },
            p + "WidgetRule": {"kind": "interface", "datatype": True, "properties": [
                prop("statement", "statement", {"fqn": p + "WidgetRule"}),
                prop("priority", "priority", {"primitive": "number"}, optional=False),
            ]},
            p + "WidgetTimeouts": {"kind": "interface", "datatype": True, "properties": [
                prop("create", "create", {"primitive": "string"})]},
        },
    }


def test_derive_reads_names_types_required_blocks_and_exports() -> None:
    out = schema_derive.derive(assembly()["types"])
    assert out["provider_version"] == "6.69.1"
    widget = out["resources"]["aws_widget"]
    assert widget["a"] == {"name": ["string", 1], "ipv6_cidr_block": ["string", 0],
                           "enabled": ["bool", 0], "ports": ["list(number)", 0]}
    nesting, required, rule = widget["b"]["rule"]
    assert (nesting, required, rule["a"]) == ("list", 0, {"priority": ["number", 1]})
    assert rule["b"]["statement"][2] == {"a": {}, "b": {}, "open": 1}  # recursion cut, left open
    assert widget["b"]["timeouts"][:2] == ["single", 0]  # no doc link: camelCase -> snake_case
    assert "arn" in widget["x"] and "name" in widget["x"] and "name_input" not in widget["x"]


def test_main_reads_the_wheel_and_writes_the_cache(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    blob = json.dumps(assembly()).encode()
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/.jsii")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    wheel = tmp_path / "cdktn_provider_aws-99.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("cdktn_provider_aws/_jsii/provider-aws@99.0.0.jsii.tgz", tgz.getvalue())
    monkeypatch.setenv("ARCHOPS_CACHE_DIR", str(tmp_path / "cache"))
    assert schema_derive.main([str(tmp_path)]) == 0
    loaded = load_schema(tmp_path / "cache" / "aws-provider-schema.json")
    assert loaded.source == "cdktn-provider-aws 99.0.0"
    assert loaded.resource("aws_widget").arguments["name"] == ["string", 1]


def test_the_cached_real_schema_matches_the_pinned_provider(schema_ready) -> None:  # noqa: ANN001
    schema = load_schema()
    assert schema.version == PROVIDER_VERSION
    assert len(schema.resources) > 1500 and len(schema.data_sources) > 500
    sg = schema.resource("aws_security_group")
    assert sg is not None and sg.block("ingress")[0] == "list"
    assert "cidr_blocks" in sg.block("ingress")[2].arguments
    assert schema.resource("aws_subnet").arguments["vpc_id"] == ["string", 1]
    assert "endpoint" in schema.resource("aws_db_instance").attributes


def test_missing_wheel_is_a_configuration_error(tmp_path: Path) -> None:
    from core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="no cdktn-provider-aws wheel"):
        schema_derive.main([str(tmp_path)])
