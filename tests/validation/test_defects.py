"""One broken module per defect class: each is reported precisely (address and argument)."""

from __future__ import annotations

import pytest

from core.terraform.review import review_module

VPC = 'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n'

CASES = [
    ("unknown argument", VPC.replace("}", "  enable_dns_hostname = true\n}"),
     "schema_unknown_argument", "aws_vpc.main", "enable_dns_hostname", 'did you mean "enable_dns_hostnames"?'),
    ("unknown block", 'resource "aws_security_group" "web" {\n  name = "web"\n  ingres {\n    from_port = 443\n  }\n}\n',
     "schema_unknown_block", "aws_security_group.web", "ingres", 'did you mean "ingress"?'),
    ("missing required", 'resource "aws_subnet" "a" {\n  cidr_block = "10.0.1.0/24"\n}\n',
     "schema_missing_required", "aws_subnet.a", "vpc_id", "set vpc_id (string)"),
    ("missing required in a nested block",
     'resource "aws_s3_bucket_lifecycle_configuration" "l" {\n  bucket = "b"\n  rule {\n    status = "Enabled"\n  }\n}\n',
     "schema_missing_required", "aws_s3_bucket_lifecycle_configuration.l", "rule.id", "set rule.id (string)"),
    ("wrong type: word for a number", 'resource "aws_db_instance" "d" {\n  instance_class = "db.t4g.micro"\n  allocated_storage = "twenty"\n}\n',
     "schema_wrong_type", "aws_db_instance.d", "allocated_storage", "give allocated_storage a number value"),
    ("wrong type: list for a string", VPC.replace('"10.0.0.0/16"', '["10.0.0.0/16"]'),
     "schema_wrong_type", "aws_vpc.main", "cidr_block", "give cidr_block a string value"),
    ("unknown resource type", 'resource "aws_s3_bukcet" "b" {\n  bucket = "b"\n}\n',
     "schema_unknown_resource_type", "aws_s3_bukcet.b", "", 'did you mean "aws_s3_bucket"?'),
    ("unknown exported attribute", VPC + 'resource "aws_subnet" "a" {\n  vpc_id = aws_vpc.main.idd\n  cidr_block = "10.0.1.0/24"\n}\n',
     "reference_unknown_attribute", "aws_subnet.a", "vpc_id", "use aws_vpc.main.id"),
    ("dangling resource reference", 'resource "aws_subnet" "a" {\n  vpc_id = aws_vpc.primary.id\n  cidr_block = "10.0.1.0/24"\n}\n',
     "reference_dangling", "aws_subnet.a", "vpc_id", "declare aws_vpc.primary or remove the reference"),
    ("dangling variable", 'variable "environment" {\n  type = string\n}\n' + VPC.replace("}", '  tags = { Env = var.enviroment }\n}'),
     "reference_dangling", "aws_vpc.main", "tags", "use var.environment"),
    ("count used without an index", VPC + 'resource "aws_subnet" "a" {\n  count = 2\n  vpc_id = aws_vpc.main.id\n'
     '  cidr_block = cidrsubnet(aws_vpc.main.cidr_block, 8, count.index)\n}\n'
     'resource "aws_route_table_association" "a" {\n  subnet_id = aws_subnet.a.id\n  route_table_id = "rtb-1"\n}\n',
     "reference_missing_index", "aws_route_table_association.a", "subnet_id", None),
    ("count.index without count", VPC + 'resource "aws_subnet" "a" {\n  vpc_id = aws_vpc.main.id\n'
     '  cidr_block = cidrsubnet(aws_vpc.main.cidr_block, 8, count.index)\n}\n',
     "reference_count_without_count", "aws_subnet.a", "cidr_block", None),
    ("for_each resource read by a number", 'resource "aws_sqs_queue" "q" {\n  for_each = toset(["a", "b"])\n  name = each.key\n}\n'
     'resource "aws_sns_topic" "t" {\n  name = "t"\n}\n'
     'resource "aws_sns_topic_subscription" "s" {\n  topic_arn = aws_sns_topic.t.arn\n  protocol = "sqs"\n'
     '  endpoint = aws_sqs_queue.q[0].arn\n}\n',
     "reference_wrong_index", "aws_sns_topic_subscription.s", "endpoint", None),
    ("previous-generation instance", 'resource "aws_instance" "old" {\n  ami = "ami-1"\n  instance_type = "m4.large"\n}\n',
     "ARCHOPS_PREVIOUS_GENERATION", "aws_instance.old", "instance_type", None),
    ("cycle", 'resource "aws_security_group" "a" {\n  ingress {\n    from_port = 80\n    to_port = 80\n    protocol = "tcp"\n'
     '    security_groups = [aws_security_group.b.id]\n  }\n}\n'
     'resource "aws_security_group" "b" {\n  ingress {\n    from_port = 80\n    to_port = 80\n    protocol = "tcp"\n'
     '    security_groups = [aws_security_group.a.id]\n  }\n}\n',
     "reference_cycle", "aws_security_group.a", "ingress.security_groups", None),
    ("open security group", 'resource "aws_security_group" "ssh" {\n  ingress {\n    from_port = 22\n    to_port = 22\n'
     '    protocol = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n',
     "ARCHOPS_SG_OPEN_INGRESS", "aws_security_group.ssh", "ingress.cidr_blocks", None),
    ("open security group rule", 'resource "aws_vpc_security_group_ingress_rule" "all" {\n  security_group_id = "sg-1"\n'
     '  ip_protocol = "-1"\n  cidr_ipv4 = "0.0.0.0/0"\n}\n',
     "ARCHOPS_SG_OPEN_INGRESS", "aws_vpc_security_group_ingress_rule.all", "cidr_ipv4", None),
    ("public bucket acl", 'resource "aws_s3_bucket" "site" {\n  bucket = "site"\n}\n'
     'resource "aws_s3_bucket_acl" "site" {\n  bucket = aws_s3_bucket.site.id\n  acl = "public-read"\n}\n',
     "ARCHOPS_S3_PUBLIC", "aws_s3_bucket_acl.site", "acl", None),
    ("bucket without public access block", 'resource "aws_s3_bucket" "data" {\n  bucket = "data"\n}\n',
     "ARCHOPS_S3_PUBLIC", "aws_s3_bucket.data", "public_access_block", None),
    ("public access block left open", 'resource "aws_s3_bucket" "data" {\n  bucket = "data"\n}\n'
     'resource "aws_s3_bucket_public_access_block" "data" {\n  bucket = aws_s3_bucket.data.id\n  block_public_acls = true\n'
     '  block_public_policy = false\n  ignore_public_acls = true\n  restrict_public_buckets = true\n}\n',
     "ARCHOPS_S3_PUBLIC", "aws_s3_bucket_public_access_block.data", "block_public_policy", None),
    ("unencrypted database", 'resource "aws_db_instance" "d" {\n  instance_class = "db.t4g.micro"\n  engine = "postgres"\n'
     '  storage_encrypted = false\n  manage_master_user_password = true\n  username = "app"\n}\n',
     "ARCHOPS_DB_UNENCRYPTED", "aws_db_instance.d", "storage_encrypted", None),
    ("public database", 'resource "aws_db_instance" "d" {\n  instance_class = "db.t4g.micro"\n  publicly_accessible = true\n}\n',
     "ARCHOPS_DB_PUBLIC", "aws_db_instance.d", "publicly_accessible", None),
    ("literal database password", 'resource "aws_db_instance" "d" {\n  instance_class = "db.t4g.micro"\n  username = "app"\n'
     '  password = "hunter2hunter2"\n}\n',
     "ARCHOPS_LITERAL_SECRET", "aws_db_instance.d", "password", None),
    ("literal access key", 'provider "aws" {\n  region = "us-east-1"\n  access_key = "AKIAIOSFODNN7EXAMPLE"\n'
     '  secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n}\n',
     "ARCHOPS_LITERAL_SECRET", "provider.aws", "access_key", None),
    ("secret variable with a literal default", 'variable "db_password" {\n  type = string\n  default = "hunter2hunter2"\n}\n'
     'variable "db_secret_name" {\n  type = string\n  default = "app/db"\n}\n',
     "ARCHOPS_LITERAL_SECRET", "var.db_password", "default", None),
    ("secret local", 'locals {\n  api_token = "tok-123456"\n}\n',
     "ARCHOPS_LITERAL_SECRET", "local.api_token", "value", None),
    ("log group without retention", 'resource "aws_cloudwatch_log_group" "app" {\n  name = "/app"\n}\n',
     "ARCHOPS_LOG_RETENTION", "aws_cloudwatch_log_group.app", "retention_in_days", None),
]


