"""Messaging blueprints: an SQS queue with its dead-letter queue, and an SNS topic."""

from __future__ import annotations

from agents.catalog.base import BuildContext, Facts, Fragment, blueprint
from agents.catalog.shared import ACCOUNT, ALERTS, APP, KEY, QUEUE, VISIBILITY_TIMEOUT, Alarm
from core.terraform.model import Ref, Template, jsonencode, output, resource


@blueprint(
    "sqs",
    title="SQS queue",
    concern="messaging.tf",
    why="Work survives a crashed consumer: messages that fail five times move to a dead-letter "
    "queue kept for 14 days (an alarm watches it), encrypted with the module's key.",
    requires=("kms",),
    component="SQS queue with a dead-letter queue",
    words=r"\bsqs\b|\bqueues?\b|dead[- ]letter",
    facts=Facts(wanted=lambda req, _chosen: req.workload == "worker", direct=True, removable=True),
)
def sqs(ctx: BuildContext) -> Fragment:
    out = Fragment()
    name = ctx.name("sqs", "jobs")
    out.add(
        "messaging.tf",
        resource(
            "aws_sqs_queue",
            "dlq",
            name=Template(name, "-dlq") if isinstance(name, str) else Template(Ref("local", "name"), "-jobs-dlq"),
            message_retention_seconds=1209600,
            kms_master_key_id=KEY.arn,
        ),
        resource(
            "aws_sqs_queue",
            "main",
            name=name,
            visibility_timeout_seconds=VISIBILITY_TIMEOUT,
            message_retention_seconds=345600,
            receive_wait_time_seconds=20,
            kms_master_key_id=KEY.arn,
            kms_data_key_reuse_period_seconds=300,
            redrive_policy=jsonencode({"deadLetterTargetArn": Ref("aws_sqs_queue", "dlq", "arn"), "maxReceiveCount": 5}),
        ),
    )
    out.ask(APP.bind("queue", env={"QUEUE_URL": QUEUE.url}, statements=({
        "Sid": "Queue",
        "Effect": "Allow",
        "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
        "Resource": QUEUE.arn,
    },)))
    ALERTS.alarms(ctx, out, Alarm("dlq_messages", "Messages failed and wait in the dead-letter queue", "AWS/SQS",
                                  "ApproximateNumberOfMessagesVisible", {"QueueName": Ref("aws_sqs_queue", "dlq", "name")}, 0,
                                  statistic="Maximum", periods=1))
    out.outputs.append(output("queue_url", QUEUE.url, "URL of the work queue"))
    out.node("aws_sqs_queue.main", "SQS queue + DLQ", "sqs", "region")
    return out


@blueprint(
    "sns",
    title="SNS topic",
    concern="messaging.tf",
    why="One topic fans events out to any number of subscribers (queues, functions, e-mail) "
    "without the publisher knowing them; encrypted with the module's key.",
    requires=("kms",),
    component="SNS topic",
    words=r"\bsns\b|pub/?sub|notifications? topic|fan[- ]?out|\btopic\b",
    facts=Facts(direct=True, removable=True),
)
def sns(ctx: BuildContext) -> Fragment:
    out = Fragment()
    out.add("messaging.tf", resource("aws_sns_topic", "events", name=ctx.name("sns", "events"), kms_master_key_id=KEY.arn))
    if ctx.has("sqs"):
        # SNS delivers to the queue encrypted with the key: the key lets SNS use it
        # (https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html)
        out.ask(KEY.service("SnsDeliversToEncryptedQueues", "sns.amazonaws.com",
                            condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}}))
        out.add(
            "messaging.tf",
            resource(
                "aws_sns_topic_subscription",
                "queue",
                topic_arn=Ref("aws_sns_topic", "events", "arn"),
                protocol="sqs",
                endpoint=QUEUE.arn,
                raw_message_delivery=True,
            ),
            resource(
                "aws_sqs_queue_policy",
                "from_topic",
                queue_url=QUEUE.url,
                policy=jsonencode(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "sns.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": QUEUE.arn,
                                "Condition": {"ArnEquals": {"aws:SourceArn": Ref("aws_sns_topic", "events", "arn")}},
                            }
                        ],
                    }
                ),
            ),
        )
    out.ask(APP.bind("topic", env={"EVENTS_TOPIC_ARN": Ref("aws_sns_topic", "events", "arn")}, statements=(
        {"Sid": "Topic", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": Ref("aws_sns_topic", "events", "arn")},)))
    out.outputs.append(output("events_topic_arn", Ref("aws_sns_topic", "events", "arn"), "SNS topic for application events"))
    out.node("aws_sns_topic.events", "SNS topic", "sns", "region")
    return out
