"""Operations blueprints: CloudWatch alarms with an alert topic, AWS Budgets, AWS Backup."""

from __future__ import annotations

from agents.catalog.base import BuildContext, Facts, Fragment, always, blueprint, hardened
from agents.catalog.iam import assume_role
from agents.catalog.shared import ACCOUNT, ALERTS, BACKUP, KEY, PARTITION, Ask, grants, protections
from agents.messages import t
from core.terraform.model import (
    Call,
    Ref,
    Template,
    block,
    local,
    resource,
    var,
    variable,
)


@blueprint(
    "alarms",
    title="CloudWatch alarms",
    concern="monitoring.tf",
    why="Errors, latency, saturation and failed work raise alarms (each blueprint watches its own "
    "metrics) to one encrypted SNS topic; subscribe an e-mail or a chat channel to hear about "
    "problems before users do.",
    requires=("kms",),
    component="CloudWatch alarms and alert topic",
    words=r"alarms?|monitoring|alerts?|cloudwatch",
    facts=Facts(wanted=always, direct=True),
)
def alarms(ctx: BuildContext) -> Fragment:
    out = Fragment()
    # no default: an alert topic nobody hears is worse than none, so apply asks for the address
    out.variables.append(variable("alert_email", "string", "E-mail address the alerts go to (AWS sends it a confirmation link)"))
    out.required["alert_email"] = t("need.alert_email", ctx.req.language)
    out.notes.append(t("note.alert_email", ctx.req.language))
    topic_policy = resource("aws_sns_topic_policy", "alerts", arn=ALERTS.arn)

    def finish(asks: list[Ask]) -> None:
        # the topic lets each publisher publish, and asks the key to let them encrypt
        topic_policy.set("policy", ALERTS.policy(grants(asks)))
        out.ask(*ALERTS.key_grants(grants(asks)))

    out.assemble(ALERTS, finish)
    # the topic is where CloudWatch alarms go, the design's and any the team adds later
    # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html)
    out.ask(ALERTS.publish("cloudwatch.amazonaws.com", "CloudWatchAlarms"))
    out.add(
        "monitoring.tf",
        resource("aws_sns_topic", "alerts", name=Template(local("name"), "-alerts"), kms_master_key_id=KEY.arn),
        topic_policy,
        resource(
            "aws_sns_topic_subscription",
            "alert_email",
            topic_arn=ALERTS.arn,
            protocol="email",
            endpoint=var("alert_email"),
        ),
    )
    out.node("aws_sns_topic.alerts", "Alerts (SNS)", "sns", "region")
    return out


@blueprint(
    "budget",
    title="AWS Budgets",
    concern="monitoring.tf",
    why="A monthly cost budget warns at 80% of actual spend and at 100% of the forecast, so a "
    "runaway bill is caught within the month.",
    requires=("alarms",),
    component="AWS Budgets monthly budget",
    words=r"budget|cost alert|spending limit",
    facts=Facts(wanted=always, direct=True),
)
def budget(ctx: BuildContext) -> Fragment:
    out = Fragment()
    # https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html
    out.ask(ALERTS.publish("budgets.amazonaws.com", "BudgetsNotifications", {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": Template("arn:", PARTITION, ":budgets::", ACCOUNT, ":*")},
    }))
    amount = ctx.req.budget_usd or (1000 if ctx.req.production else 200)
    out.variables.append(variable("monthly_budget_usd", "number", "Monthly cost budget in USD", amount))
    notes = [
        block("notification", comparison_operator="GREATER_THAN", threshold=80, threshold_type="PERCENTAGE", notification_type="ACTUAL", subscriber_sns_topic_arns=[ALERTS.arn]),
        block("notification", comparison_operator="GREATER_THAN", threshold=100, threshold_type="PERCENTAGE", notification_type="FORECASTED", subscriber_sns_topic_arns=[ALERTS.arn]),
    ]
    out.add(
        "monitoring.tf",
        resource(
            "aws_budgets_budget",
            "monthly",
            *notes,
            name=Template(local("name"), "-monthly"),
            budget_type="COST",
            limit_amount=Call("tostring", var("monthly_budget_usd")),
            limit_unit="USD",
            time_unit="MONTHLY",
        ),
    )
    out.node("aws_budgets_budget.monthly", f"Budget ${amount}/month", "budgets", "account")
    return out


DATA_STORES = frozenset({"rds", "aurora", "dynamodb"})


@blueprint(
    "backup",
    title="AWS Backup plan",
    concern="backup.tf",
    why="Daily backups of the data stores into an encrypted vault, kept 35 days in production, "
    "independent of each service's own snapshots.",
    requires=("kms",),
    after=("rds", "aurora", "dynamodb"),
    component="AWS Backup plan",
    words=r"\bbackups?\b|aws backup|disaster recovery",
    facts=Facts(
        wanted=lambda req, chosen: hardened(req) and bool(chosen & DATA_STORES),
        fits=lambda _req, chosen: bool(chosen & DATA_STORES),  # something to back up
        direct=True,
        removable=True,
    ),
)
def backup(ctx: BuildContext) -> Fragment:
    out = Fragment()
    days = 35 if ctx.req.production else 7
    selection = resource(
        "aws_backup_selection",
        "main",
        name="data-stores",
        plan_id=Ref("aws_backup_plan", "main", "id"),
        iam_role_arn=Ref("aws_iam_role", "backup", "arn"),
    )

    def finish(asks: list[Ask]) -> None:
        # the stores that asked to be kept, each by its ARN
        selection.set("resources", [p.arn for p in protections(asks)])

    out.assemble(BACKUP, finish)
    rule = block("rule", rule_name="daily", target_vault_name=Ref("aws_backup_vault", "main", "name"), schedule="cron(0 5 * * ? *)")
    rule.add(block("lifecycle", delete_after=days))
    out.add(
        "backup.tf",
        resource("aws_backup_vault", "main", name=Template(local("name"), "-vault"), kms_key_arn=KEY.arn),
        resource("aws_backup_plan", "main", rule, name=Template(local("name"), "-daily")),
        resource("aws_iam_role", "backup", name=Template(local("name"), "-backup"), assume_role_policy=assume_role("backup.amazonaws.com")),
        resource(
            "aws_iam_role_policy_attachment",
            "backup",
            role=Ref("aws_iam_role", "backup", "name"),
            policy_arn="arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
        ),
        selection,
    )
    out.node("aws_backup_plan.main", f"AWS Backup ({days} days)", "backup", "region")
    return out
