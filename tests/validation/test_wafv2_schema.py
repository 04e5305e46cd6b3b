"""The WAFv2 statement tree that replaces the bindings' ``any`` in the plugin schema."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from core.terraform.plugin import wafv2
from core.terraform.plugin.derive import correct
from core.terraform.plugin.schema import schema_file

LOGICAL = ("and_statement", "not_statement", "or_statement")
LEAVES = (
    "asn_match_statement",
    "byte_match_statement",
    "geo_match_statement",
    "ip_set_reference_statement",
    "label_match_statement",
    "regex_match_statement",
    "regex_pattern_set_reference_statement",
    "size_constraint_statement",
    "sqli_match_statement",
    "xss_match_statement",
)


def _attr(cty: Any, required: bool = False) -> dict[str, Any]:
    return {"type": cty, "required": required, "optional": not required, "computed": False}


def _derived_resource(statement_type: Any = "dynamic") -> dict[str, Any]:
    """The shape the bindings give: ``rule`` is a set whose ``statement`` is an attribute."""
    rule = {
        "attributes": {
            "name": _attr("string", True),
            "priority": _attr("number", True),
            "statement": _attr(statement_type),
        },
        "block_types": {
            "visibility_config": {
                "nesting": "list",
                "min_items": 1,
                "max_items": 1,
                "block": {"attributes": {"metric_name": _attr("string", True)}, "block_types": {}},
            }
        },
    }
    return {
        "attributes": {"name": _attr("string"), "scope": _attr("string", True)},
        "block_types": {"rule": {"nesting": "set", "min_items": 0, "max_items": 0, "block": rule}},
    }


def _schema(statement_type: Any = "dynamic") -> dict[str, Any]:
    return {
        "provider": "aws",
        "resources": {
            "aws_wafv2_web_acl": _derived_resource(statement_type),
            "aws_wafv2_rule_group": _derived_resource(statement_type),
            "aws_s3_bucket": {"attributes": {"bucket": _attr("string")}, "block_types": {}},
        },
        "data_sources": {},
    }


def nested_at(block: dict[str, Any], path: str) -> dict[str, Any]:
    """The NESTED entry at a dotted path of block names."""
    nested: dict[str, Any] = {}
    for name in path.split("."):
        assert name in block["block_types"], f"no block {name!r} on the way to {path}"
        nested = block["block_types"][name]
        block = nested["block"]
    return nested


def attr_at(block: dict[str, Any], path: str) -> dict[str, Any]:
    parents, _, name = path.rpartition(".")
    inner = nested_at(block, parents)["block"] if parents else block
    assert name in inner["attributes"], f"no attribute {name!r} at {parents}"
    return inner["attributes"][name]


def counts(nested: dict[str, Any]) -> tuple[str, int, int]:
    return nested["nesting"], nested["min_items"], nested["max_items"]


def has_dynamic(cty: Any) -> bool:
    if cty == "dynamic":
        return True
    if isinstance(cty, list):
        inner = cty[1]
        if isinstance(inner, dict):
            return any(has_dynamic(t) for t in inner.values())
        return has_dynamic(inner)
    return False


def dynamic_in_sets(block: dict[str, Any], path: str = "", in_set: bool = False) -> list[str]:
    found = [
        f"{path}{name}"
        for name, attr in block["attributes"].items()
        if in_set and has_dynamic(attr["type"])
    ]
    for name, nested in block["block_types"].items():
        found += dynamic_in_sets(
            nested["block"], f"{path}{name}.", in_set or nested["nesting"] == "set"
        )
    return found


def any_dynamic(block: dict[str, Any]) -> bool:
    if any(has_dynamic(a["type"]) for a in block["attributes"].values()):
        return True
    return any(any_dynamic(n["block"]) for n in block["block_types"].values())


def depth_of_logical(block: dict[str, Any]) -> int:
    """How many and/or/not statements can nest inside each other below ``block``."""
    inner = [
        depth_of_logical(block["block_types"][name]["block"]["block_types"]["statement"]["block"])
        for name in LOGICAL
        if name in block["block_types"]
    ]
    return 1 + max(inner) if inner else 0


@pytest.fixture(scope="module")
def web_acl() -> dict[str, Any]:
    schema = _schema()
    wafv2.patch(schema)
    return schema["resources"]["aws_wafv2_web_acl"]


@pytest.fixture(scope="module")
def rule_group() -> dict[str, Any]:
    schema = _schema()
    wafv2.patch(schema)
    return schema["resources"]["aws_wafv2_rule_group"]


# -- patch ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stand_in", ["dynamic", "string", ["list", "dynamic"]])
def test_patch_turns_the_statement_attribute_into_the_block(stand_in: Any) -> None:
    schema = _schema(stand_in)
    wafv2.patch(schema)
    for tf_type in ("aws_wafv2_web_acl", "aws_wafv2_rule_group"):
        rule = schema["resources"][tf_type]["block_types"]["rule"]["block"]
        assert "statement" not in rule["attributes"]
        assert counts(rule["block_types"]["statement"]) == ("list", 1, 1)
        # what the derived schema had right stays as it was
        assert set(rule["attributes"]) == {"name", "priority"}
        assert counts(rule["block_types"]["visibility_config"]) == ("list", 1, 1)
    assert schema["resources"]["aws_s3_bucket"] == _schema()["resources"]["aws_s3_bucket"]


def test_patch_is_idempotent_and_reports_what_it_replaced() -> None:
    schema = _schema()
    assert wafv2.patched_paths(schema) == {
        "aws_wafv2_web_acl": ["rule.statement"],
        "aws_wafv2_rule_group": ["rule.statement"],
    }
    once = copy.deepcopy(schema)
    assert wafv2.patched_paths(schema) == {"aws_wafv2_web_acl": [], "aws_wafv2_rule_group": []}
    assert schema == once


def test_patch_skips_missing_resources() -> None:
    schema: dict[str, Any] = {"resources": {"aws_vpc": {"attributes": {}, "block_types": {}}}}
    wafv2.patch(schema)
    assert schema == {"resources": {"aws_vpc": {"attributes": {}, "block_types": {}}}}


def test_derive_correct_applies_the_patch_before_sanitizing() -> None:
    schema = _schema()
    left = correct(schema)
    assert not [p for p in left if "wafv2" in p]
    rule = schema["resources"]["aws_wafv2_web_acl"]["block_types"]["rule"]["block"]
    assert (
        "managed_rule_group_statement" in rule["block_types"]["statement"]["block"]["block_types"]
    )


# -- key paths -----------------------------------------------------------------------------


def test_managed_rule_group_rule_action_override(web_acl: dict[str, Any]) -> None:
    base = "rule.statement.managed_rule_group_statement"
    assert counts(nested_at(web_acl, base)) == ("list", 0, 1)
    assert counts(nested_at(web_acl, f"{base}.rule_action_override")) == ("list", 0, 100)
    assert counts(nested_at(web_acl, f"{base}.rule_action_override.action_to_use")) == (
        "list",
        1,
        1,
    )
    count = nested_at(web_acl, f"{base}.rule_action_override.action_to_use.count")
    assert counts(count) == ("list", 0, 1)
    insert = nested_at(count["block"], "custom_request_handling.insert_header")
    assert counts(insert) == ("set", 1, 0)
    assert attr_at(web_acl, f"{base}.name")["required"]
    assert attr_at(web_acl, f"{base}.vendor_name")["required"]
    version = attr_at(web_acl, f"{base}.version")
    assert version["optional"] and version["computed"]


def test_managed_rule_group_configs(web_acl: dict[str, Any]) -> None:
    configs = "rule.statement.managed_rule_group_statement.managed_rule_group_configs"
    assert counts(nested_at(web_acl, configs)) == ("list", 0, 0)
    acfp = f"{configs}.aws_managed_rules_acfp_rule_set"
    assert counts(nested_at(web_acl, f"{acfp}.request_inspection")) == ("list", 1, 1)
    assert attr_at(web_acl, f"{acfp}.request_inspection.address_fields.identifiers")["type"] == [
        "list",
        "string",
    ]
    codes = attr_at(web_acl, f"{acfp}.response_inspection.status_code.success_codes")
    assert codes["type"] == ["set", "number"]
    atp = f"{configs}.aws_managed_rules_atp_rule_set.request_inspection"
    assert counts(nested_at(web_acl, f"{atp}.username_field")) == ("list", 1, 1)
    ddos = f"{configs}.aws_managed_rules_anti_ddos_rule_set.client_side_action_config.challenge"
    assert counts(nested_at(web_acl, f"{ddos}.exempt_uri_regular_expression")) == ("list", 0, 5)
    bot = attr_at(web_acl, f"{configs}.aws_managed_rules_bot_control_rule_set.inspection_level")
    assert bot["required"]


def test_rate_based_scope_down_geo_match(
    web_acl: dict[str, Any], rule_group: dict[str, Any]
) -> None:
    for resource in (web_acl, rule_group):
        path = "rule.statement.rate_based_statement.scope_down_statement.geo_match_statement"
        assert counts(nested_at(resource, path)) == ("list", 0, 1)
        codes = attr_at(resource, f"{path}.country_codes")
        assert codes["type"] == ["list", "string"] and codes["required"]
        assert attr_at(resource, "rule.statement.rate_based_statement.limit")["type"] == "number"


def test_rate_based_custom_key(web_acl: dict[str, Any]) -> None:
    key = "rule.statement.rate_based_statement.custom_key"
    # MinItems on an Optional block is not reported by the SDK; MaxItems is
    assert counts(nested_at(web_acl, key)) == ("list", 0, 5)
    for name in ("cookie", "header", "query_argument", "query_string", "uri_path"):
        assert counts(nested_at(web_acl, f"{key}.{name}.text_transformation")) == ("set", 1, 0)
    assert attr_at(web_acl, f"{key}.label_namespace.namespace")["required"]
    assert nested_at(web_acl, f"{key}.ip")["block"] == {"attributes": {}, "block_types": {}}


def test_nested_logical_statements_reach_field_to_match(web_acl: dict[str, Any]) -> None:
    path = (
        "rule.statement.and_statement.statement.not_statement.statement"
        ".byte_match_statement.field_to_match.single_header"
    )
    assert counts(nested_at(web_acl, "rule.statement.and_statement")) == ("list", 0, 1)
    assert counts(nested_at(web_acl, "rule.statement.and_statement.statement")) == ("list", 1, 0)
    assert counts(nested_at(web_acl, path)) == ("list", 0, 1)
    assert attr_at(web_acl, f"{path}.name") == {
        "type": "string",
        "required": True,
        "optional": False,
        "computed": False,
    }


def test_field_to_match_parts(web_acl: dict[str, Any]) -> None:
    ftm = "rule.statement.xss_match_statement.field_to_match"
    assert counts(nested_at(web_acl, f"{ftm}.headers")) == ("list", 0, 0)
    assert counts(nested_at(web_acl, f"{ftm}.headers.match_pattern")) == ("list", 1, 1)
    assert counts(nested_at(web_acl, f"{ftm}.cookies.match_pattern")) == ("list", 1, 0)
    assert counts(nested_at(web_acl, f"{ftm}.json_body.match_pattern")) == ("list", 1, 1)
    fallback = attr_at(web_acl, f"{ftm}.uri_fragment.fallback_behavior")
    assert fallback["optional"] and fallback["computed"]
    for empty in ("all_query_arguments", "method", "query_string", "uri_path"):
        assert nested_at(web_acl, f"{ftm}.{empty}")["block"] == {
            "attributes": {},
            "block_types": {},
        }
    tt = nested_at(web_acl, "rule.statement.xss_match_statement.text_transformation")
    assert counts(tt) == ("set", 1, 0)
    assert set(tt["block"]["attributes"]) == {"priority", "type"}


def test_rule_group_reference_and_custom_response(web_acl: dict[str, Any]) -> None:
    ref = "rule.statement.rule_group_reference_statement"
    assert attr_at(web_acl, f"{ref}.arn")["required"]
    block = f"{ref}.rule_action_override.action_to_use.block.custom_response"
    assert attr_at(web_acl, f"{block}.response_code")["type"] == "number"
    assert counts(nested_at(web_acl, f"{block}.response_header")) == ("set", 0, 0)


# -- structure -----------------------------------------------------------------------------


@pytest.mark.parametrize("root", wafv2.ROOTS)
def test_no_dynamic_anywhere(root: str) -> None:
    nested = wafv2.statement_block(3, root)
    assert not any_dynamic(nested["block"])
    wrapped = {"attributes": {}, "block_types": {"rule": {**nested, "nesting": "set"}}}
    assert dynamic_in_sets(wrapped) == []


def test_no_dynamic_inside_sets_of_the_real_derived_schema() -> None:
    path = schema_file("aws")
    if not path.is_file():
        pytest.skip(f"no derived plugin schema at {path}")
    schema = json.loads(path.read_text())
    wafv2.patch(schema)
    for tf_type in wafv2.RESOURCES:
        block = schema["resources"][tf_type]
        assert dynamic_in_sets(block) == []
        rule = block["block_types"]["rule"]["block"]
        assert "statement" not in rule["attributes"]
        assert "rate_based_statement" in rule["block_types"]["statement"]["block"]["block_types"]


def test_roots_differ_as_in_the_provider(
    web_acl: dict[str, Any], rule_group: dict[str, Any]
) -> None:
    acl = set(nested_at(web_acl, "rule.statement")["block"]["block_types"])
    group = set(nested_at(rule_group, "rule.statement")["block"]["block_types"])
    common = {*LEAVES, *LOGICAL, "rate_based_statement"}
    assert group == common
    assert acl == common | {"managed_rule_group_statement", "rule_group_reference_statement"}
    assert nested_at(web_acl, "rule.statement")["block"]["attributes"] == {}


@pytest.mark.parametrize("root", wafv2.ROOTS)
def test_levels_stop_where_the_provider_stops(root: str) -> None:
    statement = wafv2.statement_block(wafv2.WEB_ACL_ROOT_LEVEL, root)["block"]
    assert depth_of_logical(statement) == 3
    deepest = nested_at(
        statement,
        "and_statement.statement.or_statement.statement.not_statement.statement",
    )["block"]["block_types"]
    assert set(deepest) == set(LEAVES)

    scope_down = nested_at(statement, "rate_based_statement.scope_down_statement")["block"]
    assert depth_of_logical(scope_down) == 2
    assert set(scope_down["block_types"]) == {*LEAVES, *LOGICAL}
    bottom = nested_at(scope_down, "and_statement.statement.and_statement.statement")["block"]
    assert set(bottom["block_types"]) == set(LEAVES)
    # nothing below the root offers rate-based, managed or rule group reference statements
    inner = nested_at(statement, "and_statement.statement")["block"]["block_types"]
    assert set(inner) == {*LEAVES, *LOGICAL}


def test_managed_scope_down_is_one_level_below_the_root(web_acl: dict[str, Any]) -> None:
    scope_down = nested_at(
        web_acl, "rule.statement.managed_rule_group_statement.scope_down_statement"
    )
    assert depth_of_logical(scope_down["block"]) == 2
    assert "managed_rule_group_statement" not in scope_down["block"]["block_types"]


def test_level_depends_on_the_argument() -> None:
    assert depth_of_logical(wafv2.statement_block(4, "rule_group")["block"]) == 4
    assert depth_of_logical(wafv2.statement_block(2, "web_acl")["block"]) == 2
    assert wafv2.RULE_GROUP_ROOT_LEVEL == wafv2.WEB_ACL_ROOT_LEVEL == 3


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        wafv2.statement_block(3, "firewall")
    with pytest.raises(ValueError):
        wafv2.statement_block(1, "web_acl")
    with pytest.raises(ValueError):
        wafv2.logical_statement(0)


def test_each_call_builds_a_fresh_tree() -> None:
    first = wafv2.statement_block(3, "web_acl")
    second = wafv2.statement_block(3, "web_acl")
    assert first == second
    nested_at(first["block"], "byte_match_statement")["block"]["attributes"].clear()
    assert nested_at(second["block"], "byte_match_statement")["block"]["attributes"]
    # nor are parts shared inside one tree
    a = nested_at(first["block"], "xss_match_statement.field_to_match")
    b = nested_at(first["block"], "sqli_match_statement.field_to_match")
    assert a is not b and a == b
