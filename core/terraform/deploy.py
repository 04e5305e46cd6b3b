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
from tfplugin.aws_facts import ELB_ACCOUNTS, FARGATE_MEMORY, NAME_LIMITS, RETIRED_LAMBDA_RUNTIMES

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


# -- identity policies of a role -----------------------------------------------------------------
def role_policies(m: PlannedModule, p: ParsedModule, role: str) -> list[Policy]:
    """The policies a role of the module holds: its inline policies, and the customer managed
    policies attached to it (an AWS managed policy attached by ARN is named by its ARN)."""
    out: list[Policy] = []
    for inline in m.referring(("aws_iam_role_policy",), "role", role):
        out.append(Policy(document=inline.values["policy"]) if "policy" in inline.values
                   else Policy(text=_expression_text(p, inline.address, "policy")))
    for attachment in m.referring(("aws_iam_role_policy_attachment",), "role", role):
        for policy in [r for r in attachment.refs("policy_arn") if r.startswith("aws_iam_policy.")]:
            out += [Policy(document=r.values["policy"]) if "policy" in r.values
                    else Policy(text=_expression_text(p, r.address, "policy")) for r in m.get(policy)]
        if isinstance(attachment.values.get("policy_arn"), str):
            out.append(Policy(text=f'"{attachment.values["policy_arn"]}"'))
    return out


def role_allows(m: PlannedModule, p: ParsedModule, role: str, actions: tuple[str, ...]) -> bool:
    """Whether the role's own policies, together, allow every one of ``actions``."""
    policies = role_policies(m, p, role)
    return all(any(policy.allows((action,)) for policy in policies) for action in actions)


def _roles(res: Planned, argument: str) -> list[str]:
    return [r for r in res.refs(argument) if r.startswith("aws_iam_role.")]


def depends_on(p: ParsedModule, address: str, target: str) -> bool:
    """Whether ``address`` waits for ``target`` (a reference or ``depends_on``, directly or
    through what it refers to)."""
    seen: set[str] = set()
    todo = [address]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        item = p.get(current)
        if item is None:
            continue
        for ref in item.references:
            if ref.target == target:
                return True
            todo.append(ref.target)
    return False


# -- what the newer rules read -------------------------------------------------------------------
_LOG_PARAMETER = {"general": "general_log", "slowquery": "slow_query_log"}


def _parameters(m: PlannedModule, res: Planned, argument: str) -> dict[str, str] | None:
    """The parameters of the group a database names (None: the engine's default group)."""
    for group in res.refs(argument):
        for planned in m.get(group):
            return {str(x.get("name")): str(x.get("value")) for x in _as_list(planned.values.get("parameter"))
                    if isinstance(x, dict)}
    return None