@pytest.mark.parametrize(("files_text", "check", "address", "argument", "fix"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_defect_is_reported_precisely(schema_ready, files_text, check, address, argument, fix) -> None:  # noqa: ANN001
    review = review_module({"main.tf": files_text}, {"parse", "schema", "references", "policy"})
    assert not review.passed
    hits = [f for f in review.findings if f.check_id == check]
    assert hits, [(f.check_id, f.address, f.argument) for f in review.findings]
    assert (address, argument) in {(f.address, f.argument) for f in hits}
    finding = next(f for f in hits if (f.address, f.argument) == (address, argument))
    assert finding.file == "main.tf" and finding.line > 0
    if fix is not None:
        assert finding.fix == fix
    assert finding.message and finding.fix


def test_secret_values_never_appear_in_findings(schema_ready, checkov_ready) -> None:  # noqa: ANN001
    text = 'resource "aws_db_instance" "d" {\n  instance_class = "db.t4g.micro"\n  password = "hunter2hunter2"\n}\n'
    review = review_module({"main.tf": text})
    assert "hunter2" not in review.model_dump_json()


def test_a_clean_module_passes_every_own_check(schema_ready) -> None:  # noqa: ANN001
    text = (
        'terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
        '      version = "6.69.1"\n    }\n  }\n}\n'
        'variable "env" {\n  type = string\n  default = "dev"\n}\n'
        'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n  tags = { Env = var.env }\n}\n'
        'resource "aws_subnet" "private" {\n  count = 2\n  vpc_id = aws_vpc.main.id\n'
        '  cidr_block = cidrsubnet(aws_vpc.main.cidr_block, 8, count.index)\n}\n'
        'output "subnets" {\n  value = aws_subnet.private[*].id\n}\n'
    )
    review = review_module({"main.tf": text}, {"parse", "schema", "references", "policy"})
    assert review.findings == [] and review.passed


def test_graviton_advice_is_a_notice_that_does_not_fail(schema_ready) -> None:  # noqa: ANN001
    text = ('terraform {\n  required_providers {\n    aws = {\n      version = "6.69.1"\n    }\n  }\n}\n'
            'resource "aws_instance" "x86" {\n  ami = "ami-1"\n  instance_type = "m6i.large"\n}\n')
    review = review_module({"main.tf": text}, {"parse", "schema", "references", "policy"})
    [notice] = review.findings
    assert (notice.check_id, notice.severity, notice.pillar) == ("ARCHOPS_GRAVITON", "info", "sustainability")
    assert review.passed


def test_names_that_only_point_at_secrets_are_not_secrets(schema_ready) -> None:  # noqa: ANN001
    text = ('variable "db_secret_name" {\n  type = string\n  default = "app/db"\n}\n'
            'locals {\n  token_ttl = "3600"\n}\n')
    review = review_module({"main.tf": text}, {"parse", "policy"})
    assert review.findings == []
