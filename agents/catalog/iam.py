"""IAM helpers: roles that trust one service and policies scoped to the module's own resources."""

from __future__ import annotations

from typing import Any

from agents.catalog.base import BuildContext
from agents.catalog.shared import KEY, account_arn
from core.terraform.model import Block, Call, Ref, Template, jsonencode, local, resource


def assume_role(service: str) -> Call:
    """A trust policy that lets exactly one AWS service assume the role."""
    return jsonencode(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def role_with_policy(rid: str, service: str, statements: list[dict[str, Any]]) -> list[Block]:
    """A role for ``service`` with an inline policy of ``statements`` (none: no policy)."""
    blocks = [
        resource("aws_iam_role", rid, name=Template(local("name"), f"-{rid.replace('_', '-')}"), assume_role_policy=assume_role(service))
    ]
    if statements:
        blocks.append(
            resource(
                "aws_iam_role_policy",
                rid,
                name="least-privilege",
                role=Ref("aws_iam_role", rid, "id"),
                policy=jsonencode({"Version": "2012-10-17", "Statement": statements}),
            )
        )
    return blocks


def app_policy_statements(ctx: BuildContext) -> list[dict[str, Any]]:
    """What the application may do: only the actions it needs, only on this module's resources."""
    out: list[dict[str, Any]] = []
    if ctx.has("s3"):
        arn = Ref("aws_s3_bucket", "app", "arn")
        out.append({"Sid": "AppBucket", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": Template(arn, "/*")})
        out.append({"Sid": "AppBucketList", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": arn})
    if ctx.has("sqs"):
        out.append(
            {
                "Sid": "Queue",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
                "Resource": Ref("aws_sqs_queue", "main", "arn"),
            }
        )
    if ctx.has("sns"):
        out.append({"Sid": "Topic", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": Ref("aws_sns_topic", "events", "arn")})
    if ctx.has("dynamodb"):
        arn = Ref("aws_dynamodb_table", "main", "arn")
        out.append(
            {
                "Sid": "Table",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
                "Resource": [arn, Template(arn, "/index/*")],
            }
        )
    secrets: list[Any] = []
    if ctx.has("secrets"):
        secrets.append(Ref("aws_secretsmanager_secret", "app", "arn"))
    if ctx.has("rds"):
        secrets.append(Ref("aws_db_instance", "main", "master_user_secret", 0, "secret_arn"))
    if ctx.has("aurora"):
        secrets.append(Ref("aws_rds_cluster", "main", "master_user_secret", 0, "secret_arn"))
    if ctx.has("redis"):
        secrets.append(Ref("aws_secretsmanager_secret", "redis", "arn"))
    if secrets:
        out.append({"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets})
    # IAM database authentication is on (data.py) for a database user the team creates
    # (GRANT rds_iam / AWSAuthenticationPlugin): the role may connect as it
    # (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html)
    db_resource = None
    if ctx.has("rds"):
        db_resource = Ref("aws_db_instance", "main", "resource_id")
    elif ctx.has("aurora"):
        db_resource = Ref("aws_rds_cluster", "main", "cluster_resource_id")
    if db_resource is not None:
        from agents.catalog.data import IAM_DB_USER

        out.append({"Sid": "ConnectToDatabaseWithIam", "Effect": "Allow", "Action": ["rds-db:connect"],
                    "Resource": account_arn("rds-db", "dbuser:", db_resource, f"/{IAM_DB_USER}")})
    if ctx.has("kms"):
        out.append({"Sid": "UseKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": KEY.arn})
    return out