def _rds_log_exports(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for db, argument in [(d, "parameter_group_name") for d in m.of_type("aws_db_instance")] + \
            [(d, "db_cluster_parameter_group_name") for d in m.of_type("aws_rds_cluster")]:
        engine = str(db.values.get("engine") or "")
        if "mysql" not in engine and "mariadb" not in engine:
            continue
        exported = [str(x) for x in _as_list(db.values.get("enabled_cloudwatch_logs_exports"))]
        parameters = _parameters(m, db, argument) or {}
        to_file = parameters.get("log_output", "FILE").upper() == "FILE"
        silent = [kind for kind in exported if kind in _LOG_PARAMETER
                  and (parameters.get(_LOG_PARAMETER[kind]) not in {"1", "ON", "on"} or not to_file)]
        if silent:
            hits.append((db.address, "enabled_cloudwatch_logs_exports",
                         f"exports the {', '.join(silent)} log, which its parameter group does not switch on "
                         f"({', '.join(_LOG_PARAMETER[k] + ' = 1' for k in silent)}, log_output = FILE): "
                         "nothing is ever exported"))
    return hits


def _config_delivery(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    roles = [r for rec in m.of_type("aws_config_configuration_recorder") for r in _roles(rec, "role_arn")]
    for channel in m.of_type("aws_config_delivery_channel"):
        if not _bucket_targets(channel, "s3_bucket_name"):
            continue
        for role in roles:
            if not role_allows(m, p, role, ("s3:PutObject", "s3:GetBucketAcl")):
                hits.append((channel.address, "s3_bucket_name",
                             f"AWS Config delivers with {role}, whose policies do not allow s3:PutObject and "
                             "s3:GetBucketAcl on the bucket (AWS_ConfigRole does not): creating the delivery "
                             "channel fails (InsufficientDeliveryPolicyException)"))
    return hits


def _lambda_role_order(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    """Lambda checks the execution role's permissions when the function (with a dead-letter
    queue) or a queue/stream mapping is created: the role's policies must exist first."""
    hits = []
    checked: list[tuple[Planned, str]] = []
    for fn in m.of_type("aws_lambda_function"):
        if _as_list(fn.values.get("dead_letter_config")) or "dead_letter_config" in fn.expressions:
            checked.append((fn, "the function (its dead-letter queue)"))
    for mapping in m.of_type("aws_lambda_event_source_mapping"):
        checked.append((mapping, "the event source mapping"))
    flagged: set[str] = set()  # a mapping of a function found late waits once the function does
    for res, what in checked:
        fns = [res] if res.type == "aws_lambda_function" else \
            [f for ref in res.refs("function_name") for f in m.get(ref) if f.type == "aws_lambda_function"]
        for fn in fns:
            if fn.address in flagged and res is not fn:
                continue
            for role in _roles(fn, "role"):
                base = re.sub(r"\[[^\]]*\]$", "", res.address)
                late = [a.address for a in (*m.referring(("aws_iam_role_policy",), "role", role),
                                            *m.referring(("aws_iam_role_policy_attachment",), "role", role))
                        if not depends_on(p, base, re.sub(r"\[[^\]]*\]$", "", a.address))]
                if late:
                    flagged.add(res.address)
                    hits.append((res.address, "depends_on",
                                 f"{what} may be created before {late[0]} gives {role} its permissions: Lambda "
                                 "checks them at creation and the apply fails (InvalidParameterValueException)"))
    return hits


def _sqs_visibility(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for mapping in m.of_type("aws_lambda_event_source_mapping"):
        queues = [q for ref in mapping.refs("event_source_arn") for q in m.get(ref) if q.type == "aws_sqs_queue"]
        fns = [f for ref in mapping.refs("function_name") for f in m.get(ref) if f.type == "aws_lambda_function"]
        for queue in queues:
            visibility = int(queue.values.get("visibility_timeout_seconds") or 30)
            for fn in fns:
                timeout = int(fn.values.get("timeout") or 3)
                if visibility < timeout:
                    hits.append((queue.address, "visibility_timeout_seconds",
                                 f"the queue's visibility timeout ({visibility} s) is shorter than {fn.address}'s "
                                 f"timeout ({timeout} s): Lambda refuses to create the event source mapping"))
    return hits


_ALERT_PUBLISHERS = (
    ("aws_cloudwatch_metric_alarm", ("alarm_actions", "ok_actions", "insufficient_data_actions")),
    ("aws_cloudwatch_composite_alarm", ("alarm_actions", "ok_actions", "insufficient_data_actions")),
    ("aws_budgets_budget", ("notification",)),
)


def _alerts_unheard(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for topic in m.of_type("aws_sns_topic"):
        base = re.sub(r"\[[^\]]*\]$", "", topic.address)
        publishers = [r for rtype, arguments in _ALERT_PUBLISHERS for r in m.of_type(rtype)
                      if any(base in r.refs(a) for a in arguments)]
        if publishers and not m.referring(("aws_sns_topic_subscription",), "topic_arn", base):
            hits.append((topic.address, "",
                         f"{publishers[0].address} alerts this topic, which has no subscription in the plan "
                         "(an e-mail address left empty?): the alerts reach nobody"))
    return hits


def _ecs_secrets(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for task in m.of_type("aws_ecs_task_definition"):
        text = json.dumps(task.values.get("container_definitions")) if "container_definitions" in task.values \
            else (_expression_text(p, task.address, "container_definitions") or "")
        if "valueFrom" not in text:
            continue
        wanted = ("ssm:GetParameters",) if ":ssm:" in text or "aws_ssm_parameter" in text else ("secretsmanager:GetSecretValue",)
        for role in _roles(task, "execution_role_arn"):
            if not role_allows(m, p, role, wanted):
                hits.append((task.address, "execution_role_arn",
                             f"the containers read secrets at start, but the execution role {role} may not "
                             f"({wanted[0]}): every task fails to start (ResourceInitializationError)"))
    return hits


def fargate_size(cpu: int, memory: int) -> tuple[int, int]:
    """The smallest Fargate size with at least ``cpu`` units and ``memory`` MiB."""
    for units in sorted(FARGATE_MEMORY):
        fitting = [size for size in FARGATE_MEMORY[units] if units >= cpu and size >= memory]
        if fitting:
            return units, fitting[0]
    return max(FARGATE_MEMORY), FARGATE_MEMORY[max(FARGATE_MEMORY)][-1]


def _fargate_size(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for task in m.of_type("aws_ecs_task_definition"):
        if "FARGATE" not in [str(x) for x in _as_list(task.values.get("requires_compatibilities"))]:
            continue
        try:
            cpu, memory = int(task.values.get("cpu")), int(task.values.get("memory"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if memory not in FARGATE_MEMORY.get(cpu, ()):
            units, size = fargate_size(cpu, memory)
            hits.append((task.address, "memory",
                         f"Fargate has no task size of {cpu} CPU units with {memory} MiB: registering the task "
                         f"definition fails (the nearest is {units} CPU units with {size} MiB)"))
    return hits


def _name_lengths(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for res in m.resources.values():
        for (rtype, argument), limit in NAME_LIMITS.items():
            value = res.values.get(argument) if res.type == rtype else None
            if isinstance(value, str) and len(value) > limit:
                hits.append((res.address, argument,
                             f"{argument} {value!r} is {len(value)} characters; AWS accepts at most {limit}"))
    return hits


def _lambda_runtime(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    return [(fn.address, "runtime",
             f"{fn.values['runtime']} is past its end of support: Lambda no longer creates functions with it")
            for fn in m.of_type("aws_lambda_function") if fn.values.get("runtime") in RETIRED_LAMBDA_RUNTIMES]


def _cloudfront_oac(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for dist in m.of_type("aws_cloudfront_distribution"):
        if not (dist.refs("origin.origin_access_control_id") or any(
                isinstance(o, dict) and o.get("origin_access_control_id") for o in _as_list(dist.values.get("origin")))):
            continue
        for bucket in _bucket_targets(dist, "origin.domain_name"):
            policy = policy_of(m, p, "bucket", bucket)
            if not policy.allows(("s3:GetObject",), service="cloudfront.amazonaws.com"):
                hits.append((dist.address, "origin",
                             f"CloudFront reads {bucket} through origin access control, but the bucket's policy "
                             "does not let cloudfront.amazonaws.com s3:GetObject: every request is denied (403)"))
    return hits


def _rds_iops(m: PlannedModule, p: ParsedModule) -> list[tuple[str, str, str]]:
    hits = []
    for db in m.of_type("aws_db_instance"):
        kind = db.values.get("storage_type")
        if kind in {"io1", "io2"}:
            if db.values.get("iops") is None and "iops" not in db.expressions:
                hits.append((db.address, "iops", f"{kind} storage is provisioned IOPS: it needs iops, or creating the database fails"))
            size = db.values.get("allocated_storage")
            if isinstance(size, (int, float)) and size < 100:
                hits.append((db.address, "allocated_storage", f"{kind} storage needs at least 100 GiB; {int(size)} is refused"))
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
    DeployRule("DEPLOY_RDS_LOG_EXPORTS", "operational_excellence", "medium",
               "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.MySQLDB.PublishtoCloudWatchLogs.html",
               "export only the logs the parameter group switches on, or set general_log / slow_query_log = 1 "
               "and log_output = FILE", _rds_log_exports),
    DeployRule("DEPLOY_CONFIG_DELIVERY", "reliability", "high",
               "https://docs.aws.amazon.com/config/latest/developerguide/iamrole-permissions.html",
               "give the recorder's role s3:PutObject on <bucket>/<prefix>/AWSLogs/<account>/* (with "
               "s3:x-amz-acl = bucket-owner-full-control) and s3:GetBucketAcl on the bucket", _config_delivery),
    DeployRule("DEPLOY_LAMBDA_ROLE_ORDER", "reliability", "medium",
               "https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions",
               "add depends_on = [<the role's policy>] to the function and its event source mappings",
               _lambda_role_order),
    DeployRule("DEPLOY_SQS_VISIBILITY_TIMEOUT", "reliability", "high",
               "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-queueconfig",
               "set the queue's visibility_timeout_seconds to at least the function's timeout (AWS "
               "recommends six times it)", _sqs_visibility),
    DeployRule("DEPLOY_ALERTS_UNHEARD", "operational_excellence", "medium",
               "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html",
               "subscribe someone to the topic (an e-mail variable without a default, a chat channel)",
               _alerts_unheard),
    DeployRule("DEPLOY_ECS_SECRETS_ACCESS", "reliability", "high",
               "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html",
               "let the task execution role secretsmanager:GetSecretValue (ssm:GetParameters) the "
               "containers' secrets, and kms:Decrypt their key", _ecs_secrets),
    DeployRule("DEPLOY_FARGATE_TASK_SIZE", "reliability", "high",
               "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size",
               "pick a CPU and memory pair Fargate offers", _fargate_size),
    DeployRule("DEPLOY_NAME_LENGTH", "reliability", "high",
               "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
               "shorten the name (or the project name it is built from) to the limit", _name_lengths),
    DeployRule("DEPLOY_LAMBDA_RUNTIME", "security", "high",
               "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html#runtimes-deprecated",
               "move the function to a supported runtime of its language", _lambda_runtime),
    DeployRule("DEPLOY_CLOUDFRONT_OAC", "reliability", "high",
               "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html",
               "allow cloudfront.amazonaws.com s3:GetObject on the bucket's objects, with an "
               "AWS:SourceArn condition naming the distribution", _cloudfront_oac),
    DeployRule("DEPLOY_RDS_PROVISIONED_IOPS", "reliability", "high",
               "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html#USER_PIOPS",
               "give io1/io2 storage an iops amount and at least 100 GiB", _rds_iops),
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
