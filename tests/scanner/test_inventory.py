"""The inventory against moto: what a user checks first (counts, relationships, what is missing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from scanner import Scanner, scan
from scanner.inventory import RATES, TokenBucket, iam_action
from tests.scanner.seed import REGIONS

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def inventory(moto_url: str, account: dict[str, Any]) -> Any:
    return scan(REGIONS, endpoint_url=moto_url)


def mine(inv: Any, kind: str) -> list[Any]:
    return [r for r in inv.of(kind) if not r.aws_default]


def test_counts_cover_every_service(inventory: Any) -> None:
    c = inventory.counts()
    assert len(mine(inventory, "vpc")) == 3
    assert len(mine(inventory, "subnet")) == 12
    assert len(mine(inventory, "route_table")) == 5
    assert c["internet_gateway"] == 3 and c["nat_gateway"] == 2 and c["elastic_ip"] == 2
    assert len(mine(inventory, "security_group")) == 9
    assert c["instance"] == 4 and c["db_instance"] == 3 and c["db_cluster"] == 1
    assert c["db_subnet_group"] == 2 and c["lambda_function"] == 4
    assert c["s3_bucket"] == 4 and c["cache_cluster"] == 1 and c["replication_group"] == 1
    assert c["load_balancer"] == 2 and c["target_group"] == 2 and c["listener"] == 2  # an ALB and an NLB
    assert c["classic_load_balancer"] == 1
    # the roles what runs uses (functions, instance profiles, RDS enhanced monitoring), not unused-role
    assert {r.id for r in inventory.of("iam_role")} == {"acme-api-lambda", "acme-app-ec2", "acme-rds-monitoring"}
    assert c["hosted_zone"] == 2 and len(mine(inventory, "dns_record")) == 4  # NS and SOA come with a zone
    assert sum(1 for r in inventory.resources if not r.aws_default) >= 60
    assert inventory.skipped == ["s3 bucket acme-elsewhere (us-west-2)"]
    assert not inventory.partial


def test_relationships(inventory: Any, account: dict[str, Any]) -> None:
    prod = account["prod"]
    app = inventory.get(account["instances"][0])
    assert app.subnet_ids == [prod["private"][0]] and app.security_group_ids == [prod["app"]]
    assert app.vpc_id == prod["vpc"] and app.role_arn.endswith("role/acme-app-ec2")
    lb = inventory.get(account["lb"])
    assert sorted(lb.subnet_ids) == sorted(prod["public"]) and lb.security_group_ids == [prod["web"]]
    assert lb.targets == [account["tg"]]
    assert sorted(inventory.get(account["tg"]).targets) == sorted(account["instances"])
    fn = inventory.get("acme-api")
    assert fn.vpc_id == prod["vpc"] and sorted(fn.subnet_ids) == sorted(prod["private"])
    assert fn.role_arn == account["lambda_role"]
    assert "DB_PASSWORD" in fn.attrs["environment_keys"]
    assert "plain-text-secret" not in inventory.model_dump_json()
    pg = inventory.get("acme-prod-pg")
    assert pg.parent == "acme-prod-db" and pg.security_group_ids == [prod["db"]] and pg.vpc_id == prod["vpc"]
    assert inventory.get("acme-prod-aurora-1").parent == "acme-prod-aurora"
    rules = [r for r in inventory.of("security_group_rule") if r.parent == prod["db"] and not r.attrs["egress"]]
    assert {r.attrs["referenced_security_group_id"] for r in rules} == {prod["app"]}
    rt = inventory.get(prod["public_rt"])
    assert sorted(rt.subnet_ids) == sorted(prod["public"]) and rt.targets == [prod["igw"]]
    classic = inventory.get("staging-classic")
    assert classic.targets == [account["bastion"]] and classic.subnet_ids == [account["staging"]["public"][0]]
    assert classic.attrs["listeners"][0]["instance_port"] == 8080
    nlb = inventory.get(account["nlb"])
    assert nlb.attrs["type"] == "network" and nlb.targets == [account["ntg"]] and nlb.region == "eu-west-1"
    assert inventory.get(account["ntg"]).targets == [account["eu_instance"]]
    assert inventory.get("acme-eu-mysql").role_arn == account["monitoring_role"]
    alias = inventory.get(f"{account['zone']}_app.acme.example_A")
    assert alias.targets == [account["lb"]] and alias.parent == account["zone"]
    assert inventory.get(account["internal_zone"]).vpc_id == prod["vpc"]
    edges = inventory.relationships()
    assert ("acme-eu-mysql", account["monitoring_role"], "uses_role") in edges
    assert (alias.id, account["lb"], "targets") in edges
    assert (account["lb"], account["tg"], "targets") in edges
    assert (account["instances"][0], prod["private"][0], "in_subnet") in edges


def test_bucket_settings(inventory: Any) -> None:
    assets = inventory.get("acme-assets").attrs
    assert assets["versioning"] == "Enabled" and assets["encryption"]["sse_algorithm"] == "aws:kms"
    assert assets["public_access_block"]["BlockPublicPolicy"] is True
    site = inventory.get("acme-public-site").attrs
    assert site["policy"]["Statement"][0]["Principal"] == "*" and site["public_access_block"] is None
    assert inventory.get("acme-eu-data").region == "eu-west-1"


def _deny(session: boto3.Session, event: str, code: str = "AccessDenied") -> None:
    def handler(**kwargs: Any) -> Any:
        class Http:
            status_code = 403
            headers: dict[str, str] = {}
            raw = None
            content = b""
        return Http(), {"Error": {"Code": code, "Message": "User is not authorized"},
                        "ResponseMetadata": {"HTTPStatusCode": 403}}
    session.events.register(event, handler)


def test_denied_service_gives_a_partial_inventory(moto_url: str, account: dict[str, Any]) -> None:
    session = boto3.Session()
    _deny(session, "before-call.rds.*")
    _deny(session, "before-call.s3.GetBucketPolicy")
    inv = Scanner(REGIONS, session=session, endpoint_url=moto_url).scan()
    assert inv.partial
    assert not inv.of("db_instance") and not inv.of("db_cluster")
    assert len(inv.of("lambda_function")) == 4 and len(mine(inv, "vpc")) == 3  # the rest is there
    actions = {m.action for m in inv.missing}
    assert {"rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribeDBSubnetGroups"} <= actions
    assert "s3:GetBucketPolicy" in actions  # that one setting is left out, the buckets stay
    assert inv.get("acme-public-site").attrs["unread"] == ["GetBucketPolicy"]
    assert inv.get("acme-assets").attrs["versioning"] == "Enabled"
    rds = [m for m in inv.missing if m.operation == "DescribeDBInstances"]
    assert {m.region for m in rds} == set(REGIONS) and rds[0].kinds == ["db_instance"]
    assert "grant rds:DescribeDBInstances" in rds[0].text


def test_throttled_calls_are_retried(moto_url: str, account: dict[str, Any]) -> None:
    session = boto3.Session()
    left = {"n": 5}

    def throttle(**kwargs: Any) -> Any:
        if left["n"] <= 0:
            return None
        left["n"] -= 1

        class Http:
            status_code = 400
            headers: dict[str, str] = {}
        return Http(), {"Error": {"Code": "RequestLimitExceeded", "Message": "Request limit exceeded."},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}

    session.events.register("before-call.ec2.DescribeVpcs", throttle)
    inv = Scanner(REGIONS, session=session, endpoint_url=moto_url, backoff_base=0.01).scan()
    assert inv.throttled == 5 and not inv.partial
    assert len(mine(inv, "vpc")) == 3


def test_an_interrupted_scan_resumes(moto_url: str, account: dict[str, Any], tmp_path: Path) -> None:
    checkpoint = tmp_path / "scan.json"
    session = boto3.Session()
    _deny(session, "before-call.lambda.*", "ServiceUnavailable")
    first = Scanner(REGIONS, session=session, endpoint_url=moto_url, checkpoint=checkpoint,
                    max_attempts=1).scan()
    assert not first.of("lambda_function") and first.partial
    assert checkpoint.exists() and "ec2|us-east-1|DescribeVpcs" in json.loads(checkpoint.read_text())["raw"]
    second = Scanner(REGIONS, endpoint_url=moto_url, checkpoint=checkpoint)
    inv = second.scan()
    assert not inv.partial and len(inv.of("lambda_function")) == 4
    assert "ec2" not in second.calls  # only what was missing was read again


def test_a_persistently_throttled_service_is_partial_then_resumes(moto_url: str, account: dict[str, Any],
                                                                   tmp_path: Path) -> None:
    checkpoint = tmp_path / "scan.json"
    session = boto3.Session()

    def throttle(**kwargs: Any) -> Any:
        class Http:
            status_code = 400
            headers: dict[str, str] = {}
        return Http(), {"Error": {"Code": "Throttling", "Message": "Rate exceeded"},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}

    session.events.register("before-call.elasticache.*", throttle)
    first = Scanner(REGIONS, session=session, endpoint_url=moto_url, checkpoint=checkpoint, max_attempts=3,
                    backoff_base=0.01).scan()
    assert first.partial and not first.of("replication_group") and len(first.of("lambda_function")) == 4
    throttled = [m for m in first.missing if m.service == "elasticache"]
    assert throttled and {m.cause for m in throttled} == {"throttled"}
    assert first.throttled >= 3 * len(throttled)  # each retried before it was given up
    assert "throttled past every retry" in throttled[0].text and "scan again to resume" in throttled[0].text
    again = Scanner(REGIONS, endpoint_url=moto_url, checkpoint=checkpoint)
    inv = again.scan()
    assert not inv.partial and len(inv.of("replication_group")) == 1
    assert set(again.calls) == {"elasticache"}  # only what the throttling left out was read again


def test_the_checkpoint_keeps_no_secret(moto_url: str, account: dict[str, Any], tmp_path: Path) -> None:
    checkpoint = tmp_path / "scan.json"
    inv = Scanner(REGIONS, endpoint_url=moto_url, checkpoint=checkpoint).scan()
    assert inv.get("acme-api").attrs["environment_keys"] == ["DB_PASSWORD"]
    text = checkpoint.read_text()
    assert '"DB_PASSWORD"' in text and "plain-text-secret" not in text


def test_rate_budget_and_actions() -> None:
    import time

    bucket = TokenBucket(rate=50, burst=5)
    t0 = time.monotonic()
    for _ in range(15):
        bucket.take()
    assert time.monotonic() - t0 >= 0.18  # 10 tokens beyond the burst at 50/s
    assert iam_action("elbv2", "DescribeListeners") == "elasticloadbalancing:DescribeListeners"
    assert iam_action("s3", "GetBucketEncryption") == "s3:GetEncryptionConfiguration"


def test_the_policy_grants_every_call_made(moto_url: str, account: dict[str, Any]) -> None:
    policy = json.loads((Path(__file__).parents[2] / "scanner" / "policy.json").read_text())
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    scanner = Scanner(REGIONS, endpoint_url=moto_url)
    made: set[str] = set()
    scanner.session.events.register(
        "before-call", lambda model, **kw: made.add(iam_action(
            model.service_model.service_name.replace("elasticloadbalancingv2", "elbv2").replace(
                "elasticloadbalancing", "elbv2"), model.name)))
    scanner.scan()
    assert made and made <= granted, sorted(made - granted)
    assert all(not a.split(":")[1].startswith(("Create", "Delete", "Put", "Modify")) for a in granted)


@pytest.mark.serial  # the gaps on the wire: run alone, after the parallel part
def test_route53_keeps_to_its_account_wide_budget(moto_url: str, account: dict[str, Any]) -> None:
    """Route 53 allows 5 requests a second per account: one bucket for every thread of the scan."""
    import time

    sent: list[float] = []
    session = boto3.Session()
    session.events.register("before-send.route-53.*", lambda **kw: sent.append(time.monotonic()))
    scanner = Scanner(REGIONS, session=session, endpoint_url=moto_url, rates={"route53": (5.0, 1)})
    assert scanner.rates["route53"] == (5.0, 1) and RATES["route53"] == (5.0, 5)
    inv = scanner.scan()
    assert not inv.partial and len(inv.of("hosted_zone")) == 2
    assert len(sent) == scanner.calls["route53"] >= 6
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert min(gaps) >= 0.18, gaps  # 5 a second, never two at once though 16 threads were free


def test_pages_are_followed() -> None:
    """moto answers every list in one page, so the pages come from botocore's Stubber here."""
    from botocore.stub import Stubber

    scanner = Scanner(["us-east-1"], page_size=2)
    ec2 = boto3.client("ec2", region_name="us-east-1")
    lam = boto3.client("lambda", region_name="us-east-1")
    iam = boto3.client("iam", region_name="us-east-1")
    with Stubber(ec2) as s1, Stubber(lam) as s2, Stubber(iam) as s3:
        s1.add_response("describe_vpcs", {"Vpcs": [{"VpcId": "vpc-1"}, {"VpcId": "vpc-2"}], "NextToken": "t1"},
                        {"MaxResults": 5})
        s1.add_response("describe_vpcs", {"Vpcs": [{"VpcId": "vpc-3"}]}, {"MaxResults": 5, "NextToken": "t1"})
        s2.add_response("list_functions", {"Functions": [{"FunctionName": "a"}], "NextMarker": "m1"}, {"MaxItems": 2})
        s2.add_response("list_functions", {"Functions": [{"FunctionName": "b"}]}, {"MaxItems": 2, "Marker": "m1"})
        s3.add_response("list_attached_role_policies", {"AttachedPolicies": [{"PolicyArn": "arn:aws:iam::aws:policy/x"}],
                                                        "IsTruncated": True, "Marker": "k"},
                        {"RoleName": "r", "MaxItems": 2})
        s3.add_response("list_attached_role_policies", {"AttachedPolicies": [{"PolicyArn": "arn:aws:iam::aws:policy/y"}],
                                                        "IsTruncated": False}, {"RoleName": "r", "MaxItems": 2, "Marker": "k"})
        scanner._clients.update({("ec2", "us-east-1"): ec2, ("lambda", "us-east-1"): lam, ("iam", "global"): iam})
        vpcs = scanner.pages("ec2", "us-east-1", "DescribeVpcs", "Vpcs")
        fns = scanner.pages("lambda", "us-east-1", "ListFunctions", "Functions")
        policies = scanner.pages("iam", "global", "ListAttachedRolePolicies", "AttachedPolicies", RoleName="r")
    assert [v["VpcId"] for v in vpcs] == ["vpc-1", "vpc-2", "vpc-3"]  # EC2's minimum page is 5
    assert [f["FunctionName"] for f in fns] == ["a", "b"]
    assert [p["PolicyArn"] for p in policies] == ["arn:aws:iam::aws:policy/x", "arn:aws:iam::aws:policy/y"]
    assert scanner.calls == {"ec2": 2, "lambda": 2, "iam": 2}


def test_the_project_role_is_assumed(moto_url: str, account: dict[str, Any]) -> None:
    scanner = Scanner(REGIONS, endpoint_url=moto_url, role_arn="arn:aws:iam::123456789012:role/acme-app-ec2")
    inv = scanner.scan()
    assert not inv.partial and len(mine(inv, "vpc")) == 3
    assert scanner.session.get_credentials().get_frozen_credentials().access_key != "testing"


def test_each_service_keeps_to_its_budget(moto_url: str, account: dict[str, Any]) -> None:
    import time

    scanner = Scanner(["us-east-1"], endpoint_url=moto_url, rates={"ec2": (20.0, 1)})
    t0 = time.monotonic()
    inv = scanner.scan()
    took = time.monotonic() - t0
    ec2 = scanner.calls["ec2"]
    assert ec2 >= 14 and not inv.partial
    assert took >= (ec2 - 1) / 20.0  # one token at a time, 20 a second, across all the pool's threads
