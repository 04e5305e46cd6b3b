"""Reading a generated module's apply-time facts from its HCL, and listing the ones it breaks.

``deploy_defects(files)`` is the test suite's own reading of the rules AWS enforces only when
``terraform apply`` runs (key, bucket and topic policies for the services that write, names and
singletons, containers wired to their stores); the corpus runs it on every design.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

import hcl2

OPTS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


@functools.lru_cache(maxsize=2048)
def _read(text: str) -> dict[str, Any]:
    return hcl2.loads(text, serialization_options=OPTS)  # type: ignore[no-any-return]


def read_hcl(text: str) -> dict[str, Any]:
    """python-hcl2's reading of ``text`` (the classic shape), each text parsed once: python-hcl2
    takes about a second per module, and the same files are read by several checks."""
    return copy.deepcopy(_read(text))


REGIONAL_LOGS = "logs.${data.aws_region.current.region}.amazonaws.com"
LOGS_CONTEXT = ("arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.region}:"
                "${data.aws_caller_identity.current.account_id}:*")
AUTOSCALING_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
AWSLOGSDELIVERY = "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"
ELB_ACCOUNT_REGIONS = {
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-northeast-1",
    "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-west-1",
    "eu-west-2", "eu-west-3", "eu-south-1", "eu-north-1", "me-south-1", "sa-east-1",
}


def blocks(files: dict[str, str], kind: str = "resource") -> dict[str, dict[str, Any]]:
    """Every resource (or data source) by address with its parsed arguments."""
    out: dict[str, dict[str, Any]] = {}
    for name, body in files.items():
        if name.endswith(".tf"):
            for item in read_hcl(body).get(kind, []):
                for rtype, named in item.items():
                    for rname, attrs in named.items():
                        out[f"{rtype}.{rname}"] = attrs
    return out


def variables(files: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in read_hcl(files.get("variables.tf", "")).get("variable", []):
        for name, attrs in item.items():
            out[name] = attrs.get("default")
    return out


def policy(value: str) -> dict[str, Any]:
    """The document inside ``jsonencode({...})``, parsed as the HCL object it is."""
    assert value.startswith("${jsonencode(") and value.endswith(")}"), value[:80]
    return read_hcl("x = " + value[len("${jsonencode("):-2])["x"]


def statements(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in doc["Statement"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def one(value: Any) -> Any:
    """A nested block (python-hcl2 gives each as a list of one)."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def granted(stmts: dict[str, dict[str, Any]], principal_kind: str, needle: str) -> list[dict[str, Any]]:
    """The Allow statements whose ``principal_kind`` principal contains ``needle``."""
    def principals(s: dict[str, Any]) -> list[Any]:
        principal = s.get("Principal", {})
        return as_list(principal.get(principal_kind, [])) if isinstance(principal, dict) else []

    return [s for s in stmts.values() if s["Effect"] == "Allow" and any(needle in p for p in principals(s))]


def container(files: dict[str, str]) -> dict[str, Any]:
    value = blocks(files)["aws_ecs_task_definition.app"]["container_definitions"]
    assert value.startswith("${jsonencode([") and value.endswith("])}")
    return read_hcl("x = " + value[len("${jsonencode(["):-3])["x"]


def sse(res: dict[str, dict[str, Any]], rid: str) -> str:
    rule = one(res[f"aws_s3_bucket_server_side_encryption_configuration.{rid}"]["rule"])
    return one(rule["apply_server_side_encryption_by_default"])["sse_algorithm"]


