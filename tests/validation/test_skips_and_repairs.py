"""Written skips are honoured and shown; the fixer repairs what it claims to."""

from __future__ import annotations

import re

from core.terraform.parse import parse_module
from core.terraform.review import fix_until_clean, repair, review_module

OWN = {"parse", "schema", "references", "policy"}
PIN = ('terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
       '      version = "6.69.1"\n    }\n  }\n}\n')


def test_skip_with_a_reason_is_honoured_and_shown(schema_ready) -> None:  # noqa: ANN001
    text = PIN + (
        'resource "aws_security_group" "bastion" {\n'
        '  # archops:skip=ARCHOPS_SG_OPEN_INGRESS reason="break-glass SSH, closed by a runbook"\n'
        "  ingress {\n    from_port = 22\n    to_port = 22\n    protocol = \"tcp\"\n"
        '    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n'
    )
    review = review_module({"main.tf": text}, OWN)
    assert review.passed
    [skipped] = review.skipped
    assert skipped.address == "aws_security_group.bastion"
    assert skipped.skip_reason == "break-glass SSH, closed by a runbook"


def test_checkov_style_skip_is_honoured_for_the_equivalent_archops_rule(schema_ready) -> None:  # noqa: ANN001
    text = PIN + (
        'resource "aws_db_instance" "legacy" {\n'
        "  #checkov:skip=CKV_AWS_16:migrated from an unencrypted snapshot, re-encrypted in Q3\n"
        '  instance_class = "db.t4g.micro"\n  manage_master_user_password = true\n  username = "a"\n'
        "  deletion_protection = true\n}\n"
    )
    review = review_module({"main.tf": text}, OWN)
    assert review.passed, [f.check_id for f in review.failing]
    assert [f.check_id for f in review.skipped] == ["ARCHOPS_DB_UNENCRYPTED"]


def test_skip_without_a_reason_is_refused(schema_ready) -> None:  # noqa: ANN001
    text = PIN + (
        'resource "aws_cloudwatch_log_group" "app" {\n  # archops:skip=ARCHOPS_LOG_RETENTION\n'
        '  name = "/app"\n}\n'
    )
    review = review_module({"main.tf": text}, OWN)
    assert {f.check_id for f in review.failing} == {"ARCHOPS_LOG_RETENTION", "ARCHOPS_SKIP_WITHOUT_REASON"}


BROKEN = {
    "main.tf": (
        'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n  enable_dns_hostname = true\n}\n'
        'resource "aws_subnet" "a" {\n  vpc_id = aws_vpc.main.idd\n  cidr_block = "10.0.1.0/24"\n'
        '  map_public_ip_on_launch = "no"\n}\n'
        'resource "aws_security_group" "db" {\n  vpc_id = aws_vpc.main.id # the app VPC\n'
        "  ingress {\n    from_port = 5432\n    to_port = 5432\n    protocol = \"tcp\"\n"
        '    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n'
        'resource "aws_db_instance" "main" {\n  instance_class = "db.t4g.micro"\n  engine = "postgres"\n'
        '  username = "app"\n  password = "Sup3rSecret!"\n  publicly_accessible = true\n'
        "  backup_retention_period = 0\n  storage_type = \"gp2\"\n}\n"
        'resource "aws_s3_bucket" "assets" {\n  bucket = "assets"\n}\n'
        'resource "aws_dynamodb_table" "t" {\n  name = "t"\n  hash_key = "id"\n  billing_mode = "PAY_PER_REQUEST"\n'
        '  attribute {\n    name = "id"\n    type = "S"\n  }\n}\n'
        'resource "aws_cloudwatch_log_group" "app" {\n  name = "/app"\n}\n'
        'provider "aws" {\n  region = "us-east-1"\n  access_key = "AKIAIOSFODNN7EXAMPLE"\n}\n'
        'variable "api_token" {\n  type = string\n  default = "tok-0123456789"\n}\n'
    )
}


def test_fixer_repairs_every_class_it_claims_and_the_module_still_parses(schema_ready) -> None:  # noqa: ANN001
    files, review, fixed = fix_until_clean(BROKEN, checks=OWN)
    assert review.passed, [(f.check_id, f.address, f.argument) for f in review.failing]
    text = re.sub(r" +=", " =", files["main.tf"])  # fmt aligns the equals signs
    assert "enable_dns_hostnames = true" in text
    assert "vpc_id = aws_vpc.main.id\n" in text and ".idd" not in text
    assert "map_public_ip_on_launch = false" in text
    assert "0.0.0.0/0" not in text and "[aws_vpc.main.cidr_block]" in text
    assert "Sup3rSecret" not in text and "manage_master_user_password = true" in text
    assert "AKIAIOSFODNN7EXAMPLE" not in text and "var.aws_access_key" in text
    assert "publicly_accessible = false" in text and "storage_encrypted = true" in text
    assert 'storage_type = "gp3"' in text and "backup_retention_period = 7" in text
    assert 'resource "aws_s3_bucket_public_access_block" "assets"' in text
    assert "point_in_time_recovery {" in text and "retention_in_days = 365" in text
    assert "tok-0123456789" not in text and 'variable "api_token" {\n  type = string\n  sensitive = true\n}' in text
    assert "# the app VPC" in text  # comments survive repairs
    assert 'version = "6.69.1"' in files["versions.tf"]
    assert parse_module(files).ok
    assert len(fixed) >= 12 and any(f.startswith("ARCHOPS_LITERAL_SECRET aws_db_instance.main.password") for f in fixed)


def test_repair_leaves_what_it_cannot_fix_and_says_so(schema_ready) -> None:  # noqa: ANN001
    files = {"main.tf": 'resource "aws_subnet" "a" {\n  cidr_block = "10.0.1.0/24"\n}\n' + PIN}
    review = review_module(files, OWN)
    new_files, fixed = repair(files, review)
    assert (new_files, fixed) == (files, [])
    after_files, after, done = fix_until_clean(files, checks=OWN)
    assert done == [] and after_files == files
    assert [(f.check_id, f.argument) for f in after.failing] == [("schema_missing_required", "vpc_id")]
