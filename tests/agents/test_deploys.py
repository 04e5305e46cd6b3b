"""Designs that deploy: the AWS facts enforced only at apply time, read from the generated HCL.

Each design is rendered by the offline engine end to end, parsed with python-hcl2 (policies'
``jsonencode`` bodies too) and checked for what AWS needs when ``terraform apply`` runs: key
policies that let CloudWatch Logs, Auto Scaling and the alert topic's publishers use the key,
bucket policies that let the log writers of the region write, topic policies, containers that
get their endpoints and secrets, names and singletons that two environments never share.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from langgraph.checkpoint.memory import MemorySaver

from agents.handler import AgentHandler
from core.settings import Settings
from tests.agents.conftest import Recorder, text
from tests.agents.deploy_facts import (
    as_list,
    blocks,
    container,
    deploy_defects,
    granted,
    one,
    policy,
    read_hcl,
    sse,
    statements,
    variables,
)

DESIGNS = {
    "web": "a SaaS web app with Postgres and Redis for the project called shop in us-east-1, production",
    "web_new_region": "a SaaS web app with Postgres and Redis for the project called shop in il-central-1, production",
    "web_staging": "a SaaS web app with Postgres and Redis for the project called shop in us-east-1, staging, SOC 2",
    "site": "host our marketing site at www.acme.io, static html",
    "site_new_region": "a static website in il-central-1",
    "workers": "queue workers on ECS with SQS",
    "asg": "EC2 auto scaling group behind an ALB with MySQL",
    "lambda": "API on Lambda with DynamoDB",
}

ACCOUNT = "111122223333"


@pytest.fixture(scope="module")
def designs() -> dict[str, dict[str, str]]:
    async def design_all() -> dict[str, dict[str, str]]:
        handler = AgentHandler(MemorySaver(), Settings(), review_checks={"parse"})
        out: dict[str, dict[str, str]] = {}
        for key, request in DESIGNS.items():
            ctx = Recorder(text(f"deploy-{key}", request, non_interactive=True))
            await handler(ctx)
            assert ctx.last[0] == "done", ctx.last
            out[key] = ctx.module()["files"]
        return out

    return asyncio.run(design_all())


def key_policy(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return statements(policy(blocks(files)["aws_kms_key.main"]["policy"]))


def bucket_policy(files: dict[str, str], rid: str = "logs") -> dict[str, dict[str, Any]]:
    return statements(policy(blocks(files)[f"aws_s3_bucket_policy.{rid}"]["policy"]))


def test_a_key_that_encrypts_log_groups_lets_the_regional_logs_principal_use_it(designs: dict[str, dict[str, str]]) -> None:
    for key, files in designs.items():
        groups = {a: b for a, b in blocks(files).items() if a.startswith("aws_cloudwatch_log_group.") and b.get("kms_key_id")}
        stmts = key_policy(files)
        assert not granted(stmts, "Service", "logs.amazonaws.com"), key  # the global principal cannot
        if not groups:
            continue
        (logs,) = granted(stmts, "Service", "logs.${data.aws_region.current.region}.amazonaws.com")
        assert {"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"} <= set(logs["Action"])
        context = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
        assert context == ("arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.region}:"
                           "${data.aws_caller_identity.current.account_id}:*"), key
    # flow logs, ECS, CloudTrail and the regional WAF ask; Lambda and API Gateway too
    assert "aws_cloudwatch_log_group.flow_logs" in blocks(designs["web"])
    assert blocks(designs["lambda"])["aws_cloudwatch_log_group.api"]["kms_key_id"]


def test_ebs_of_an_auto_scaling_group_encrypted_with_the_key_is_granted_to_its_service_linked_role(designs: dict[str, dict[str, str]]) -> None:
    files = designs["asg"]
    template = blocks(files)["aws_launch_template.app"]
    assert "aws_kms_key.main.arn" in str(template["block_device_mappings"])
    stmts = key_policy(files)
    role = ("arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:"
            "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
    use, grant = stmts["AutoScalingUsesKeyForEbs"], stmts["AutoScalingCreatesGrantsForEbs"]
    assert use["Principal"]["AWS"] == role and grant["Principal"]["AWS"] == role
    assert {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"} == set(use["Action"])
    assert grant["Action"] == "kms:CreateGrant" and grant["Condition"]["Bool"]["kms:GrantIsForAWSResource"] is True
    # the role must exist before the key policy names it: optional creation, and the key waits
    assert blocks(files)["aws_iam_service_linked_role.autoscaling"]["aws_service_name"] == "autoscaling.amazonaws.com"
    assert "aws_iam_service_linked_role.autoscaling" in str(blocks(files)["aws_kms_key.main"]["depends_on"])
    assert "create_autoscaling_service_linked_role" in files["README.md"]
    # no Auto Scaling group, no grant
    assert "AutoScalingUsesKeyForEbs" not in key_policy(designs["web"])


@pytest.mark.parametrize("design", ["web", "asg", "site"])
def test_the_encrypted_alert_topic_lets_its_publishers_publish_and_encrypt(designs: dict[str, dict[str, str]], design: str) -> None:
    files = designs[design]
    res = blocks(files)
    assert res["aws_sns_topic.alerts"]["kms_master_key_id"] == "${aws_kms_key.main.arn}"
    topic = statements(policy(res["aws_sns_topic_policy.alerts"]["policy"]))
    key = key_policy(files)
    # the alert topic takes CloudWatch alarms (the design's and later ones) and budget alerts
    publishers = {"budgets.amazonaws.com", "cloudwatch.amazonaws.com"}
    alarms = [b for a, b in res.items() if a.startswith("aws_cloudwatch_metric_alarm.")]
    assert all(b["alarm_actions"] == ["${aws_sns_topic.alerts.arn}"] for b in alarms)
    if "aws_cloudwatch_event_rule.guardduty" in res:
        publishers.add("events.amazonaws.com")
    for service in publishers:
        (pub,) = granted(topic, "Service", service)
        assert pub["Action"] == "sns:Publish"
        (enc,) = granted(key, "Service", service)
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(enc["Action"]))
    budget = granted(topic, "Service", "budgets.amazonaws.com")[0]
    assert budget["Condition"]["StringEquals"]["aws:SourceAccount"] == "${data.aws_caller_identity.current.account_id}"


def test_guardduty_findings_reach_the_alert_topic_through_an_eventbridge_rule(designs: dict[str, dict[str, str]]) -> None:
    files = designs["web"]
    res = blocks(files)
    assert "aws_guardduty_detector.main" in res
    rule = res["aws_cloudwatch_event_rule.guardduty"]
    assert "aws.guardduty" in rule["event_pattern"]
    assert res["aws_cloudwatch_event_target.guardduty"]["arn"] == "${aws_sns_topic.alerts.arn}"
    (events,) = granted(statements(policy(res["aws_sns_topic_policy.alerts"]["policy"])), "Service", "events.amazonaws.com")
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"] == "${aws_cloudwatch_event_rule.guardduty.arn}"
    assert "findings go to the alert topic" in files["README.md"] or "findings to the alert topic" in files["README.md"]


@pytest.mark.parametrize(("design", "regional_account"), [("web", True), ("asg", True), ("web_new_region", False)])
def test_alb_access_logs_are_granted_to_the_regions_elb_writer(designs: dict[str, dict[str, str]], design: str, regional_account: bool) -> None:
    files = designs[design]
    res = blocks(files)
    assert one(res["aws_lb.main"]["access_logs"])["bucket"] == "${aws_s3_bucket.logs.id}"
    assert "aws_s3_bucket_policy.logs" in str(res["aws_lb.main"]["depends_on"])
    stmts = bucket_policy(files)
    path = "${aws_s3_bucket.logs.arn}/alb/AWSLogs/${data.aws_caller_identity.current.account_id}/*"
    (delivery,) = granted(stmts, "Service", "logdelivery.elasticloadbalancing.amazonaws.com")
    assert delivery["Action"] == "s3:PutObject" and delivery["Resource"] == path
    elb = granted(stmts, "AWS", "data.aws_elb_service_account.main.arn")
    data_sources = blocks(files, "data")
    if regional_account:
        assert elb and elb[0]["Resource"] == path and "aws_elb_service_account.main" in data_sources
    else:  # the data source has no account for a region opened after August 2022
        assert not elb and "aws_elb_service_account.main" not in data_sources
    # ELB writes only to SSE-S3 buckets
    assert sse(res, "logs") == "AES256"


def test_s3_server_access_logs_are_granted_to_the_logging_service(designs: dict[str, dict[str, str]]) -> None:
    files = designs["site"]
    res = blocks(files)
    assert res["aws_s3_bucket_logging.site"]["target_bucket"] == "${aws_s3_bucket.logs.id}"
    (logging,) = granted(bucket_policy(files), "Service", "logging.s3.amazonaws.com")
    assert logging["Action"] == "s3:PutObject"
    assert logging["Condition"]["StringEquals"]["aws:SourceAccount"] == "${data.aws_caller_identity.current.account_id}"
    assert sse(res, "logs") == "AES256"


def test_cloudfront_standard_logs_go_to_a_bucket_with_acls_and_the_awslogsdelivery_grant(designs: dict[str, dict[str, str]]) -> None:
    files = designs["site"]
    res = blocks(files)
    assert one(res["aws_cloudfront_distribution.main"]["logging_config"])["bucket"] == "${aws_s3_bucket.logs.bucket_domain_name}"
    assert one(res["aws_s3_bucket_ownership_controls.logs"]["rule"])["object_ownership"] == "BucketOwnerPreferred"
    acl = str(res["aws_s3_bucket_acl.logs"])
    assert "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0" in acl and "FULL_CONTROL" in acl
    assert "aws_s3_bucket_acl.logs" in str(res["aws_cloudfront_distribution.main"]["depends_on"])
    # where CloudFront cannot deliver standard logs, it is not asked to, and the README says so
    other = blocks(designs["site_new_region"])
    assert "logging_config" not in other["aws_cloudfront_distribution.main"]
    assert "aws_s3_bucket_acl.logs" not in other and "CloudFront access logs are off" in designs["site_new_region"]["README.md"]
    # without CloudFront the log bucket keeps ACLs off
    assert one(blocks(designs["workers"])["aws_s3_bucket_ownership_controls.logs"]["rule"])["object_ownership"] == "BucketOwnerEnforced"


def test_cloudtrail_and_config_write_to_the_log_bucket_and_the_trail_uses_the_key(designs: dict[str, dict[str, str]]) -> None:
    files = designs["web"]
    stmts = bucket_policy(files)
    assert stmts["CloudTrailWrite"]["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    assert "s3:GetBucketAcl" in stmts["CloudTrailAclCheck"]["Action"]
    assert stmts["ConfigWrite"]["Resource"].endswith("/config/AWSLogs/${data.aws_caller_identity.current.account_id}/Config/*")
    key = key_policy(files)
    assert "kms:EncryptionContext:aws:cloudtrail:arn" in key["CloudTrailEncryptLogs"]["Condition"]["StringLike"]


def test_an_autoscaled_ecs_service_leaves_its_task_count_to_autoscaling(designs: dict[str, dict[str, str]]) -> None:
    for key in ("web", "workers"):
        res = blocks(designs[key])
        assert "aws_appautoscaling_target.app" in res
        assert one(res["aws_ecs_service.app"]["lifecycle"])["ignore_changes"] == ["desired_count"]


def test_containers_get_the_endpoints_and_secret_references_of_what_they_use(designs: dict[str, dict[str, str]]) -> None:
    files = designs["web"]
    app = container(files)
    env = {e["name"]: e["value"] for e in app["environment"]}
    assert env["DB_HOST"] == "${aws_db_instance.main.address}" and env["DB_PORT"] == "5432" and env["DB_NAME"] == "app"
    assert env["REDIS_HOST"] == "${aws_elasticache_replication_group.main.primary_endpoint_address}"
    secrets = {s["name"]: s["valueFrom"] for s in app["secrets"]}
    assert secrets["DB_PASSWORD"] == "${aws_db_instance.main.master_user_secret[0].secret_arn}:password::"
    assert secrets["REDIS_AUTH_TOKEN"] == "${aws_secretsmanager_secret.redis.arn}"
    # the execution role reads exactly those secrets and decrypts them with the key
    res = blocks(files)
    read = statements(policy(res["aws_iam_role_policy.task_execution_secrets"]["policy"]))
    assert sorted(read["ReadContainerSecrets"]["Resource"]) == sorted(
        ["${aws_db_instance.main.master_user_secret[0].secret_arn}", "${aws_secretsmanager_secret.redis.arn}"])
    assert read["DecryptContainerSecrets"]["Resource"] == "${aws_kms_key.main.arn}"
    # the service reaches the database and cache ports and, besides HTTPS out, nothing else
    egress = {a: b for a, b in res.items() if a.startswith("aws_vpc_security_group_egress_rule.app_")}
    assert {(b["from_port"], b.get("referenced_security_group_id", b.get("cidr_ipv4"))) for b in egress.values()} == {
        (443, "0.0.0.0/0"), (5432, "${aws_security_group.db.id}"), (6379, "${aws_security_group.redis.id}")}
    # a queue worker gets the queue's URL
    worker_env = {e["name"]: e["value"] for e in container(designs["workers"])["environment"]}
    assert worker_env["QUEUE_URL"] == "${aws_sqs_queue.main.url}"


def test_iam_database_authentication_comes_with_an_rds_db_connect_grant(designs: dict[str, dict[str, str]]) -> None:
    for key in ("web", "asg"):
        res = blocks(designs[key])
        assert res["aws_db_instance.main"]["iam_database_authentication_enabled"] is True
        role = "task" if key == "web" else "instance"
        stmts = statements(policy(res[f"aws_iam_role_policy.{role}"]["policy"]))
        connect = stmts["ConnectToDatabaseWithIam"]
        assert connect["Action"] == ["rds-db:connect"]
        assert connect["Resource"] == ("arn:${data.aws_partition.current.partition}:rds-db:${data.aws_region.current.region}:"
                                       "${data.aws_caller_identity.current.account_id}:dbuser:${aws_db_instance.main.resource_id}/app_iam")


def test_arm64_and_the_placeholder_image_are_in_the_readme(designs: dict[str, dict[str, str]]) -> None:
    readme = designs["web"]["README.md"]
    assert "linux/arm64" in readme and "`container_image` is a placeholder" in readme
    assert 'variable "container_image"' in designs["web"]["variables.tf"]
    assert "arm64" in designs["lambda"]["README.md"] and "arm64" in designs["asg"]["README.md"]


def _names(files: dict[str, str]) -> dict[str, str]:
    """Bucket names, state key and bucket as they resolve with the design's own defaults."""
    variables = {}
    for item in read_hcl(files["variables.tf"])["variable"]:
        for name, attrs in item.items():
            variables[name] = attrs.get("default")
    name = f"{variables['project']}-{variables['environment']}"

    def resolve(value: str) -> str:
        return value.replace("${local.name}", name).replace("${data.aws_caller_identity.current.account_id}", ACCOUNT)

    out = {a: resolve(b["bucket"]) for a, b in blocks(files).items() if a.startswith("aws_s3_bucket.")}
    backend = read_hcl(files["versions.tf"])["terraform"][0]["backend"][0]["s3"]
    out["state bucket"], out["state key"] = backend["bucket"], backend["key"]
    return out


