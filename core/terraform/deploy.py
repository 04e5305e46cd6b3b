"""The review's ``deploy`` check: what AWS enforces at apply time that no schema, plan or
checkov sees.

A module can plan cleanly and still fail at ``terraform apply`` (a log group whose key does not
let CloudWatch Logs use it), or apply and not work (alarms that publish to a topic whose key
CloudWatch may not use: the alerts never arrive, silently). Each rule here is one such AWS
behaviour, with the documentation it comes from, a pillar, a severity and a fix. Rules read what
Terraform itself planned (``terraform show -json`` of the offline plan): policies as the JSON AWS
would receive (whether written with ``jsonencode``, ``aws_iam_policy_document`` or a heredoc), the
region each resource lands in, and what each expression refers to. So they work on any module,
generated or the user's own, and run only when the plan succeeded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from core.terraform.findings import Finding, Pillar, Severity
from core.terraform.parse import ParsedModule
from tfplugin.aws_facts import ELB_ACCOUNTS

ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"
ASG_SERVICE_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


# -- what Terraform planned --------------------------------------------------------------------
@dataclass
class Planned:
    """One planned resource: its values (unknown ones absent), and its expressions' references."""

    address: str
    type: str
    values: dict[str, Any]
    references: dict[str, list[str]] = field(default_factory=dict)
    expressions: dict[str, Any] = field(default_factory=dict)

    def refs(self, argument: str) -> list[str]:
        """Addresses an argument refers to (``aws_kms_key.main``), nested arguments included."""
        out = []
        for key, refs in self.references.items():
            if key == argument or key.startswith(argument + "."):
                out += [_address_of(r) for r in refs]
        return [r for r in dict.fromkeys(out) if r]


def _address_of(ref: str) -> str:
    parts = ref.split(".")
    if parts[0] == "data" and len(parts) >= 3:
        return ".".join(parts[:3]).split("[")[0]
    if len(parts) >= 2 and parts[0] not in ("var", "local", "each", "count", "path", "module"):
        return ".".join(parts[:2]).split("[")[0]
    return ""


