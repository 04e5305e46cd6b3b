"""Operator access: Session Manager shells on the instances, logged, per person, no SSH.

Contractors and admins reach the instances through Session Manager: no inbound port, no SSH
key, no bastion. Who may start a session is an IAM group (``operators``) whose members the
team lists in a variable, so adding or removing a name grants or revokes one person; every
session's input and output is encrypted and kept in the log bucket and CloudWatch Logs.
"""

from __future__ import annotations

from typing import Any

from agents.catalog.base import BuildContext, Facts, Fragment, blueprint
from agents.catalog.shared import ACCOUNT, APP, KEY, LOG_BUCKET, PARTITION, REGION, log_group
from core.terraform.model import Call, Cond, Op, Ref, Template, jsonencode, local, output, resource, var, variable

DOCUMENT = "SSM-SessionManagerRunShell"
INSTANCES = frozenset({"asg", "ec2"})


@blueprint(
    "session_manager",
    title="Session Manager access for operators",
    concern="access.tf",
    why="People reach the instances through Session Manager: no open port, no SSH keys to hand out "
    "or take back; each person is a member of the operators group (MFA required), and every "
    "session is encrypted and logged to S3 and CloudWatch.",
    requires=("kms", "logs_bucket"),
    component="Session Manager access (logged, per person)",
    words=r"session manager|\bssm\b|contractors?\b|bastion|jump ?host|shell access|외주|협력사|배스천",
    facts=Facts(wanted=lambda req, _chosen: "session_manager" in req.asked,
                fits=lambda _req, chosen: bool(INSTANCES & set(chosen)), direct=True, removable=True),
)
def session_manager(ctx: BuildContext) -> Fragment:
    out = Fragment()
    group_name = Template(local("name"), "-operators")
    logs = log_group(ctx, out, "sessions", Template("/aws/ssm/", local("name"), "-sessions"))
    out.variables += [
        variable("operators", "list(string)",
                 "IAM user names who may open a shell on the instances (remove a name to revoke)", []),
        variable("manage_session_preferences", "bool",
                 f"Create this region's Session Manager preferences ({DOCUMENT}); false where the account already has them", True),
    ]
    preferences = resource(
        "aws_ssm_document", "session_preferences",
        name=DOCUMENT,
        document_type="Session",
        document_format="JSON",
        count=Cond(var("manage_session_preferences"), 1, 0),
        content=jsonencode({
            "schemaVersion": "1.0",
            "description": "Session Manager preferences: encrypted, logged sessions",
            "sessionType": "Standard_Stream",
            "inputs": {
                "s3BucketName": LOG_BUCKET.id_ref,
                "s3KeyPrefix": "ssm/",
                "s3EncryptionEnabled": True,
                "cloudWatchLogGroupName": Ref("aws_cloudwatch_log_group", "sessions", "name"),
                "cloudWatchEncryptionEnabled": True,
                "cloudWatchStreamingEnabled": True,
                "kmsKeyId": KEY.key_id,
                "runAsEnabled": False,
                "idleSessionTimeout": "20",
                "maxSessionDuration": "120",
            },
        }),
    )
    group = resource("aws_iam_group", "operators", name=group_name)
    policy = resource("aws_iam_group_policy", "operators", name="session-manager",
                      group=Ref("aws_iam_group", "operators", "name"), policy=jsonencode(_operator_policy(ctx)))
    members = resource(
        "aws_iam_group_membership", "operators",
        name=Template(local("name"), "-operators"),
        group=Ref("aws_iam_group", "operators", "name"),
        users=var("operators"),
        count=Cond(Op(Call("length", var("operators")), ">", 0), 1, 0),
    )
    for check in ("CKV2_AWS_21", "CKV2_AWS_14"):
        members.skip(check, "the members are the team's existing IAM users, named in `operators`")
    out.add("access.tf", logs, preferences, group, policy, members)
    # the instances write what their sessions show: to the log bucket and the log group
    out.ask(APP.bind("session_manager", statements=(
        {"Sid": "SessionLogsToS3", "Effect": "Allow", "Action": ["s3:PutObject"],
         "Resource": Template(LOG_BUCKET.arn, "/ssm/*")},
        {"Sid": "SessionLogsBucket", "Effect": "Allow", "Action": ["s3:GetEncryptionConfiguration"],
         "Resource": LOG_BUCKET.arn},
        {"Sid": "SessionLogsToCloudWatch", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": Template(Ref("aws_cloudwatch_log_group", "sessions", "arn"), ":*")},
        {"Sid": "SessionLogGroups", "Effect": "Allow", "Action": ["logs:DescribeLogGroups"], "Resource": "*"},
    )))
    out.notes.append(
        "Operator access: list the IAM user names in `operators` (they sign in with MFA) and they open shells with "
        "`aws ssm start-session --target <instance id>`; remove a name to revoke. "
        f"If the account already has Session Manager preferences in this region, set `manage_session_preferences = false` "
        f"(the `{DOCUMENT}` document exists once per region).")
    out.outputs.append(output("operators_group", Ref("aws_iam_group", "operators", "name"), "IAM group whose members may open sessions"))
    out.node("aws_iam_group.operators", "Operators (Session Manager)", "iam", "global")
    return out


def _operator_policy(ctx: BuildContext) -> dict[str, Any]:
    arn = Template("arn:", PARTITION, ":ssm:", REGION, ":", ACCOUNT)
    instances = Template("arn:", PARTITION, ":ec2:", REGION, ":", ACCOUNT, ":instance/*")
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "StartSessionsOnThisProject", "Effect": "Allow", "Action": ["ssm:StartSession"], "Resource": instances,
         "Condition": {**mfa, "StringEquals": {"ssm:resourceTag/Project": var("project"),
                                               "ssm:resourceTag/Environment": var("environment")}}},
        {"Sid": "WithTheLoggedShell", "Effect": "Allow", "Action": ["ssm:StartSession"],
         "Resource": Template(arn, f":document/{DOCUMENT}"), "Condition": mfa},
        {"Sid": "OwnSessions", "Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
         "Resource": Template(arn, ":session/${aws:username}-*")},
        {"Sid": "SeeInstances", "Effect": "Allow",
         "Action": ["ssm:DescribeSessions", "ssm:DescribeInstanceInformation",
                    "ssm:DescribeInstanceProperties", "ec2:DescribeInstances"], "Resource": "*"},
        {"Sid": "EncryptSessions", "Effect": "Allow", "Action": ["kms:GenerateDataKey"], "Resource": KEY.arn},
    ]}