def test_two_environments_of_one_project_share_no_state_bucket_name_or_singleton(designs: dict[str, dict[str, str]]) -> None:
    prod, staging = _names(designs["web"]), _names(designs["web_staging"])
    assert prod["state key"] == "shop/production/terraform.tfstate" and staging["state key"] == "shop/staging/terraform.tfstate"
    assert not set(prod.values()) & set(staging.values())
    for names in (prod, staging):
        for address, bucket in names.items():
            if address.startswith("aws_s3_bucket."):
                assert ACCOUNT in bucket and len(bucket) <= 63 and re.fullmatch(r"[a-z0-9][a-z0-9.-]+", bucket), bucket
    # account-wide singletons are optional: created by default only in production
    for key, created in (("web", "true"), ("web_staging", "false")):
        res, variables = blocks(designs[key]), designs[key]["variables.tf"]
        assert res["aws_guardduty_detector.main"]["count"] == "${var.create_guardduty_detector ? 1 : 0}"
        assert res["aws_config_configuration_recorder.main"]["count"] == "${var.create_config_recorder ? 1 : 0}"
        assert res["aws_config_delivery_channel.main"]["count"] == "${var.create_config_recorder ? 1 : 0}"
        assert res["aws_cloudtrail.main"]["count"] == "${var.create_cloudtrail ? 1 : 0}"
        for variable in ("create_guardduty_detector", "create_config_recorder", "create_cloudtrail"):
            assert re.search(rf'variable "{variable}" {{[^}}]*default\s+=\s+{created}', variables), (key, variable)


