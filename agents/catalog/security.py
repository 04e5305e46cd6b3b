"""Security and governance blueprints: KMS, Secrets Manager, CloudTrail, GuardDuty, AWS Config."""

from __future__ import annotations

from agents.catalog.base import BuildContext, Facts, Fragment, always, blueprint, hardened
from agents.catalog.iam import assume_role
from agents.catalog.shared import (
    ACCOUNT,
    ALERTS,
    APP,
    KEY,
    LOG_BUCKET,
    PARTITION,
    REGION,
    Ask,
    grants,
    log_group,
)
from core.terraform.model import (
    Cond,
    Ref,
    Template,
    block,
    jsonencode,
    local,
    output,
    resource,
    var,
    variable,
)


@blueprint(
    "kms",
    title="KMS key",
    concern="security.tf",
    why="One customer-managed key with yearly rotation encrypts the module's data at rest, so access "
    "to data is governed by IAM and audited; its policy grants each AWS service exactly what the "
    "design's resources ask of it (CloudWatch Logs in this region, the alert topic's publishers...).",
    component="KMS key",
    words=r"\bkms\b|customer[- ]managed key|encryption key",
    facts=Facts(wanted=always, direct=True),
)
def kms(ctx: BuildContext) -> Fragment:
    out = Fragment()
    key = resource(
        "aws_kms_key",
        "main",
        description=Template("archops key for ", local("name")),
        enable_key_rotation=True,
        deletion_window_in_days=30 if ctx.req.production else 7,
    )

    def finish(asks: list[Ask]) -> None:
        asked = grants(asks)
        key.set("policy", KEY.policy(asked))
        after = [ref for g in asked for ref in g.after]
        if after:
            key.set("depends_on", list(dict.fromkeys(after)))

    out.assemble(KEY, finish)
    out.add(
        "security.tf",
        key,
        resource("aws_kms_alias", "main", name=Template("alias/", local("name")), target_key_id=KEY.key_id),
    )
    out.outputs.append(output("kms_key_arn", KEY.arn, "ARN of the module's KMS key"))
    out.node("aws_kms_key.main", "KMS key", "kms")
    return out


@blueprint(
    "secrets",
    title="Secrets Manager secret",
    concern="security.tf",
    why="Application secrets live in Secrets Manager, encrypted with the module's key; Terraform "
    "creates the container, never the value, so no secret is ever in code or state.",
    requires=("kms",),
    component="Secrets Manager secret",
    words=r"secrets? manager|store (?:the )?(?:secrets?|passwords?|api keys?)",
    facts=Facts(direct=True, removable=True),
)
def secrets(ctx: BuildContext) -> Fragment:
    out = Fragment()
    out.add(
        "security.tf",
        resource(
            "aws_secretsmanager_secret",
            "app",
            name_prefix=Template(local("name"), "-app-"),
            description="Application secrets; set the value outside Terraform",
            kms_key_id=KEY.arn,
            recovery_window_in_days=30 if ctx.req.production else 7,
        ).skip("CKV2_AWS_57", "rotation needs a function that knows the application's secret; add aws_secretsmanager_secret_rotation with it"),
    )
    out.ask(APP.bind("secret", secrets={"APP_SECRETS": (Ref("aws_secretsmanager_secret", "app", "arn"), None)}))
    out.outputs.append(output("app_secret_arn", Ref("aws_secretsmanager_secret", "app", "arn"), "Secret to fill with application secrets"))
    out.notes.append("`aws_secretsmanager_secret.app` (output `app_secret_arn`) is created empty: put the application's "
                     "secrets in it (a JSON object) with the console or `aws secretsmanager put-secret-value`, never in code.")
    out.node("aws_secretsmanager_secret.app", "App secrets", "secretsmanager")
    return out