def _walk_expressions(expressions: Any, prefix: str = "") -> Iterator[tuple[str, list[str]]]:
    if isinstance(expressions, dict):
        if "references" in expressions and isinstance(expressions["references"], list):
            yield prefix, expressions["references"]
        for key, value in expressions.items():
            if key in ("references", "constant_value"):
                continue
            yield from _walk_expressions(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(expressions, list):
        for value in expressions:
            yield from _walk_expressions(value, prefix)


class PlannedModule:
    def __init__(self, show: dict[str, Any]) -> None:
        self.resources: dict[str, Planned] = {}
        config = {r["address"]: r for r in _config_resources(show.get("configuration") or {})}
        for res in _planned_resources((show.get("planned_values") or {}).get("root_module") or {}):
            base = re.sub(r"\[[^\]]*\]$", "", res["address"])
            cfg = config.get(base, {})
            expressions = cfg.get("expressions") or {}
            planned = Planned(res["address"], res["type"], res.get("values") or {},
                              dict(_walk_expressions(expressions)), expressions)
            self.resources[res["address"]] = planned

    def of_type(self, *types: str) -> list[Planned]:
        return [r for r in self.resources.values() if r.type in types]

    def get(self, address: str) -> list[Planned]:
        """The instances of a resource address (``aws_kms_key.main`` and ``aws_x.y["k"]``)."""
        return [r for a, r in self.resources.items()
                if a == address or re.sub(r"\[[^\]]*\]$", "", a) == address]

    def referring(self, types: tuple[str, ...], argument: str, target: str) -> list[Planned]:
        """Resources of ``types`` whose ``argument`` refers to ``target``."""
        return [r for r in self.of_type(*types) if target in r.refs(argument)]


def _planned_resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from (r for r in module.get("resources", []) if r.get("mode") == "managed")
    for child in module.get("child_modules", []):
        yield from _planned_resources(child)


def _config_resources(configuration: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from (configuration.get("root_module") or {}).get("resources", [])


# -- policies ----------------------------------------------------------------------------------
def statements(policy: Any) -> list[dict[str, Any]]:
    if not isinstance(policy, str):
        return []
    try:
        doc = json.loads(policy)
    except ValueError:
        return []
    stmts = doc.get("Statement", []) if isinstance(doc, dict) else []
    return [s for s in ([stmts] if isinstance(stmts, dict) else stmts) if isinstance(s, dict)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def principals(stmt: dict[str, Any], kind: str) -> list[str]:
    principal = stmt.get("Principal")
    if principal == "*":
        return ["*"]
    if not isinstance(principal, dict):
        return []
    return [str(p) for p in _as_list(principal.get(kind))]


def _action_matches(granted: str, wanted: str) -> bool:
    pattern = "^" + re.escape(granted).replace(r"\*", ".*") + "$"
    return re.match(pattern, wanted, re.I) is not None


def allows(policy: Any, actions: tuple[str, ...], *, service: str | None = None,
           aws_suffix: str | None = None) -> bool:
    """Whether an Allow statement gives every one of ``actions`` to the service principal (or an
    AWS principal ending with ``aws_suffix``). Conditions are not judged: a grant is a grant."""
    missing = set(actions)
    for stmt in statements(policy):
        if stmt.get("Effect") != "Allow" or "NotPrincipal" in stmt or "NotAction" in stmt:
            continue
        who = principals(stmt, "Service") if service else principals(stmt, "AWS")
        if service and not (service in who or "*" in who):
            continue
        if aws_suffix and not any(p == "*" or p.endswith(aws_suffix) for p in who):
            continue
        granted = [str(a) for a in _as_list(stmt.get("Action"))]
        missing -= {w for w in missing if any(_action_matches(g, w) for g in granted)}
    return not missing


@dataclass
class Policy:
    """A resource policy as far as it can be known before apply: the JSON Terraform planned, or,
    when it depends on values known only after apply (a bucket's own ARN), the text it is written
    in (its expression and the policy documents it reads), judged by what it names."""

    document: Any = None
    text: str | None = None

    @property
    def known(self) -> bool:
        return self.document is not None or self.text is not None

    def allows(self, actions: tuple[str, ...], *, service: str | None = None,
               aws_suffix: str | None = None) -> bool:
        if self.document is not None:
            return allows(self.document, actions, service=service, aws_suffix=aws_suffix)
        text = self.text or ""
        who = service or (aws_suffix or "").strip(":").split(":")[0]
        if who and who not in text and '"*"' not in text:
            return False
        return all(_named(text, action) for action in actions)


def _named(text: str, action: str) -> bool:
    service, _, name = action.partition(":")
    candidates = re.findall(r'"(\*|[\w-]+:[\w*]+)"', text)
    return any(_action_matches(c, action) for c in candidates) or f"{service}:*" in text


def _expression_text(parsed: ParsedModule, address: str, argument: str) -> str | None:
    item = parsed.get(re.sub(r"\[[^\]]*\]$", "", address))
    if item is None or argument not in item.block.attrs:
        return None
    text = item.block.attrs[argument].text
    for ref in item.references:  # the policy documents it reads, written out
        if ref.target.startswith("data.aws_iam_policy_document.") and ref.argument == argument:
            doc = parsed.get(ref.target)
            if doc is not None:
                text += "\n" + parsed.files[doc.file][doc.block.start:doc.block.body_end]
    return text


def policy_of(module: PlannedModule, parsed: ParsedModule, kind: str, target: str) -> Policy:
    """The policy of a key, a topic or a bucket: its own ``policy`` argument or the separate
    policy resource that refers to it. Nothing known -> ``Policy()`` (rules then stay silent)."""
    own = module.get(target)
    separate = {"bucket": ("aws_s3_bucket_policy", "bucket"),
                "key": ("aws_kms_key_policy", "key_id"),
                "topic": ("aws_sns_topic_policy", "arn")}[kind]
    holders = ([own[0]] if own and "policy" in own[0].expressions else []) + \
        module.referring((separate[0],), separate[1], target)
    for holder in holders:
        if "policy" in holder.values:
            return Policy(document=holder.values["policy"])
        return Policy(text=_expression_text(parsed, holder.address, "policy"))
    if own and own[0].type == "aws_kms_key":
        return Policy(document='{"Statement": []}')  # the default key policy: the account only
    return Policy()


# -- the rules ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeployRule:
    id: str
    pillar: Pillar
    severity: Severity
    doc: str  # the AWS documentation the rule comes from
    fix: str
    evaluate: Callable[[PlannedModule, ParsedModule], list[tuple[str, str, str]]]
    # (address, argument, message) per hit


def _region(res: Planned) -> str:
    region = res.values.get("region")
    return region if isinstance(region, str) else ""


KMS_USE = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")


def _log_group_keys(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for group in m.of_type("aws_cloudwatch_log_group"):
        for key in [r for r in group.refs("kms_key_id") if r.startswith("aws_kms_key.")]:
            policy = policy_of(m, p, "key", key)
            principal = f"logs.{_region(group)}.amazonaws.com"
            if policy.known and not policy.allows(KMS_USE, service=principal):
                hits.append((group.address, "kms_key_id",
                             f"the log group is encrypted with {key}, whose policy does not let "
                             f"{principal} use it: creating the log group fails"))
    return hits


def _cloudfront_logs_acl(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for dist in m.of_type("aws_cloudfront_distribution"):
        for bucket in [r for r in dist.refs("logging_config") if r.startswith("aws_s3_bucket.")]:
            for oc in m.referring(("aws_s3_bucket_ownership_controls",), "bucket", bucket):
                rules = _as_list(oc.values.get("rule"))
                if any(isinstance(r, dict) and r.get("object_ownership") == "BucketOwnerEnforced"
                       for r in rules):
                    hits.append((dist.address, "logging_config",
                                 f"standard logging writes to {bucket} through an ACL, but its "
                                 "ownership is BucketOwnerEnforced (ACLs off): creating the "
                                 "distribution fails"))
    return hits


def _asg_ebs_key(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for template in m.of_type("aws_launch_template"):
        groups = [g for g in m.of_type("aws_autoscaling_group")
                  if template.address.split("[")[0] in g.refs("launch_template")
                  or template.address.split("[")[0] in g.refs("mixed_instances_policy")]
        if not groups:
            continue
        for key in [r for r in template.refs("block_device_mappings")
                    if r.startswith("aws_kms_key.")]:
            policy = policy_of(m, p, "key", key)
            if policy.known and not policy.allows(
                    ("kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt", "kms:CreateGrant"),
                    aws_suffix=ASG_SERVICE_ROLE):
                hits.append((template.address, "block_device_mappings",
                             f"EBS volumes use {key}, whose policy grants nothing to "
                             "AWSServiceRoleForAutoScaling: instances fail to launch"))
    return hits


_PUBLISHERS = (
    (("aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm"),
     ("alarm_actions", "ok_actions", "insufficient_data_actions"), "cloudwatch.amazonaws.com"),
    (("aws_budgets_budget",), ("notification",), "budgets.amazonaws.com"),
    (("aws_cloudwatch_event_target",), ("arn",), "events.amazonaws.com"),
)


def _topic_publishers(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for topic in m.of_type("aws_sns_topic"):
        base = re.sub(r"\[[^\]]*\]$", "", topic.address)
        keys = [r for r in topic.refs("kms_master_key_id") if r.startswith("aws_kms_key.")]
        topic_policy = policy_of(m, p, "topic", base)
        for types, arguments, service in _PUBLISHERS:
            publishers = [r for r in m.of_type(*types)
                          if any(base in r.refs(a) for a in arguments)]
            if not publishers:
                continue
            for key in keys:
                policy = policy_of(m, p, "key", key)
                if policy.known and not policy.allows(("kms:Decrypt", "kms:GenerateDataKey"),
                                                      service=service):
                    hits.append((topic.address, "kms_master_key_id",
                                 f"{publishers[0].address} publishes to this topic, but {key} "
                                 f"does not let {service} use it: the messages are dropped, "
                                 "silently"))
            if service != "cloudwatch.amazonaws.com" and topic_policy.known and not \
                    topic_policy.allows(("sns:Publish",), service=service):
                hits.append((topic.address, "policy",
                             f"{publishers[0].address} publishes to this topic, but its policy "
                             f"does not let {service} publish: nothing arrives"))
    return hits


def _bucket_targets(res: Planned, argument: str) -> list[str]:
    return [r for r in res.refs(argument) if r.startswith("aws_s3_bucket.")]


def _lb_access_logs(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for lb in m.of_type("aws_lb", "aws_alb"):
        logs = [b for b in _as_list(lb.values.get("access_logs")) if isinstance(b, dict)]
        if not any(b.get("enabled") is True for b in logs):
            continue
        region = _region(lb)
        for bucket in _bucket_targets(lb, "access_logs"):
            policy = policy_of(m, p, "bucket", bucket)
            if not policy.known:
                continue
            account = ELB_ACCOUNTS.get(region)
            ok = policy.allows(("s3:PutObject",), service=ELB_LOG_DELIVERY) if account is None \
                else policy.allows(("s3:PutObject",), aws_suffix=f":{account}:root") or (
                    policy.text is not None and "data.aws_elb_service_account" in policy.text)
            if not ok:
                who = f"the ELB account of {region} ({account})" if account else ELB_LOG_DELIVERY
                hits.append((lb.address, "access_logs",
                             f"access logs go to {bucket}, whose policy does not let {who} write: "
                             "the load balancer fails to enable logging"))
            for enc in m.referring(("aws_s3_bucket_server_side_encryption_configuration",),
                                   "bucket", bucket):
                text = json.dumps(enc.values.get("rule"))
                if "aws:kms" in text:
                    hits.append((lb.address, "access_logs",
                                 f"access logs go to {bucket}, encrypted with SSE-KMS; load "
                                 "balancer logs need SSE-S3 (AES256)"))
    return hits


def _server_access_logs(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for logging in m.of_type("aws_s3_bucket_logging"):
        for target in _bucket_targets(logging, "target_bucket"):
            policy = policy_of(m, p, "bucket", target)
            if policy.known and not policy.allows(("s3:PutObject",),
                                                  service="logging.s3.amazonaws.com"):
                acl_grant = any("log-delivery-write" in json.dumps(a.values)
                                for a in m.referring(("aws_s3_bucket_acl",), "bucket", target))
                if not acl_grant:
                    hits.append((logging.address, "target_bucket",
                                 f"server access logs go to {target}, whose policy does not let "
                                 "logging.s3.amazonaws.com write: no log is ever delivered"))
    return hits


def _ecs_desired_count(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    scaled = {r for t in m.of_type("aws_appautoscaling_target") for r in t.refs("resource_id")
              if r.startswith("aws_ecs_service.")}
    for address in sorted(scaled):
        item = p.get(address)
        if item is None:
            continue
        ignored = " ".join(a.text for lc in item.block.children("lifecycle")
                           for n, a in lc.attrs.items() if n == "ignore_changes")
        if "desired_count" not in ignored and "all" not in ignored:
            hits.append((address, "lifecycle",
                         "the service is autoscaled, yet every apply resets desired_count to the "
                         "configured value"))
    return hits


def _iam_db_auth(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    databases = [d for d in m.of_type("aws_db_instance", "aws_rds_cluster")
                 if d.values.get("iam_database_authentication_enabled") is True]
    if not databases:
        return []
    granted = any("rds-db:connect" in (json.dumps(r.values["policy"]) if "policy" in r.values
                                       else _expression_text(p, r.address, "policy") or "")
                  for r in m.of_type("aws_iam_policy", "aws_iam_role_policy"))
    return [] if granted else [
        (d.address, "iam_database_authentication_enabled",
         "IAM database authentication is on, but no policy grants rds-db:connect: nothing can "
         "sign in with it") for d in databases]


_SINGLETONS = {"aws_guardduty_detector": "one GuardDuty detector per account and region",
               "aws_config_configuration_recorder": "one AWS Config recorder per account and region",
               "aws_securityhub_account": "Security Hub is enabled once per account and region",
               "aws_macie2_account": "Macie is enabled once per account and region"}


def _singletons(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for item in p.resources:
        if item.type in _SINGLETONS and not ({"count", "for_each"} & set(item.block.attrs)):
            hits.append((item.address, "",
                         f"{_SINGLETONS[item.type]}: a second stack in the same account and "
                         "region (another environment, another project) fails to create it"))
    return hits


_ACCOUNT = re.compile(r"\d{12}")


def _global_bucket_names(m: PlannedModule, _p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for bucket in m.of_type("aws_s3_bucket"):
        name = bucket.values.get("bucket")
        if isinstance(name, str) and bucket.values.get("bucket_prefix") is None and \
                not _ACCOUNT.search(name) and "bucket" in bucket.expressions:
            hits.append((bucket.address, "bucket",
                         f"bucket names are global across all AWS accounts: {name!r} is taken by "
                         "whoever creates it first"))
    return hits


RULES: tuple[DeployRule, ...] = (
    DeployRule("DEPLOY_LOG_GROUP_KEY", "reliability", "high",
               "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
               "allow logs.<region>.amazonaws.com kms:Encrypt*, Decrypt*, ReEncrypt*, "
               "GenerateDataKey*, Describe* in the key policy, with an ArnLike condition on "
               "kms:EncryptionContext:aws:logs:arn", _log_group_keys),
    DeployRule("DEPLOY_CLOUDFRONT_LOG_ACL", "reliability", "high",
               "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html",
               "enable ACLs on the log bucket (BucketOwnerPreferred) or use CloudFront's "
               "CloudWatch log delivery", _cloudfront_logs_acl),
    DeployRule("DEPLOY_ASG_EBS_KEY", "reliability", "high",
               "https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html",
               "allow AWSServiceRoleForAutoScaling to use the key (and CreateGrant with "
               "kms:GrantIsForAWSResource) in the key policy", _asg_ebs_key),
    DeployRule("DEPLOY_TOPIC_PUBLISHERS", "operational_excellence", "high",
               "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services",
               "let each publishing service use the topic's key (kms:Decrypt, "
               "kms:GenerateDataKey*) and publish to the topic", _topic_publishers),
    DeployRule("DEPLOY_LB_ACCESS_LOGS", "reliability", "high",
               "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html",
               "grant s3:PutObject to the region's ELB account (regions before August 2022) or "
               "to logdelivery.elasticloadbalancing.amazonaws.com, on a bucket with SSE-S3",
               _lb_access_logs),
    DeployRule("DEPLOY_S3_ACCESS_LOGS", "operational_excellence", "medium",
               "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html",
               "allow logging.s3.amazonaws.com s3:PutObject in the target bucket's policy "
               "(with aws:SourceAccount)", _server_access_logs),
    DeployRule("DEPLOY_ECS_DESIRED_COUNT", "reliability", "medium",
               "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/ecs_service",
               "add lifecycle { ignore_changes = [desired_count] } to the autoscaled service",
               _ecs_desired_count),
    DeployRule("DEPLOY_IAM_DB_AUTH", "security", "medium",
               "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html",
               "grant rds-db:connect on the database user to the role that connects, or turn "
               "IAM authentication off", _iam_db_auth),
    DeployRule("DEPLOY_ACCOUNT_SINGLETON", "reliability", "medium",
               "https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CreateDetector.html",
               "make it optional (count = var.create_x ? 1 : 0) or look the existing one up "
               "with a data source", _singletons),
    DeployRule("DEPLOY_GLOBAL_BUCKET_NAME", "reliability", "medium",
               "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
               "put the account id in the name or use bucket_prefix", _global_bucket_names),
)


def check_deploy(show: dict[str, Any] | None, parsed: ParsedModule) -> list[Finding]:
    """Every deploy rule over the planned module (nothing to judge when the plan failed)."""
    if show is None:
        return [Finding(check_id="deploy_not_evaluated", severity="info",
                        pillar="operational_excellence",
                        message="the deploy check needs Terraform's plan, which did not complete",
                        fix="fix the plan findings first")]
    planned = PlannedModule(show)
    findings = []
    for rule in RULES:
        for address, argument, message in rule.evaluate(planned, parsed):
            item = parsed.get(re.sub(r"\[[^\]]*\]$", "", address))
            skip = item.skips.get(rule.id) if item else None
            findings.append(Finding(
                check_id=rule.id, severity=rule.severity, pillar=rule.pillar, address=address,
                argument=argument, file=item.file if item else "",
                line=(item.arg_line(argument) if item and argument else item.line if item else 0),
                message=message, fix=f"{rule.fix} ({rule.doc})", skip_reason=skip,
                source="archops"))
    return findings
