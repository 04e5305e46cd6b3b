"""The plan's scope: the plugin serves the types a module names, without the nested blocks it
never writes, and Terraform plans the module exactly as with the provider's whole schema.

Every case is planned both ways with Terraform itself; diagnostics and ``show -json`` must agree
(``show`` up to the empty blocks of pruned types, which the whole schema prints as ``[]``), and a
module Terraform refuses is reported with the whole schema's words.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from core.terraform import native
from core.terraform.parse import parse_module
from core.terraform.plan_check import _variables_needing_values, check_plan
from core.terraform.plugin import toolchain
from core.terraform.plugin.schema import load
from tests.validation.test_plan import GOOD
from tfplugin import scope

pytestmark = pytest.mark.usefixtures("plan_ready")

RULES = textwrap.dedent('''
    resource "aws_wafv2_ip_set" "blocked" {
      name               = "blocked"
      scope              = "REGIONAL"
      ip_address_version = "IPV4"
      addresses          = ["192.0.2.0/24"]
    }

    resource "aws_wafv2_web_acl" "main" {
      name  = "app"
      scope = "REGIONAL"
      default_action {
        allow {}
      }
      rule {
        name     = "nested"
        priority = 0
        action {
          block {}
        }
        statement {
          and_statement {
            statement {
              or_statement {
                statement {
                  geo_match_statement {
                    country_codes = ["KP"]
                  }
                }
                statement {
                  not_statement {
                    statement {
                      ip_set_reference_statement {
                        arn = aws_wafv2_ip_set.blocked.arn
                      }
                    }
                  }
                }
              }
            }
            statement {
              byte_match_statement {
                positional_constraint = "STARTS_WITH"
                search_string         = "/admin"
                field_to_match {
                  uri_path {}
                }
                text_transformation {
                  priority = 0
                  type     = "NONE"
                }
              }
            }
          }
        }
        visibility_config {
          cloudwatch_metrics_enabled = true
          metric_name                = "nested"
          sampled_requests_enabled   = true
        }
      }
      rule {
        name     = "rate"
        priority = 1
        action {
          block {}
        }
        statement {
          rate_based_statement {
            limit              = 2000
            aggregate_key_type = "IP"
            scope_down_statement {
              size_constraint_statement {
                comparison_operator = "GT"
                size                = 8192
                field_to_match {
                  body {}
                }
                text_transformation {
                  priority = 0
                  type     = "NONE"
                }
              }
            }
          }
        }
        visibility_config {
          cloudwatch_metrics_enabled = true
          metric_name                = "rate"
          sampled_requests_enabled   = true
        }
      }
      dynamic "rule" {
        for_each = { common = 2, bad_inputs = 3 }
        content {
          name     = rule.key
          priority = rule.value
          override_action {
            none {}
          }
          statement {
            managed_rule_group_statement {
              name        = rule.key == "common" ? "AWSManagedRulesCommonRuleSet" : "AWSManagedRulesKnownBadInputsRuleSet"
              vendor_name = "AWS"
            }
          }
          visibility_config {
            cloudwatch_metrics_enabled = true
            metric_name                = rule.key
            sampled_requests_enabled   = true
          }
        }
      }
      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "app"
        sampled_requests_enabled   = true
      }
    }

    output "first_rule_statement" {
      value = [for r in aws_wafv2_web_acl.main.rule : length(r.statement[0].and_statement)]
    }
''')
WAF = GOOD + RULES


def prepared(text: str) -> dict[str, str]:
    module = parse_module({"main.tf": text})
    return toolchain.plan_files({"main.tf": text}, _variables_needing_values(module),
                                toolchain.stand_ins(module.files))


def diagnostics(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    found = []
    for event in events:
        diag = event.get("diagnostic") or {}
        if event.get("type") == "diagnostic" and not diag.get("summary", "").startswith(
                "Provider development overrides"):
            found.append((diag.get("severity"), diag.get("summary"), diag.get("detail")))
    return sorted(found)


def shown(events: list[dict[str, Any]]) -> Any:
    def without_empty(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_empty(v) for k, v in value.items() if v not in ([], None, {})}
        if isinstance(value, list):
            return [without_empty(v) for v in value]
        return value

    return without_empty([e["show"] for e in events if e.get("type") == "show"])


@pytest.mark.parametrize("text", [GOOD, WAF], ids=["vpc-iam-acm", "waf-statement-tree"])
def test_a_scoped_plan_is_the_plan_of_the_whole_schema(text: str) -> None:
    files = prepared(text)
    scoped, whole = native._plan(files, scoped=True), native._plan(files, scoped=False)
    assert diagnostics(scoped) == diagnostics(whole)
    assert [e for e in scoped if e["type"] == "change_summary"][0]["changes"] == \
        [e for e in whole if e["type"] == "change_summary"][0]["changes"]
    assert shown(scoped) == shown(whole) and shown(scoped)


def test_the_waf_statement_tree_plans_as_written() -> None:
    result = check_plan(parse_module({"main.tf": WAF}))
    assert [f.message for f in result.findings if f.failing] == []
    assert result.summary == "Plan: 10 to add, 0 to change, 0 to destroy."
    acl = next(r for r in result.show["planned_values"]["root_module"]["resources"]
               if r["address"] == "aws_wafv2_web_acl.main")
    nested = next(r for r in acl["values"]["rule"] if r["name"] == "nested")
    ors = nested["statement"][0]["and_statement"][0]["statement"][0]["or_statement"][0]
    assert ors["statement"][0]["geo_match_statement"][0]["country_codes"] == ["KP"]


@pytest.mark.parametrize("broken, words", [
    # a misspelled block deep in the tree: Terraform's suggestion names the block of the schema
    ("and_statement {\n        statement {\n          or_statement",
     ['Blocks of type "and_statment" are not expected here. Did you mean "and_statement"?']),
    # a misspelled argument deep in a rule
    ('metric_name                = "rate"', ['An argument named "metric_nme" is not expected here']),
], ids=["misspelled-nested-block", "misspelled-argument"])
def test_a_refused_module_is_reported_in_the_whole_schemas_words(broken: str, words: list[str]) -> None:
    text = WAF.replace(broken, broken.replace("and_statement", "and_statment", 1)
                       .replace("metric_name", "metric_nme", 1), 1)
    assert text != WAF
    messages = [f.message for f in check_plan(parse_module({"main.tf": text})).findings if f.failing]
    for needle in words:
        assert any(needle in m for m in messages), messages


def test_a_missing_required_block_is_refused_though_the_module_never_names_it() -> None:
    # the scope keeps blocks that must be present: their absence is Terraform's error still
    text = GOOD + textwrap.dedent('''
        resource "aws_wafv2_web_acl" "bare" {
          name  = "bare"
          scope = "REGIONAL"
        }
    ''')
    messages = [f.message for f in check_plan(parse_module({"main.tf": text})).findings if f.failing]
    assert any("default_action" in m and "required" in m.lower() for m in messages), messages
    assert any("visibility_config" in m for m in messages), messages


def test_the_scope_serves_named_types_and_prunes_only_unnamed_optional_blocks() -> None:
    words = frozenset(scope.words_of({"main.tf": WAF}))
    assert {"aws_wafv2_web_acl", "and_statement", "scope_down_statement"} <= words
    acl = load("aws")["resources"]["aws_wafv2_web_acl"]
    pruned = scope.prune(acl, words)

    def count(block: dict[str, Any]) -> int:
        return sum(1 + count(n["block"]) for n in block["block_types"].values())

    assert count(pruned) * 10 < count(acl)  # the tree the module does not write is gone
    assert set(pruned["block_types"]) == set(acl["block_types"])  # top-level blocks all stay
    assert pruned["attributes"] == acl["attributes"]
    statement = pruned["block_types"]["rule"]["block"]["block_types"]["statement"]["block"]
    assert "and_statement" in statement["block_types"]
    assert "xss_match_statement" not in statement["block_types"]
    vis = pruned["block_types"]["rule"]["block"]["block_types"]["visibility_config"]
    assert vis["min_items"] == 1  # required, kept


def test_the_plugin_serves_the_scope_of_the_plan_it_is_started_for(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from tfplugin.server import make_servicer

    monkeypatch.setenv("ARCHOPS_PLUGIN_DIR", str(toolchain.plugin_dir()))
    monkeypatch.chdir(tmp_path)  # Terraform's -chdir: the plan's working directory
    scope.write(tmp_path, {"main.tf": WAF})
    response = make_servicer("aws").GetProviderSchema(None, None)
    assert set(response.resource_schemas) == {
        "aws_vpc", "aws_subnet", "aws_security_group", "aws_iam_role", "aws_acm_certificate",
        "aws_route53_record", "aws_acm_certificate_validation", "aws_wafv2_ip_set",
        "aws_wafv2_web_acl"}
    # data sources of the same names as resources come along (a word is a word): a superset
    words = set(scope.words_of({"main.tf": WAF}))
    assert {"aws_availability_zones", "aws_caller_identity", "aws_region",
            "aws_iam_policy_document"} <= set(response.data_source_schemas) <= words
    assert "arn_parse" in response.functions
    # Terraform must ask each plan's plugin, not reuse the first plan's schema for the next
    assert not response.server_capabilities.get_provider_schema_optional
    (tmp_path / scope.SCOPE_FILE).unlink()
    for cached in (tmp_path / scope.SCOPE_FILE.parent).glob("*.pb"):
        cached.unlink()
    whole = make_servicer("aws").GetProviderSchema(None, None)
    assert len(whole.resource_schemas) > 1500
    assert not whole.server_capabilities.get_provider_schema_optional
