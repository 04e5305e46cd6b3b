"""Security and governance blueprints: KMS, Secrets Manager, CloudTrail, GuardDuty, AWS Config."""

from __future__ import annotations

from agents.catalog.base import KMS_ARN, BuildContext, Fragment, blueprint, log_retention
from agents.catalog.iam import assume_role
from core.terraform.model import Ref, Template, block, data, jsonencode, local, output, resource

ACCOUNT = Ref("data", "aws_caller_identity", "current", "account_id")
PARTITION = Ref("data", "aws_partition", "current", "partition")


def _root_arn() -> Template:
    return Template("arn:", PARTITION, ":iam::", ACCOUNT, ":root")


@blueprint(
    "kms",
    title="KMS key",
    concern="security.tf",
    why="One customer-managed key with yearly rotation encrypts logs, queues, topics, secrets and "
    "databases, so access to data is governed by IAM and audited by CloudTrail.",
)
def kms(ctx: BuildContext) -> Fragment:
    out = Fragment()
    services = ["logs.amazonaws.com", "cloudtrail.amazonaws.com", "sns.amazonaws.com", "sqs.amazonaws.com"]
    policy = jsonencode(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministration",
                    "Effect": "Allow",
                    "Principal": {"AWS": _root_arn()},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "AwsServicesUseTheKey",
                    "Effect": "Allow",
                    "Principal": {"Service": services},
                    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                },
            ],
        }
    )
    out.add(
        "security.tf",
        data("aws_caller_identity", "current"),
        data("aws_partition", "current"),
        resource(
            "aws_kms_key",
            "main",
            description=Template("archops key for ", local("name")),
            enable_key_rotation=True,
            deletion_window_in_days=30 if ctx.req.production else 7,
            policy=policy,
        ),
        resource("aws_kms_alias", "main", name=Template("alias/", local("name")), target_key_id=Ref("aws_kms_key", "main", "key_id")),
    )
    out.outputs.append(output("kms_key_arn", KMS_ARN, "ARN of the module's KMS key"))
    out.node("aws_kms_key.main", "KMS key", "kms")
    return out


@blueprint(
    "secrets",
    title="Secrets Manager secret",
    concern="security.tf",
    why="Application secrets live in Secrets Manager, encrypted with the module's key; Terraform "
    "creates the container, never the value, so no secret is ever in code or state.",
    requires=("kms",),
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
            kms_key_id=KMS_ARN,
            recovery_window_in_days=30 if ctx.req.production else 7,
        ).skip("CKV2_AWS_57", "rotation needs a function that knows the application's secret; add aws_secretsmanager_secret_rotation with it"),
    )
    out.outputs.append(output("app_secret_arn", Ref("aws_secretsmanager_secret", "app", "arn"), "Secret to fill with application secrets"))
    out.node("aws_secretsmanager_secret.app", "App secrets", "secretsmanager")
    return out


@blueprint(
    "cloudtrail",
    title="CloudTrail trail",
    concern="governance.tf",
    why="A multi-region trail with log file validation, KMS encryption and CloudWatch delivery "
    "records every API call: the audit trail security reviews and incident response need.",
    requires=("kms", "logs_bucket"),
)
def cloudtrail(ctx: BuildContext) -> Fragment:
    out = Fragment()
    role_policy = assume_role("cloudtrail.amazonaws.com")
    log_group = Ref("aws_cloudwatch_log_group", "cloudtrail", "arn")
    out.add(
        "governance.tf",
        resource(
            "aws_cloudwatch_log_group",
            "cloudtrail",
            name=Template("/aws/cloudtrail/", local("name")),
            retention_in_days=log_retention(ctx),
            kms_key_id=KMS_ARN,
        ),
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
                            "Resource": Template(log_group, ":*"),
                        }
                    ],
                }
            ),
        ),
        resource(
            "aws_cloudtrail",
            "main",
            name=Template(local("name"), "-trail"),
            s3_bucket_name=Ref("aws_s3_bucket", "logs", "id"),
            s3_key_prefix="cloudtrail",
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=KMS_ARN,
            cloud_watch_logs_group_arn=Template(log_group, ":*"),
            cloud_watch_logs_role_arn=Ref("aws_iam_role", "cloudtrail", "arn"),
            depends_on=[Ref("aws_s3_bucket_policy", "logs")],
        ).skip(
            "CKV_AWS_252",
            "a notification per log file delivery is noise; the trail streams to CloudWatch Logs, "
            "where alarms and metric filters watch it",
        ),
    )
    out.node("aws_cloudtrail.main", "CloudTrail", "cloudtrail", "account")
    return out


@blueprint(
    "guardduty",
    title="GuardDuty detector",
    concern="governance.tf",
    why="GuardDuty watches CloudTrail, VPC flow logs and DNS for threats at a cost that scales "
    "with usage; findings go to the alert topic.",
)
def guardduty(ctx: BuildContext) -> Fragment:
    out = Fragment()
    out.add(
        "governance.tf",
        resource("aws_guardduty_detector", "main", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES").skip(
            "CKV2_AWS_3", "one account; organisation-wide enablement belongs to the management account"
        ),
    )
    out.node("aws_guardduty_detector.main", "GuardDuty", "guardduty", "account")
    return out


@blueprint(
    "config",
    title="AWS Config recorder",
    concern="governance.tf",
    why="AWS Config records every resource's configuration over time, so drift and "
    "non-compliant changes are visible and auditable.",
    requires=("logs_bucket",),
)
def config(ctx: BuildContext) -> Fragment:
    out = Fragment()
    assume = assume_role("config.amazonaws.com")
    out.add(
        "governance.tf",
        resource("aws_iam_role", "config", name=Template(local("name"), "-config"), assume_role_policy=assume),
        resource(
            "aws_iam_role_policy_attachment",
            "config",
            role=Ref("aws_iam_role", "config", "name"),
            policy_arn=Template("arn:", Ref("data", "aws_partition", "current", "partition"), ":iam::aws:policy/service-role/AWS_ConfigRole"),
        ),
        resource(
            "aws_config_configuration_recorder",
            "main",
            block("recording_group", all_supported=True, include_global_resource_types=True),
            name=Template(local("name"), "-recorder"),
            role_arn=Ref("aws_iam_role", "config", "arn"),
        ),
        resource(
            "aws_config_delivery_channel",
            "main",
            name=Template(local("name"), "-channel"),
            s3_bucket_name=Ref("aws_s3_bucket", "logs", "id"),
            s3_key_prefix="config",
            depends_on=[Ref("aws_config_configuration_recorder", "main")],
        ),
        resource(
            "aws_config_configuration_recorder_status",
            "main",
            name=Ref("aws_config_configuration_recorder", "main", "name"),
            is_enabled=True,
            depends_on=[Ref("aws_config_delivery_channel", "main")],
        ),
    )
    out.node("aws_config_configuration_recorder.main", "AWS Config", "config", "account")
    return out