def deploy_defects(files: dict[str, str]) -> list[str]:  # noqa: C901 - one rule per paragraph
    """What would fail (or silently not work) at apply time; empty for a design that deploys."""
    res = blocks(files)
    defects: list[str] = []
    key = statements(policy(res["aws_kms_key.main"]["policy"])) if "aws_kms_key.main" in res else {}
    region = variables(files).get("region")
    # 1. log groups encrypted with the key
    if any(a.startswith("aws_cloudwatch_log_group.") and "aws_kms_key.main" in str(b.get("kms_key_id")) for a, b in res.items()):
        logs = granted(key, "Service", REGIONAL_LOGS)
        if not logs or any(s.get("Condition", {}).get("ArnLike", {}).get("kms:EncryptionContext:aws:logs:arn") != LOGS_CONTEXT for s in logs):
            defects.append("a log group uses the key, which does not grant the regional CloudWatch Logs principal")
    if granted(key, "Service", "logs.amazonaws.com"):
        defects.append("the key grants logs.amazonaws.com, which CloudWatch Logs does not use")
    # 2. CloudFront standard logging
    dist = res.get("aws_cloudfront_distribution.main", {})
    if dist.get("logging_config"):
        if one(res["aws_s3_bucket_ownership_controls.logs"]["rule"])["object_ownership"] == "BucketOwnerEnforced":
            defects.append("CloudFront logs into a bucket with ACLs disabled")
        if AWSLOGSDELIVERY not in str(res.get("aws_s3_bucket_acl.logs")):
            defects.append("the log bucket's ACL does not grant awslogsdelivery")
    # 3. Auto Scaling EBS with the key
    if "aws_autoscaling_group.app" in res and "aws_kms_key.main" in str(res.get("aws_launch_template.app", {})):
        grants = granted(key, "AWS", AUTOSCALING_ROLE)
        if not any("kms:CreateGrant" in as_list(s["Action"]) for s in grants) or not any("kms:Decrypt" in as_list(s["Action"]) for s in grants):
            defects.append("the key does not grant AWSServiceRoleForAutoScaling for encrypted EBS")
    # 4. the alert topic's publishers
    if "aws_sns_topic.alerts" in res:
        topic = statements(policy(res["aws_sns_topic_policy.alerts"]["policy"]))
        publishers = set()
        if any(a.startswith("aws_cloudwatch_metric_alarm.") for a in res):
            publishers.add("cloudwatch.amazonaws.com")
        if "aws_budgets_budget.monthly" in res:
            publishers.add("budgets.amazonaws.com")
        if any(a.startswith("aws_cloudwatch_event_target.") and "aws_sns_topic.alerts" in str(b.get("arn")) for a, b in res.items()):
            publishers.add("events.amazonaws.com")
        for service in sorted(publishers):
            if not granted(topic, "Service", service):
                defects.append(f"the alert topic's policy does not let {service} publish")
            if not granted(key, "Service", service):
                defects.append(f"the key does not let {service} encrypt messages to the alert topic")
    if "aws_guardduty_detector.main" in res and "findings" in files.get("README.md", "") and "aws_cloudwatch_event_rule.guardduty" not in res:
        defects.append("the README sends GuardDuty findings to the topic, but no EventBridge rule does")
    # 5. load balancer access logs
    for address, lb in res.items():
        if address.startswith("aws_lb.") and lb.get("access_logs"):
            bucket = bucket_policy_of(res, one(lb["access_logs"])["bucket"])
            if lb.get("load_balancer_type") == "network":
                if not granted(bucket, "Service", "delivery.logs.amazonaws.com"):
                    defects.append("NLB access logs are not granted to delivery.logs.amazonaws.com")
                continue
            if not granted(bucket, "Service", "logdelivery.elasticloadbalancing.amazonaws.com"):
                defects.append("ALB access logs are not granted to the log delivery principal")
            if region in ELB_ACCOUNT_REGIONS and not granted(bucket, "AWS", "data.aws_elb_service_account.main.arn"):
                defects.append(f"ALB access logs in {region} are not granted to the regional ELB account")
            if sse(res, "logs") != "AES256":
                defects.append("ELB access logs need an SSE-S3 bucket")
    # 6. S3 server access logs
    for address, logging in res.items():
        if address.startswith("aws_s3_bucket_logging."):
            target = logging["target_bucket"]
            if not granted(bucket_policy_of(res, target), "Service", "logging.s3.amazonaws.com"):
                defects.append(f"{address} writes to a bucket whose policy omits logging.s3.amazonaws.com")
    # 7. names, state and singletons
    backend = read_hcl(files["versions.tf"])["terraform"][0]["backend"][0]["s3"]
    environment = variables(files).get("environment")
    if f"/{environment}/" not in backend["key"] or environment not in backend["bucket"]:
        defects.append("the state bucket and key are not the environment's own")
    for address, bucket in res.items():
        if address.startswith("aws_s3_bucket.") and "bucket_prefix" not in bucket:
            name = str(bucket.get("bucket"))
            if "account_id" not in name:
                defects.append(f"{address} has a name other accounts can take")
    for address in ("aws_guardduty_detector.main", "aws_config_configuration_recorder.main", "aws_config_delivery_channel.main"):
        if address in res and "count" not in res[address]:
            defects.append(f"{address} is an account-wide singleton created unconditionally")
    # 8. autoscaled ECS services
    if "aws_ecs_service.app" in res and "aws_appautoscaling_target.app" in res:
        if "desired_count" not in str(res["aws_ecs_service.app"].get("lifecycle")):
            defects.append("the autoscaled ECS service resets its task count on every apply")
    # 9. containers wired to their stores
    if "aws_ecs_task_definition.app" in res:
        c = container(files)
        env = {e["name"] for e in c.get("environment", [])}
        secrets = {s["name"]: s["valueFrom"] for s in c.get("secrets", [])}
        wants = {"aws_db_instance.main": "DB_HOST", "aws_rds_cluster.main": "DB_HOST",
                 "aws_elasticache_replication_group.main": "REDIS_HOST", "aws_sqs_queue.main": "QUEUE_URL"}
        for store, name in wants.items():
            if store in res and name not in env:
                defects.append(f"the container does not get {name} of {store}")
        if ("aws_db_instance.main" in res or "aws_rds_cluster.main" in res) and "DB_PASSWORD" not in secrets:
            defects.append("the container does not get the database password by reference")
        if secrets and "aws_iam_role_policy.task_execution_secrets" not in res:
            defects.append("the task execution role may not read the container's secrets")
    # 10. IAM database authentication
    for address in ("aws_db_instance.main", "aws_rds_cluster.main"):
        if res.get(address, {}).get("iam_database_authentication_enabled") is True:
            if not any("rds-db:connect" in str(b.get("policy")) for a, b in res.items() if a.startswith("aws_iam_role_policy.")):
                defects.append(f"{address} has IAM authentication on, and no role may rds-db:connect")
    # 11. arm64
    arm = "ARM64" in str(res.get("aws_ecs_task_definition.app", {})) or "arm64" in str(res.get("aws_lambda_function.main", {}))
    if arm and "arm64" not in files.get("README.md", ""):
        defects.append("arm64 tasks or functions, and the README does not say so")
    if "aws_ecs_task_definition.app" in res and "`container_image`" not in files.get("README.md", ""):
        defects.append("the README does not tell the team to set the container image")
    return defects


def bucket_policy_of(res: dict[str, dict[str, Any]], bucket_ref: str) -> dict[str, dict[str, Any]]:
    m = re.fullmatch(r"\$\{aws_s3_bucket\.(\w+)\.(?:id|bucket)\}", bucket_ref)
    if not m or f"aws_s3_bucket_policy.{m.group(1)}" not in res:
        return {}
    return statements(policy(res[f"aws_s3_bucket_policy.{m.group(1)}"]["policy"]))