@blueprint(
    "cloudtrail",
    title="CloudTrail trail",
    concern="governance.tf",
    why="A multi-region trail with log file validation, KMS encryption and CloudWatch delivery "
    "records every API call: the audit trail security reviews and incident response need.",
    requires=("kms", "logs_bucket"),
    component="CloudTrail trail",
    words=r"cloudtrail|audit (?:log|trail)",
    facts=Facts(wanted=lambda req, _chosen: hardened(req), direct=True),
)
def cloudtrail(ctx: BuildContext) -> Fragment:
    out = Fragment()
    # a multi-region trail per environment would record (and bill) every call once per stack
    count = _singleton(ctx, out, "create_cloudtrail", "multi-region CloudTrail trail",
                       "the account's first trail is free; each further one records (and bills) every call again")
    role_policy = assume_role("cloudtrail.amazonaws.com")
    log_group_arn = Ref("aws_cloudwatch_log_group", "cloudtrail", "arn")
    trail_name = Template(local("name"), "-trail")
    trail_arn = Template("arn:", PARTITION, ":cloudtrail:", REGION, ":", ACCOUNT, ":trail/", local("name"), "-trail")
    source = {"aws:SourceArn": trail_arn}
    # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html
    out.ask(
        LOG_BUCKET.read_acl("CloudTrailAclCheck", "cloudtrail.amazonaws.com", {"StringEquals": source}),
        LOG_BUCKET.write(
            "CloudTrailWrite", {"Service": "cloudtrail.amazonaws.com"}, ("cloudtrail/AWSLogs/", ACCOUNT, "/*"),
            {"StringEquals": {**source, "s3:x-amz-acl": "bucket-owner-full-control"}},
        ),
        # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html
        KEY.service(
            "CloudTrailEncryptLogs", "cloudtrail.amazonaws.com", ("kms:GenerateDataKey*",),
            {"StringEquals": source, "StringLike": {
                "kms:EncryptionContext:aws:cloudtrail:arn": Template("arn:", PARTITION, ":cloudtrail:*:", ACCOUNT, ":trail/*")}},
        ),
        KEY.service("CloudTrailDescribeKey", "cloudtrail.amazonaws.com", ("kms:DescribeKey",)),
    )
    out.add(
        "governance.tf",
        log_group(ctx, out, "cloudtrail", Template("/aws/cloudtrail/", local("name"))),
        resource("aws_iam_role", "cloudtrail", name=Template(local("name"), "-cloudtrail"), assume_role_policy=role_policy),
        resource(
            "aws_iam_role_policy",
            "cloudtrail",
            name="deliver-to-cloudwatch",
            role=Ref("aws_iam_role", "cloudtrail", "id"),
            policy=jsonencode(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": Template(log_group_arn, ":*"),
                        }
                    ],
                }
            ),
        ),
        resource(
            "aws_cloudtrail",
            "main",
            count=count,
            name=trail_name,
            s3_bucket_name=LOG_BUCKET.id_ref,
            s3_key_prefix="cloudtrail",
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=KEY.arn,
            cloud_watch_logs_group_arn=Template(log_group_arn, ":*"),
            cloud_watch_logs_role_arn=Ref("aws_iam_role", "cloudtrail", "arn"),
            depends_on=[LOG_BUCKET.policy_ref],
        ).skip(
            "CKV_AWS_252",
            "a notification per log file delivery is noise; the trail streams to CloudWatch Logs, "
            "where alarms and metric filters watch it",
        ),
    )
    out.node("aws_cloudtrail.main", "CloudTrail", "cloudtrail", "account")
    return out


def _singleton(ctx: BuildContext, out: Fragment, name: str, what: str, why: str = "") -> Cond:
    """An account-wide singleton (one per account and region) is created only when asked.

    The default is true in production, the environment that owns the account's singletons;
    a staging or dev stack beside it would otherwise try to create a second one and fail.
    """
    out.variables.append(
        variable(name, "bool", f"Create the account's {what} (one per account and region): false when another "
                 "stack or the organisation already did", ctx.req.production)
    )
    reason = why or f"the {what} is one per account and region"
    out.notes.append(
        f"`{name}` (default `{str(ctx.req.production).lower()}`): {reason}; "
        "create it in exactly one stack of the account (production by default) and set it `false` elsewhere."
    )
    return Cond(var(name), 1, 0)


