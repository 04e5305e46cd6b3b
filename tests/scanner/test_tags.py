"""Project tags on moto: a plan by VPC membership and by selection, a dry run that changes nothing,
an apply in batches through the Tagging API with the per-service fallback it needs for load
balancers, a report per resource with before and after, and the CLI's recorded workflow."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import ValidationError
from scanner import Scanner
from scanner.tags import apply_tags, missing_tag, plan_tags
from tests.scanner.seed import REGIONS, TAG_KEY, TAG_VALUE, client

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def own(own_account: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    return own_account


def test_plan_dry_run_and_apply_by_vpc(own: tuple[str, dict[str, Any]]) -> None:
    url, account = own
    scanner = Scanner(REGIONS, endpoint_url=url)
    inventory = scanner.scan()
    staging = account["staging"]
    lacking = {r.id for r in missing_tag(inventory, TAG_KEY, TAG_VALUE)}
    assert staging["vpc"] in lacking and account["bastion"] in lacking
    assert account["instances"][0] not in lacking
    plan = plan_tags(inventory, TAG_KEY, TAG_VALUE, vpcs=[staging["vpc"]])
    ids = {c.id for c in plan.changes}
    assert ids == {staging["vpc"], *staging["public"], *staging["private"], staging["igw"],
                   staging["public_rt"], staging["web"], staging["app"], staging["db"], account["bastion"],
                   "staging-classic"}
    assert all(c.after[TAG_KEY] == TAG_VALUE and TAG_KEY not in c.before for c in plan.changes)

    dry = apply_tags(plan, scanner, dry_run=True)
    assert dry.count("would tag") == len(plan.changes) and dry.calls == 0
    assert {r.id for r in missing_tag(Scanner(REGIONS, endpoint_url=url).scan(), TAG_KEY, TAG_VALUE)} == lacking

    report = apply_tags(plan, scanner, dry_run=False)
    assert report.count("tagged") == len(plan.changes), [o for o in report.outcomes if o.status != "tagged"]
    assert {o.id: o.via for o in report.outcomes}["staging-classic"] in ("tag:TagResources",
                                                                       "elasticloadbalancing:AddTags")
    vpc = next(o for o in report.outcomes if o.id == staging["vpc"])
    assert vpc.before == {"Name": "acme-staging"} and vpc.after == {"Name": "acme-staging", TAG_KEY: TAG_VALUE}
    after = Scanner(REGIONS, endpoint_url=url).scan()
    assert not ids & {r.id for r in missing_tag(after, TAG_KEY, TAG_VALUE)}
    assert after.get(staging["vpc"]).tags == {"Name": "acme-staging", TAG_KEY: TAG_VALUE}


def test_apply_falls_back_where_the_tagging_api_refuses(own: tuple[str, dict[str, Any]],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import scanner.tags as tags

    url, account = own
    monkeypatch.setattr(tags, "BATCH", 3)  # several batches from a handful of resources
    scanner = Scanner(REGIONS, endpoint_url=url)
    inventory = scanner.scan()
    chosen = [account["lb"], account["tg"], "acme-logs", "acme-assets", "acme-cron", account["instances"][0]]
    plan = plan_tags(inventory, "CostCenter", "web", select=chosen)
    assert {c.id for c in plan.changes} == set(chosen)
    before = scanner.calls.get("resourcegroupstaggingapi", 0)
    report = apply_tags(plan, scanner, dry_run=False)
    by_id = {o.id: o for o in report.outcomes}
    assert all(o.status == "tagged" for o in report.outcomes), report.outcomes
    assert by_id[account["lb"]].via == "elasticloadbalancing:AddTags"  # moto: "not yet supported"
    assert by_id[account["tg"]].via == "elasticloadbalancing:AddTags"
    assert by_id["acme-cron"].via in ("tag:TagResources", "lambda:TagResource")
    assert scanner.calls["resourcegroupstaggingapi"] - before == 2  # 6 ARNs in one region, 3 a call
    elb = client(url, "elbv2", "us-east-1")
    lb_tags = {t["Key"]: t["Value"] for t in elb.describe_tags(ResourceArns=[account["lb"]])["TagDescriptions"][0]["Tags"]}
    assert lb_tags["CostCenter"] == "web" and lb_tags[TAG_KEY] == TAG_VALUE
    s3 = client(url, "s3", "us-east-1")
    assets = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="acme-assets")["TagSet"]}
    assert assets == {"Name": "acme-assets", TAG_KEY: TAG_VALUE, "CostCenter": "web"}  # kept what it had


def test_a_tag_aws_would_refuse_is_refused_before_any_call(own: tuple[str, dict[str, Any]]) -> None:
    from scanner.models import Inventory

    empty = Inventory(regions=["us-east-1"])
    for key, value, why in (("aws:createdBy", "x", "reserved prefix"), ("Team", "a" * 257, "at most 256"),
                            ("Team", "data;drop", "characters AWS refuses"), ("", "x", "1 to 128"),
                            ("Secret", "AKIAIOSFODNN7EXAMPLE", "looks like a credential")):
        with pytest.raises(ValidationError, match=why):
            plan_tags(empty, key, value, select=["x"])
    with pytest.raises(ValidationError, match="not a regular expression"):
        plan_tags(empty, "Team", "data", name_pattern="acme-(")


def test_cli_plan_then_dry_run_then_apply(own: tuple[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    import re

    from cli.main import main

    url, account = own
    assert main(["tags", "plan", "--regions", "us-east-1", "--key", "Team", "--value", "data",
                 "--name-pattern", "^acme-prod-(pg|aurora)$", "--endpoint-url", url]) == 0
    out = capsys.readouterr().out
    assert "2 resource(s) to tag Team=data" in out, out
    plan_id = re.search(r"archops tags apply (tagplan-[0-9a-f]+)", out).group(1)
    # approving before the dry run is refused, and changes nothing
    assert main(["tags", "apply", plan_id, "--yes", "--endpoint-url", url]) == 75
    assert "is proposed" in capsys.readouterr().err
    assert main(["tags", "apply", plan_id, "--endpoint-url", url]) == 0
    out = capsys.readouterr().out
    assert "dry run: 2 of 2 would be tagged" in out
    assert "{Name=acme-prod-pg, Project=acme} -> {Name=acme-prod-pg, Project=acme, Team=data}" in out
    assert main(["tags", "apply", plan_id, "--yes", "--endpoint-url", url]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 tagged, 0 failed" in out and "approved by local" in out
    assert main(["tags", "show", plan_id]) == 0
    shown = capsys.readouterr().out
    assert "approved by local via cli" in shown and "applied by local via cli" in shown
    assert "-> {Name=acme-prod-pg, Project=acme, Team=data} tag:TagResources" in shown
    rds = client(url, "rds", "us-east-1")
    arn = rds.describe_db_instances(DBInstanceIdentifier="acme-prod-pg")["DBInstances"][0]["DBInstanceArn"]
    assert {"Key": "Team", "Value": "data"} in rds.list_tags_for_resource(ResourceName=arn)["TagList"]
    # a second apply of an applied plan is refused: nothing is tagged twice
    assert main(["tags", "apply", plan_id, "--yes", "--endpoint-url", url]) == 75
