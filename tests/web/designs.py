"""Designs of any size shaped like real ones, for the diagram's tests and bench/diagram.py.

A large AWS design is mostly repetition: alarms per resource, security group rules, route table
associations per subnet, log groups per function, IAM roles, DNS records. ``large_design(n)``
spreads ``n`` resources over the generated-design groups (global, account, region, VPC, the
subnet tiers) in those proportions, with the references real modules have (an alarm watches a
resource, a rule belongs to its security group, a function runs as its role).
"""

from __future__ import annotations

from typing import Any

# (kind, group, share of the design, label); the shares add up to 1
SHARES: list[tuple[str, str, float, str]] = [
    ("cloudwatch_metric_alarm", "region", 0.20, "Alarm"),
    ("security_group_rule", "vpc", 0.15, "SG rule"),
    ("ec2", "private", 0.08, "EC2 instance"),
    ("lambda", "region", 0.06, "Lambda function"),
    ("cloudwatch_log_group", "region", 0.06, "Log group"),
    ("iam_role", "global", 0.05, "IAM role"),
    ("ecs", "private", 0.05, "ECS service"),
    ("route_table_association", "public", 0.04, "Route table association"),
    ("s3", "region", 0.04, "S3 bucket"),
    ("route53_record", "global", 0.03, "DNS record"),
    ("security_group", "vpc", 0.03, "Security group"),
    ("sqs", "region", 0.02, "SQS queue"),
    ("rds", "data", 0.02, "RDS database"),
    ("kms", "region", 0.01, "KMS key"),
    ("sns", "region", 0.01, "SNS topic"),
    ("redis", "data", 0.01, "ElastiCache"),
    ("route_table", "vpc", 0.01, "Route table"),
    ("asg", "private", 0.01, "Auto Scaling group"),
    ("dynamodb", "region", 0.01, "DynamoDB table"),
    ("alb", "public", 0.01, "Load balancer"),
    ("nat", "public", 0.01, "NAT gateway"),
    ("secretsmanager", "region", 0.01, "Secret"),
    ("sqs_dlq", "region", 0.01, "Dead-letter queue"),
    ("backup", "region", 0.01, "Backup plan"),
    ("ec2_eip", "public", 0.04, "Elastic IP"),
]
FIXED = [  # one of each, whatever the size
    ("aws_cloudfront_distribution.main", "CloudFront", "cloudfront", "global"),
    ("aws_wafv2_web_acl.main", "WAF", "waf", "global"),
    ("aws_cloudtrail.main", "CloudTrail", "cloudtrail", "account"),
    ("aws_guardduty_detector.main", "GuardDuty", "guardduty", "account"),
    ("aws_vpc.main", "VPC", "vpc", "vpc"),
    ("aws_internet_gateway.main", "Internet gateway", "igw", "vpc"),
]
GROUPS = [
    {"id": "global", "label": "Global (edge)", "parent": None},
    {"id": "account", "label": "Account", "parent": None},
    {"id": "region", "label": "eu-west-1", "parent": "account"},
    {"id": "vpc", "label": "VPC", "parent": "region"},
    {"id": "public", "label": "public subnets", "parent": "vpc", "azs": "one per AZ"},
    {"id": "private", "label": "private subnets", "parent": "vpc", "azs": "one per AZ"},
    {"id": "data", "label": "data subnets", "parent": "vpc", "azs": "one per AZ"},
]
# what refers to what: (kind, the kind it points at)
REFERENCES = [("cloudwatch_metric_alarm", "ec2"), ("security_group_rule", "security_group"),
              ("lambda", "iam_role"), ("ecs", "iam_role"), ("lambda", "sqs"), ("ecs", "rds"),
              ("alb", "ecs"), ("route_table_association", "route_table"),
              ("cloudwatch_log_group", "lambda"), ("ec2", "security_group")]


def large_design(n: int) -> dict[str, Any]:
    """A diagram artifact of about ``n`` resources (exactly ``n`` nodes)."""
    nodes: list[dict[str, Any]] = [
        {"id": address, "label": label, "kind": kind, "group": group, "blueprint": kind}
        for address, label, kind, group in FIXED
    ]
    rest = n - len(nodes)
    counts = [max(1, int(rest * share)) for _, _, share, _ in SHARES]
    counts[0] += rest - sum(counts)  # what rounding left goes to the alarms
    by_kind: dict[str, list[str]] = {}
    for (kind, group, _, label), count in zip(SHARES, counts, strict=True):
        for index in range(count):
            address = f"aws_{kind}.r{index}"
            by_kind.setdefault(kind, []).append(address)
            nodes.append({"id": address, "label": f"{label} {index + 1}", "kind": kind,
                          "group": group, "blueprint": kind})
    edges = []
    for source, target in REFERENCES:
        targets = by_kind.get(target, [])
        for index, address in enumerate(by_kind.get(source, [])):
            if targets:
                edges.append({"from": address, "to": targets[index % len(targets)]})
    edges.append({"from": "aws_cloudfront_distribution.main", "to": by_kind["alb"][0]})
    return {"nodes": nodes, "edges": edges, "groups": GROUPS}


def module(diagram: dict[str, Any], version: int = 1, azs: int = 3) -> dict[str, Any]:
    """A module artifact around ``diagram`` (the events a worker emits carry this)."""
    return {
        "kind": "module", "version": version,
        "files": {"network.tf": "locals {\n  azs = slice(data.aws_availability_zones.available"
                                f".names, 0, {azs})\n}}\n"},
        "diagram": diagram,
        "plan": {"items": [{"id": kind, "title": label, "why": f"the design needs {label}s",
                            "file": f"{kind}.tf"} for kind, _, _, label in SHARES]},
        "findings": [{"check_id": "CKV_AWS_1", "severity": "medium", "pillar": "security",
                      "address": "aws_ec2.r0", "file": "ec2.tf", "message": "IMDSv2",
                      "skip_reason": None}],
        "cost": {"region": "eu-west-1", "monthly_total": 1234.5, "items": [
            {"address": "aws_ec2.r0", "monthly_usd": 30.37, "detail": "t3.medium"}]},
    }
