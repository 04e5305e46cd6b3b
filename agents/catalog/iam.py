"""IAM helpers: roles that trust one service and policies scoped to the module's own resources."""

from __future__ import annotations

from typing import Any

from agents.catalog.shared import KEY, Binding
from core.terraform.model import Block, Call, Ref, Template, jsonencode, local, resource


def assume_role(service: str, condition: dict[str, Any] | None = None) -> Call:
    """A trust policy that lets exactly one AWS service assume the role (under ``condition``)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return jsonencode({"Version": "2012-10-17", "Statement": [statement]})


def role_with_policy(rid: str, service: str, statements: list[dict[str, Any]],
                     condition: dict[str, Any] | None = None) -> list[Block]:
    """A role for ``service`` (trusted under ``condition``) with an inline policy of
    ``statements`` (none: no policy)."""
    blocks = [
        resource("aws_iam_role", rid, name=Template(local("name"), f"-{rid.replace('_', '-')}"), assume_role_policy=assume_role(service, condition))
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


def app_statements(binds: list[Binding]) -> list[dict[str, Any]]:
    """What the application may do: what each store it uses allows it (the store's own
    statements), reading the secrets they hand it, and using the module's key; nothing else."""
    out: list[dict[str, Any]] = [dict(st) for b in binds for st in b.statements]
    secrets = list(dict.fromkeys(arn for b in binds for arn, _key in b.secrets.values()))
    if secrets:
        out.append({"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets})
    out.append({"Sid": "UseKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": KEY.arn})
    return out


def assembled_role(rid: str, service: str) -> tuple[list[Block], Block]:
    """A role for ``service`` and its inline policy, whose statements are set once assembled."""
    policy = resource("aws_iam_role_policy", rid, name="least-privilege", role=Ref("aws_iam_role", rid, "id"))
    return [*role_with_policy(rid, service, []), policy], policy
