"""What archops' schema-only provider answers Terraform: checked through Terraform itself.

Each module states what it expects as a ``precondition``: Terraform evaluates it at plan with
the values the plugin answered, and a wrong value is Terraform's own error.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from core.terraform.parse import parse_module
from core.terraform.plan_check import check_plan
from tfplugin.behaviour import call_function, policy_document

pytestmark = pytest.mark.usefixtures("plan_ready")


def plan_errors(body: str, region: str = "ap-northeast-2") -> list[str]:
    text = (f'terraform {{\n  required_providers {{\n    aws = {{ source = "hashicorp/aws" }}\n  }}\n}}\n'
            f'provider "aws" {{\n  region = "{region}"\n}}\n' + textwrap.dedent(body))
    result = check_plan(parse_module({"main.tf": text}))
    return [f.message for f in result.findings if f.failing]


def expect(condition: str, message: str = "unexpected value") -> str:
    name = f"expect_{abs(hash(condition)) % 10**8}"
    return textwrap.dedent(f'''
        locals {{
          {name} = {condition}
        }}
        resource "terraform_data" "{name}" {{
          lifecycle {{
            precondition {{
              condition     = local.{name}
              error_message = "{message}"
            }}
          }}
        }}
    ''')


def test_availability_zones_are_those_of_the_configured_region() -> None:
    body = 'data "aws_availability_zones" "az" { state = "available" }\n' + expect(
        'data.aws_availability_zones.az.names == tolist(["ap-northeast-2a", "ap-northeast-2b", '
        '"ap-northeast-2c", "ap-northeast-2d"])')
    assert plan_errors(body) == []
    wrong = body.replace('"ap-northeast-2d"])', '"ap-northeast-2e"])')
    assert any("unexpected value" in m for m in plan_errors(wrong))


def test_caller_identity_region_and_partition() -> None:
    body = textwrap.dedent('''
        data "aws_caller_identity" "me" {}
        data "aws_region" "here" {}
        data "aws_partition" "p" {}
    ''') + expect('can(regex("^[0-9]{12}$", data.aws_caller_identity.me.account_id))') + expect(
        'data.aws_region.here.region == "eu-central-1"') + expect(
        'data.aws_partition.p.partition == "aws" && data.aws_partition.p.dns_suffix == "amazonaws.com"')
    assert plan_errors(body, region="eu-central-1") == []


def test_the_policy_document_is_computed_for_real() -> None:
    body = textwrap.dedent('''
        data "aws_iam_policy_document" "p" {
          statement {
            sid       = "Read"
            actions   = ["s3:GetObject"]
            resources = ["arn:aws:s3:::b/*"]
            principals {
              type        = "Service"
              identifiers = ["logs.ap-northeast-2.amazonaws.com"]
            }
            condition {
              test     = "ArnLike"
              variable = "kms:EncryptionContext:aws:logs:arn"
              values   = ["arn:aws:logs:ap-northeast-2:123456789012:*"]
            }
          }
        }
        locals {
          doc = jsondecode(data.aws_iam_policy_document.p.json)
        }
    ''') + expect(
        'local.doc.Version == "2012-10-17" && local.doc.Statement[0].Effect == "Allow" && '
        'local.doc.Statement[0].Action == "s3:GetObject" && '
        'local.doc.Statement[0].Principal.Service == "logs.ap-northeast-2.amazonaws.com" && '
        'local.doc.Statement[0].Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"] == '
        '"arn:aws:logs:ap-northeast-2:123456789012:*"')
    assert plan_errors(body) == []


def test_policy_documents_merge_sources_and_overrides_by_sid() -> None:
    base = {"Version": "2012-10-17", "Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "B", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}
    override = {"Statement": [{"Sid": "B", "Effect": "Deny", "Action": "s3:PutObject",
                               "Resource": "*"}]}
    doc = policy_document({
        "source_policy_documents": [json.dumps(base)],
        "override_policy_documents": [json.dumps(override)],
        "statement": [{"sid": "C", "actions": ["sqs:SendMessage", "sqs:GetQueueUrl"],
                       "resources": ["*"]}],
    })
    assert [s["Sid"] for s in doc["Statement"]] == ["A", "B", "C"]
    assert doc["Statement"][1]["Effect"] == "Deny"
    assert doc["Statement"][2]["Action"] == ["sqs:SendMessage", "sqs:GetQueueUrl"]


def test_certificate_validation_options_are_known_at_plan_with_their_domains() -> None:
    body = textwrap.dedent('''
        resource "aws_acm_certificate" "c" {
          domain_name               = "example.com"
          subject_alternative_names = ["www.example.com"]
          validation_method         = "DNS"
        }
        locals {
          names = sort([for d in aws_acm_certificate.c.domain_validation_options : d.domain_name])
        }
    ''') + expect('local.names == tolist(["example.com", "www.example.com"])')
    assert plan_errors(body) == []


def test_provider_functions_parse_build_and_trim() -> None:
    body = expect(
        'provider::aws::arn_parse("arn:aws:iam::123456789012:role/a/b/deploy").account_id == '
        '"123456789012"') + expect(
        'provider::aws::arn_build("aws", "s3", "", "", "bucket") == "arn:aws:s3:::bucket"') + expect(
        'provider::aws::trim_iam_role_path("arn:aws:iam::123456789012:role/a/b/deploy") == '
        '"arn:aws:iam::123456789012:role/deploy"')
    assert plan_errors(body) == []
    bad = plan_errors('output "x" { value = provider::aws::arn_parse("not-an-arn") }\n')
    assert any("invalid ARN" in m for m in bad)


def test_a_region_missing_everywhere_is_the_providers_error(monkeypatch) -> None:  # noqa: ANN001
    assert call_function("arn_build", ["aws", "sqs", "eu-west-1", "1", "q"]) == \
        "arn:aws:sqs:eu-west-1:1:q"
    result = check_plan(parse_module({"main.tf": 'provider "aws" {}\nresource "aws_vpc" "v" {\n'
                                                 '  cidr_block = "10.0.0.0/16"\n}\n'}))
    messages = [f.message for f in result.findings if f.failing]
    if not messages:  # the environment names a region for the plugin (AWS_REGION)
        pytest.skip("AWS_REGION or AWS_DEFAULT_REGION is set in this environment")
    assert any("Missing region" in m for m in messages)