def test_no_design_has_an_apply_time_defect(designs: dict[str, dict[str, str]]) -> None:
    assert {key: deploy_defects(files) for key, files in designs.items()} == {key: [] for key in designs}


def test_the_defect_reader_finds_what_the_old_catalog_wrote(designs: dict[str, dict[str, str]]) -> None:
    """The reader is not vacuous: the old global logs principal, no ELB account, no ignore_changes."""
    files = dict(designs["web"])
    files["security.tf"] = files["security.tf"].replace("logs.${data.aws_region.current.region}.amazonaws.com", "logs.amazonaws.com")
    files["logging.tf"] = files["logging.tf"].replace("data.aws_elb_service_account.main.arn", '"arn:aws:iam::127311923021:root"')
    files["compute.tf"] = re.sub(r"lifecycle \{\s*ignore_changes = \[desired_count\]\s*\}", "", files["compute.tf"])
    found = deploy_defects(files)
    assert any("regional CloudWatch Logs" in d for d in found) and any("logs.amazonaws.com" in d for d in found)
    assert any("regional ELB account" in d for d in found) and any("task count" in d for d in found)


def test_each_design_plans_with_terraform_and_passes_the_deploy_and_policy_checks(designs: dict[str, dict[str, str]]) -> None:
    from core.terraform.deploy import check_deploy
    from core.terraform.parse import parse_module
    from core.terraform.plan_check import check_plan_many
    from core.terraform.review import review_module

    by_region: dict[str, dict[str, Any]] = {}
    for key, files in designs.items():
        review = review_module(files, {"parse", "schema", "references", "policy"})
        assert review.passed, (key, [(f.check_id, f.address, f.message) for f in review.failing][:5])
        by_region.setdefault(str(variables(files)["region"]), {})[key] = parse_module(files)
    for region, modules in by_region.items():  # one Terraform plan per region
        for key, result in check_plan_many(modules, region).items():
            failing = [f for f in [*result.findings, *check_deploy(result.show, modules[key])] if f.failing]
            assert not failing, (key, [(f.check_id, f.address, f.message) for f in failing][:5])
            assert result.planned and result.add > 0 and result.destroy == 0, key


