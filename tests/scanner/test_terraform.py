"""The scanned account as Terraform: imports, references, no secrets, the review's offline plan,
and values equal to what the API reports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from core.terraform.parse import parse_module
from core.terraform.review import review_module
from scanner import scan
from scanner.terraform import to_terraform
from tests.scanner.seed import REGIONS, client

pytestmark = pytest.mark.timeout(180)
SECRETS = ("s3cr3t-Do-Not-Write", "an0ther-Secret", "yet-Another-1", "plain-text-secret")
OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


@pytest.fixture(scope="module")
def built(moto_url: str, account: dict[str, Any]) -> Any:
    return to_terraform(scan(REGIONS, endpoint_url=moto_url))


@pytest.fixture(scope="module")
def files(built: Any) -> dict[str, str]:
    return built.files()


@pytest.fixture(scope="module")
def parsed(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """address -> attributes, as python-hcl2 reads the module back."""
    out: dict[str, dict[str, Any]] = {}
    for name, text in files.items():
        if not name.endswith(".tf"):
            continue
        for res in hcl2.loads(text, serialization_options=OPTIONS).get("resource", []):
            for rtype, named in res.items():
                for rname, body in named.items():
                    out[f"{rtype}.{rname}"] = body
    return out


def test_conventional_layout(files: dict[str, str]) -> None:
    assert {"versions.tf", "providers.tf", "variables.tf", "network.tf", "security.tf", "compute.tf",
            "data.tf", "storage.tf", "loadbalancing.tf", "iam.tf", "dns.tf", "imports.tf", "README.md"} <= set(files)
    assert 'alias  = "eu_west_1"' in files["providers.tf"]


def test_every_resource_has_an_import_block(built: Any, files: dict[str, str]) -> None:
    module = parse_module({k: v for k, v in files.items() if k.endswith(".tf")})
    resources = {i.address for i in module.resources}
    imports = re.findall(r"to\s+=\s+(\S+)", files["imports.tf"])
    assert len(imports) == len(set(imports)) == len(resources) >= 100
    assert set(imports) == resources == set(built.imports)
    assert built.imports["aws_vpc.acme_prod"].startswith("vpc-")
    assert built.imports["aws_s3_bucket_policy.acme_public_site"] == "acme-public-site"
    assert built.imports["aws_route53_record.www_cname"].endswith("_www.acme.example_CNAME")
    assert any(i.endswith("/arn:aws:iam::123456789012:policy/acme-lambda-logs") for i in built.imports.values())
    # an eu-west-1 resource imports through that region's provider
    block = re.search(r"import \{\n  provider = aws.eu_west_1\n\n  to = aws_vpc.acme_eu\n", files["imports.tf"])
    assert block, files["imports.tf"][:500]


def test_references_where_a_literal_id_would_be(files: dict[str, str], parsed: dict[str, Any]) -> None:
    for name, text in files.items():
        if name.endswith(".tf") and name != "imports.tf":
            literal = re.findall(r'"((?:vpc|subnet|sg|igw|nat|rtb|i|eipalloc)-[0-9a-f]{8,})"', text)
            assert not literal, (name, literal)
    assert parsed["aws_subnet.acme_prod_private_a"]["vpc_id"] == "${aws_vpc.acme_prod.id}"
    assert parsed["aws_instance.acme_app_0"]["subnet_id"] == "${aws_subnet.acme_prod_private_a.id}"
    assert parsed["aws_lambda_function.acme_api"]["role"] == "${aws_iam_role.acme_api_lambda.arn}"
    assert parsed["aws_lb_listener.acme_prod_alb_80"]["load_balancer_arn"] == "${aws_lb.acme_prod_alb.arn}"
    rule = parsed["aws_vpc_security_group_ingress_rule.acme_prod_db_tcp_5432"]
    assert rule["referenced_security_group_id"] == "${aws_security_group.acme_prod_app.id}"
    assert parsed["aws_db_instance.acme_prod_pg"]["db_subnet_group_name"] == "${aws_db_subnet_group.acme_prod_db.name}"
    assert parsed["aws_nat_gateway.acme_prod_nat"]["allocation_id"].startswith("${aws_eip.")
    alias = parsed["aws_route53_record.app_a"]
    assert alias["zone_id"] == "${aws_route53_zone.acme_example.zone_id}"
    assert alias["alias"][0]["name"] == "${aws_lb.acme_prod_alb.dns_name}"
    assert parsed["aws_route53_zone.internal_acme"]["vpc"][0]["vpc_id"] == "${aws_vpc.acme_prod.id}"
    assert parsed["aws_db_instance.acme_eu_mysql"]["monitoring_role_arn"] == "${aws_iam_role.acme_rds_monitoring.arn}"
    classic = parsed["aws_elb.staging_classic"]
    assert classic["instances"] == ["${aws_instance.staging_box.id}"]
    assert classic["listener"][0]["instance_port"] == 8080


def test_no_secret_is_written(files: dict[str, str], parsed: dict[str, Any]) -> None:
    text = "\n".join(files.values())
    for secret in SECRETS:
        assert secret not in text
    pg = parsed["aws_db_instance.acme_prod_pg"]
    assert pg["password"] == "${var.acme_prod_pg_master_password}"
    assert "password" in str(pg["lifecycle"])
    assert "sensitive   = true" in files["variables.tf"] or "sensitive = true" in files["variables.tf"]
    assert "environment" in str(parsed["aws_lambda_function.acme_api"]["lifecycle"])
    assert "DB_PASSWORD" in files["README.md"]


def test_defaults_are_omitted(parsed: dict[str, Any]) -> None:
    vpc = parsed["aws_vpc.acme_prod"]
    assert "instance_tenancy" not in vpc and "enable_dns_support" not in vpc
    assert "map_public_ip_on_launch" not in parsed["aws_subnet.acme_prod_private_a"]
    assert "multi_az" not in parsed["aws_db_instance.acme_prod_pg"]
    assert "architectures" not in parsed["aws_lambda_function.acme_api"]


def test_values_equal_what_the_api_reports(moto_url: str, account: dict[str, Any], parsed: dict[str, Any]) -> None:
    ec2 = client(moto_url, "ec2", "us-east-1")
    sub = ec2.describe_subnets(SubnetIds=[account["prod"]["private"][1]])["Subnets"][0]
    mine = parsed["aws_subnet.acme_prod_private_b"]
    assert (mine["cidr_block"], mine["availability_zone"]) == (sub["CidrBlock"], sub["AvailabilityZone"])
    db = client(moto_url, "rds", "us-east-1").describe_db_instances(DBInstanceIdentifier="acme-prod-pg")["DBInstances"][0]
    pg = parsed["aws_db_instance.acme_prod_pg"]
    assert (pg["instance_class"], pg["allocated_storage"], pg["engine_version"], pg["backup_retention_period"]) == (
        db["DBInstanceClass"], db["AllocatedStorage"], db["EngineVersion"], db["BackupRetentionPeriod"])
    fn = client(moto_url, "lambda", "eu-west-1").get_function(FunctionName="acme-eu-api")["Configuration"]
    eu = parsed["aws_lambda_function.acme_eu_api"]
    assert (eu["runtime"], eu["memory_size"], eu["timeout"], eu["handler"]) == (
        fn["Runtime"], fn["MemorySize"], fn["Timeout"], fn["Handler"])
    assert eu["provider"] == "${aws.eu_west_1}"
    tg = client(moto_url, "elbv2", "us-east-1").describe_target_groups(TargetGroupArns=[account["tg"]])["TargetGroups"][0]
    mine_tg = parsed["aws_lb_target_group.acme_prod_app"]
    assert (mine_tg["port"], mine_tg["protocol"], mine_tg["health_check"][0]["path"]) == (
        tg["Port"], tg["Protocol"], tg["HealthCheckPath"])
    versioning = client(moto_url, "s3", "us-east-1").get_bucket_versioning(Bucket="acme-logs")["Status"]
    assert parsed["aws_s3_bucket_versioning.acme_logs"]["versioning_configuration"][0]["status"] == versioning
    assert parsed["aws_vpc_security_group_ingress_rule.acme_prod_web_tcp_443"]["cidr_ipv4"] == "0.0.0.0/0"


def test_the_module_passes_the_review_with_the_offline_plan(plan_cache: Path, files: dict[str, str],
                                                              built: Any) -> None:
    review = review_module(files, {"parse", "schema", "references", "plan"})
    failing = [f"{f.check_id} {f.address} {f.message[:200]}" for f in review.findings if f.failing]
    assert review.passed, failing
    assert review.checks_run == ["parse", "schema", "references", "plan"]
    # every resource is adopted: nothing to create, nothing to destroy
    assert review.plan is not None and "0 to add" in review.plan and "0 to destroy" in review.plan