@blueprint(
    "guardduty",
    title="GuardDuty detector",
    concern="governance.tf",
    why="GuardDuty watches CloudTrail, VPC flow logs and DNS for threats at a cost that scales "
    "with usage; an EventBridge rule sends its findings to the alert topic.",
    after=("alarms",),
    component="GuardDuty detector",
    words=r"guardduty|threat detection",
    facts=Facts(wanted=lambda req, _chosen: hardened(req), direct=True),
)
def guardduty(ctx: BuildContext) -> Fragment:
    out = Fragment()
    count = _singleton(ctx, out, "create_guardduty_detector", "GuardDuty detector")
    out.add(
        "governance.tf",
        resource("aws_guardduty_detector", "main", count=count, enable=True, finding_publishing_frequency="FIFTEEN_MINUTES").skip(
            "CKV2_AWS_3", "one account; organisation-wide enablement belongs to the management account"
        ),
    )
    if ctx.has("alarms"):
        rule_arn = Ref("aws_cloudwatch_event_rule", "guardduty", "arn")
        out.add(
            "governance.tf",
            resource(
                "aws_cloudwatch_event_rule",
                "guardduty",
                name=Template(local("name"), "-guardduty-findings"),
                description="GuardDuty findings of medium severity and above to the alert topic",
                event_pattern=jsonencode({"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"],
                                          "detail": {"severity": [{"numeric": [">=", 4]}]}}),
            ),
            resource("aws_cloudwatch_event_target", "guardduty", rule=Ref("aws_cloudwatch_event_rule", "guardduty", "name"),
                     target_id="alerts", arn=ALERTS.arn),
        )
        # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
        out.ask(ALERTS.publish("events.amazonaws.com", "EventBridgeGuardDutyFindings", {"ArnEquals": {"aws:SourceArn": rule_arn}}))
    out.node("aws_guardduty_detector.main", "GuardDuty", "guardduty", "account")
    return out


@blueprint(
    "config",
    title="AWS Config recorder",
    concern="governance.tf",
    why="AWS Config records every resource's configuration over time, so drift and "
    "non-compliant changes are visible and auditable.",
    requires=("logs_bucket",),
    component="AWS Config recorder",
    words=r"aws config|config rules|configuration recorder",
    facts=Facts(wanted=lambda req, _chosen: hardened(req), direct=True),
)
def config(ctx: BuildContext) -> Fragment:
    out = Fragment()
    count = _singleton(ctx, out, "create_config_recorder", "AWS Config recorder and delivery channel")
    assume = assume_role("config.amazonaws.com")
    recorder = Ref("aws_config_configuration_recorder", "main")
    source = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    # https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-policy.html
    out.ask(
        LOG_BUCKET.read_acl("ConfigAclCheck", "config.amazonaws.com", source),
        LOG_BUCKET.write("ConfigWrite", {"Service": "config.amazonaws.com"}, ("config/AWSLogs/", ACCOUNT, "/Config/*"),
                         {"StringEquals": {"aws:SourceAccount": ACCOUNT, "s3:x-amz-acl": "bucket-owner-full-control"}}),
    )
    delivered = LOG_BUCKET.objects("config/AWSLogs/", ACCOUNT, "/Config/*")
    out.add(
        "governance.tf",
        resource("aws_iam_role", "config", name=Template(local("name"), "-config"), assume_role_policy=assume),
        resource(
            "aws_iam_role_policy_attachment",
            "config",
            role=Ref("aws_iam_role", "config", "name"),
            policy_arn=Template("arn:", PARTITION, ":iam::aws:policy/service-role/AWS_ConfigRole"),
        ),
        # Config delivers with the recorder's role in the bucket's own account: the role writes
        # under the prefix and checks the bucket, as AWS_ConfigRole does not let it
        # (https://docs.aws.amazon.com/config/latest/developerguide/iamrole-permissions.html)
        resource(
            "aws_iam_role_policy",
            "config_delivery",
            name="deliver-to-log-bucket",
            role=Ref("aws_iam_role", "config", "id"),
            policy=jsonencode({"Version": "2012-10-17", "Statement": [
                {"Sid": "WriteConfigHistory", "Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"],
                 "Resource": delivered, "Condition": {"StringLike": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
                {"Sid": "CheckLogBucket", "Effect": "Allow", "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": LOG_BUCKET.arn},
            ]}),
        ),
        resource(
            "aws_config_configuration_recorder",
            "main",
            block("recording_group", all_supported=True, include_global_resource_types=True),
            count=count,
            name=Template(local("name"), "-recorder"),
            role_arn=Ref("aws_iam_role", "config", "arn"),
        ),
        resource(
            "aws_config_delivery_channel",
            "main",
            count=count,
            name=Template(local("name"), "-channel"),
            s3_bucket_name=LOG_BUCKET.id_ref,
            s3_key_prefix="config",
            depends_on=[recorder, LOG_BUCKET.policy_ref, Ref("aws_iam_role_policy", "config_delivery")],
        ),
        resource(
            "aws_config_configuration_recorder_status",
            "main",
            count=count,
            name=Ref("aws_config_configuration_recorder", "main", 0, "name"),
            is_enabled=True,
            depends_on=[Ref("aws_config_delivery_channel", "main")],
        ),
    )
    out.node("aws_config_configuration_recorder.main", "AWS Config", "config", "account")
    return out