def test_each_design_has_no_checkov_failure_except_written_skips(designs: dict[str, dict[str, str]]) -> None:
    from core.terraform.checkov_scan import check_checkov_many, checkov_available

    if not checkov_available():
        pytest.skip("checkov is not installed here")
    # one scan per design: in one batch checkov links resources of the same address across
    # modules (the staging Config recorder's count = 0 fails production's recorder status)
    for key, files in designs.items():
        findings = check_checkov_many({key: files})[key]
        assert [(f.check_id, f.address, f.message) for f in findings if f.failing] == [], key
        assert all(f.skip_reason for f in findings), key


def test_a_domain_names_the_project_so_two_products_share_no_state(designs: dict[str, dict[str, str]]) -> None:
    from agents.extractor import extract

    assert extract("a static website for acme.io").project == "acme"
    assert extract("a web app for app.globex.co.uk").project == "globex"
    assert extract("a web app called billing for app.acme.io").project == "billing"
    assert extract("a web app for shop.example.com").project is None
    backend = read_hcl(designs["site"]["versions.tf"])["terraform"][0]["backend"][0]["s3"]
    assert backend["key"] == "acme/production/terraform.tfstate"


def _sids(fragment: Any, address: str) -> set[str]:
    """The Sids of the policy a fragment's block holds (the typed jsonencode argument)."""
    rtype, name = address.split(".")
    item = next(b for _f, b in fragment.blocks if b.labels == (rtype, name))
    return {s["Sid"] for s in item.attrs["policy"].args[0]["Statement"]}


