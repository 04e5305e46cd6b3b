"""What each kind of resource looks like in the diagram: a shape, a fill colour, a category;
the scanner's and Terraform's names for the same kinds; which kinds come by the dozen."""

from __future__ import annotations

import re
from typing import Any

# kind -> (shape, fill colour, category)
KINDS: dict[str, tuple[str, str, str]] = {
    "cloudfront": ("doubleoctagon", "#e8dcf7", "network"),
    "waf": ("octagon", "#fde2e1", "security"),
    "route53": ("invhouse", "#e8dcf7", "network"),
    "acm": ("note", "#fde2e1", "security"),
    "iam": ("house", "#fde2e1", "security"),
    "alb": ("hexagon", "#e8dcf7", "network"),
    "nlb": ("hexagon", "#e8dcf7", "network"),
    "target_group": ("folder", "#e8dcf7", "network"),
    "apigw": ("house", "#e8dcf7", "network"),
    "igw": ("invtrapezium", "#e8dcf7", "network"),
    "nat": ("trapezium", "#e8dcf7", "network"),
    "vpc": ("tab", "#e3f0e3", "network"),
    "subnet": ("rect", "#e3f0e3", "network"),
    "route_table": ("tab", "#e8dcf7", "network"),
    "route": ("rarrow", "#e8dcf7", "network"),
    "route_table_association": ("cds", "#e8dcf7", "network"),
    "security_group": ("octagon", "#fde2e1", "security"),
    "security_group_rule": ("rarrow", "#fde2e1", "security"),
    "ecs": ("box3d", "#fff1d6", "compute"),
    "asg": ("box3d", "#fff1d6", "compute"),
    "ec2": ("box3d", "#fff1d6", "compute"),
    "lambda": ("component", "#fff1d6", "compute"),
    "rds": ("cylinder", "#dbe8fb", "database"),
    "aurora": ("cylinder", "#dbe8fb", "database"),
    "redis": ("cylinder", "#dbe8fb", "database"),
    "dynamodb": ("cylinder", "#dbe8fb", "database"),
    "s3": ("folder", "#e3f0e3", "storage"),
    "backup": ("folder", "#e3f0e3", "storage"),
    "sqs": ("cds", "#fbe7f3", "messaging"),
    "sns": ("cds", "#fbe7f3", "messaging"),
    "kms": ("note", "#fde2e1", "security"),
    "secretsmanager": ("note", "#fde2e1", "security"),
    "cloudtrail": ("tab", "#eeeeee", "management"),
    "guardduty": ("tab", "#fde2e1", "security"),
    "config": ("tab", "#eeeeee", "management"),
    "budgets": ("tab", "#eeeeee", "management"),
    "alarm": ("egg", "#fff4e0", "management"),
    "log_group": ("note", "#eeeeee", "management"),
}
# the scanner's and Terraform's names for the same things
ALIASES = {
    "internet_gateway": "igw", "nat_gateway": "nat", "instance": "ec2",
    "lambda_function": "lambda", "db_instance": "rds", "db_cluster": "aurora",
    "rds_cluster": "aurora", "cache_cluster": "redis", "replication_group": "redis",
    "elasticache_replication_group": "redis", "s3_bucket": "s3", "load_balancer": "alb",
    "lb": "alb", "classic_load_balancer": "alb", "lb_target_group": "target_group",
    "iam_role": "iam", "iam_policy": "iam", "iam_role_policy_attachment": "iam",
    "cloudwatch_metric_alarm": "alarm", "cloudwatch_log_group": "log_group",
    "vpc_security_group_ingress_rule": "security_group_rule",
    "vpc_security_group_egress_rule": "security_group_rule",
    "route53_record": "route53", "route53_zone": "route53", "kms_key": "kms",
    "sqs_queue": "sqs", "sns_topic": "sns", "ecs_service": "ecs", "autoscaling_group": "asg",
    "wafv2_web_acl": "waf", "dynamodb_table": "dynamodb",
}
DEFAULT_KIND = ("box", "#f4f4f4", "other")
# kinds that come by the dozen: grouped from REPEAT_MIN even in a small view
REPEATED = re.compile(r"(^|_)(rule|alarm|route|association|attachment|record|subnet|eip|"
                      r"log_group|network_interface|listener_rule)s?$")
TIER_COLOURS = {"public": "#2e9e4a", "private": "#3b7dd8", "data": "#7a5cc2"}


def look(kind: str) -> tuple[str, str, str]:
    """(shape, fill, category) of a kind."""
    return KINDS.get(kind) or KINDS.get(ALIASES.get(kind, ""), DEFAULT_KIND)


def kind_of(node: dict[str, Any]) -> str:
    """What a node is: its ``kind``, else the resource type of its address (``aws_x.y`` -> x)."""
    kind = node.get("kind")
    if isinstance(kind, str) and kind:
        return kind
    address = str(node.get("id") or "").removeprefix("data.")
    return address.split(".", 1)[0].removeprefix("aws_") or "resource"


def kind_label(kind: str) -> str:
    return kind.replace("_", " ")