def test_a_new_blueprint_brings_its_own_grants_and_nothing_central_changes() -> None:
    """Register a blueprint the catalog never heard of: the key, the log bucket and the alert
    topic assemble what it asks (the topic forwarding its publisher to the key)."""
    from agents.catalog.base import CATALOG, BuildContext, Fragment, blueprint
    from agents.catalog.shared import ALERTS, LOG_BUCKET, log_group
    from agents.requirements import Requirements

    @blueprint("toy_stream", title="Toy", concern="toy.tf", why="a test blueprint")
    def toy(ctx: BuildContext) -> Fragment:
        out = Fragment()
        out.add("toy.tf", log_group(ctx, out, "toy", "/toy"))
        out.ask(LOG_BUCKET.write("ToyWritesLogs", {"Service": "toy.amazonaws.com"}, ("toy/*",)),
                ALERTS.publish("toy.amazonaws.com", "ToyPublishes"))
        return out

    try:
        req = Requirements(project="p", environment="dev", region="eu-west-1", workload="custom")
        present = frozenset({"kms", "logs_bucket", "alarms", "toy_stream"})
        ctx = BuildContext(req, present)
        key = CATALOG["kms"].fragment(ctx)
        assert {"CloudWatchLogsEncryptLogGroups", "ToyPublishesEncrypt", "CloudWatchAlarmsEncrypt"} <= _sids(key, "aws_kms_key.main")
        assert "ToyWritesLogs" in _sids(CATALOG["logs_bucket"].fragment(ctx), "aws_s3_bucket_policy.logs")
        assert "ToyPublishes" in _sids(CATALOG["alarms"].fragment(ctx), "aws_sns_topic_policy.alerts")
        # without the blueprint, none of it
        without = BuildContext(req, present - {"toy_stream"})
        assert not {"CloudWatchLogsEncryptLogGroups", "ToyPublishesEncrypt"} & _sids(CATALOG["kms"].fragment(without), "aws_kms_key.main")
    finally:
        del CATALOG["toy_stream"]


def test_two_different_grants_may_not_share_a_sid() -> None:
    from agents.catalog.shared import KEY, merge_grants
    from core.errors import ValidationError

    same = KEY.service("Publishers", "a.amazonaws.com")
    assert merge_grants([same, same]) == [same]
    with pytest.raises(ValidationError):
        merge_grants([same, KEY.service("Publishers", "b.amazonaws.com")])
