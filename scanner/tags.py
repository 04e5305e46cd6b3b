"""Project tags: find what lacks the project's tag, propose a plan, dry-run it, apply it.

    plan = plan_tags(inventory, "Project", "acme", vpcs=["vpc-..."], name_pattern="^acme-", select=[...])
    report = apply_tags(plan, scanner, dry_run=True)     # what would change, per resource
    report = apply_tags(plan, scanner, dry_run=False)    # tags; each outcome with before and after

A resource joins the plan by VPC membership (it sits in a chosen VPC, or in one that carries the
project tag already), by a naming rule (a regular expression on its name), or by the user's
selection (ids or ARNs). Applying goes through the Resource Groups Tagging API, 20 ARNs per
``TagResources`` call and region; what it refuses (moto, and some services, answer "not yet
supported" for load balancers) is tagged through that service's own API (``elbv2:AddTags``,
``ec2:CreateTags``, ``s3:PutBucketTagging`` keeping the bucket's tags, ``iam:TagRole``...). The
report says per resource what happened, through which API, and its tags before and after; who
dry-ran, approved and applied a plan is the system of record's (:mod:`scanner.service`,
:mod:`core.store.scans`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from core.errors import ValidationError
from core.store.scans import check_tag
from scanner.inventory import Refused, Scanner
from scanner.models import GLOBAL, Inventory, Resource

BATCH = 20
# EC2 ARN resource types by kind (the inventory keeps ARNs for the rest)
EC2_TYPES = {"vpc": "vpc", "subnet": "subnet", "route_table": "route-table",
             "internet_gateway": "internet-gateway", "nat_gateway": "natgateway",
             "security_group": "security-group", "elastic_ip": "elastic-ip", "security_group_rule": "security-group-rule",
             "instance": "instance"}
TAGGABLE = frozenset(EC2_TYPES) - {"security_group_rule"} | {
    "db_instance", "db_cluster", "db_subnet_group", "lambda_function", "s3_bucket", "cache_cluster",
    "replication_group", "cache_subnet_group", "load_balancer", "target_group", "iam_role",
    "classic_load_balancer", "hosted_zone"}


class TagChange(BaseModel):
    id: str
    arn: str
    kind: str
    region: str
    reason: str
    before: dict[str, str] = Field(default_factory=dict)
    after: dict[str, str] = Field(default_factory=dict)


class TagPlan(BaseModel):
    key: str
    value: str
    changes: list[TagChange] = Field(default_factory=list)
    already: int = 0  # resources that carry the tag already


class TagOutcome(BaseModel):
    id: str
    arn: str
    kind: str = ""
    region: str = ""
    status: Literal["would tag", "tagged", "failed"]
    via: str = ""  # the API that tagged it
    error: str = ""
    before: dict[str, str] = Field(default_factory=dict)
    after: dict[str, str] = Field(default_factory=dict, description="what it carries now (or would)")


class TagReport(BaseModel):
    dry_run: bool
    outcomes: list[TagOutcome] = Field(default_factory=list)
    calls: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def _account(inventory: Inventory) -> str:
    for r in inventory.resources:
        if r.arn and r.arn.count(":") >= 5 and r.arn.split(":")[4].isdigit():
            return r.arn.split(":")[4]
    return ""


def arn_of(r: Resource, account: str) -> str | None:
    if r.kind == "classic_load_balancer":
        return r.arn or f"arn:aws:elasticloadbalancing:{r.region}:{account}:loadbalancer/{r.id}"
    if r.kind in EC2_TYPES:
        return r.arn or f"arn:aws:ec2:{r.region}:{account}:{EC2_TYPES[r.kind]}/{r.id}"
    return r.arn


def missing_tag(inventory: Inventory, key: str, value: str) -> list[Resource]:
    """The account's own taggable resources that lack ``key = value``."""
    return [r for r in inventory.resources
            if r.kind in TAGGABLE and not r.aws_default and r.tags.get(key) != value]


def plan_tags(inventory: Inventory, key: str, value: str, *, vpcs: Iterable[str] | None = None,
              name_pattern: str | None = None, select: Iterable[str] | None = None) -> TagPlan:
    """Which resources to tag, and why (see the module docstring). With no rule given, the
    project's VPCs are those already tagged with it."""
    check_tag(key, value)
    pattern = _pattern(name_pattern)
    chosen = set(vpcs or [])
    if vpcs is None and name_pattern is None and select is None:
        chosen = {v.id for v in inventory.of("vpc") if v.tags.get(key) == value}
    picked = set(select or [])
    account = _account(inventory)
    plan = TagPlan(key=key, value=value)
    plan.already = sum(1 for r in inventory.resources if r.kind in TAGGABLE and r.tags.get(key) == value)
    for r in missing_tag(inventory, key, value):
        reason = ""
        if r.id in picked or (r.arn and r.arn in picked):
            reason = "selected"
        elif (r.vpc_id in chosen) or (r.kind == "vpc" and r.id in chosen):
            reason = f"in {r.vpc_id or r.id}"
        elif pattern and pattern.search(r.label):
            reason = f"name matches {name_pattern}"
        arn = arn_of(r, account)
        if reason and arn:
            plan.changes.append(TagChange(id=r.id, arn=arn, kind=r.kind, region=r.region, reason=reason,
                                          before=dict(r.tags), after={**r.tags, key: value}))
    return plan


def _pattern(name_pattern: str | None) -> re.Pattern[str] | None:
    if not name_pattern:
        return None
    if len(name_pattern) > 200:
        raise ValidationError("a naming rule is at most 200 characters")
    try:
        return re.compile(name_pattern)
    except re.error as exc:
        raise ValidationError(f"the naming rule {name_pattern!r} is not a regular expression: {exc}") from exc


def _fallback(scanner: Scanner, change: TagChange, key: str, value: str) -> str:
    """Tag one resource through its own service; returns the IAM action used."""
    region = change.region
    if change.kind in EC2_TYPES:
        scanner.call("ec2", region, "CreateTags", Resources=[change.id], Tags=[{"Key": key, "Value": value}])
        return "ec2:CreateTags"
    if change.kind in ("load_balancer", "target_group"):
        scanner.call("elbv2", region, "AddTags", ResourceArns=[change.arn], Tags=[{"Key": key, "Value": value}])
        return "elasticloadbalancing:AddTags"
    if change.kind == "classic_load_balancer":
        scanner.call("elb", region, "AddTags", LoadBalancerNames=[change.id], Tags=[{"Key": key, "Value": value}])
        return "elasticloadbalancing:AddTags"
    if change.kind == "s3_bucket":
        tags = {**change.before, key: value}  # PutBucketTagging replaces the whole set
        scanner.call("s3", region, "PutBucketTagging", Bucket=change.id,
                     Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})
        return "s3:PutBucketTagging"
    if change.kind == "lambda_function":
        scanner.call("lambda", region, "TagResource", Resource=change.arn, Tags={key: value})
        return "lambda:TagResource"
    if change.kind in ("db_instance", "db_cluster", "db_subnet_group"):
        scanner.call("rds", region, "AddTagsToResource", ResourceName=change.arn, Tags=[{"Key": key, "Value": value}])
        return "rds:AddTagsToResource"
    if change.kind in ("cache_cluster", "replication_group", "cache_subnet_group"):
        scanner.call("elasticache", region, "AddTagsToResource", ResourceName=change.arn,
                     Tags=[{"Key": key, "Value": value}])
        return "elasticache:AddTagsToResource"
    if change.kind == "hosted_zone":
        scanner.call("route53", GLOBAL, "ChangeTagsForResource", ResourceType="hostedzone", ResourceId=change.id,
                     AddTags=[{"Key": key, "Value": value}])
        return "route53:ChangeTagsForResource"
    if change.kind == "iam_role":
        scanner.call("iam", GLOBAL, "TagRole", RoleName=change.id, Tags=[{"Key": key, "Value": value}])
        return "iam:TagRole"
    raise ValueError(f"no tagging API for {change.kind}")


def _outcome(c: TagChange, status: Literal["would tag", "tagged", "failed"], key: str, value: str,
             via: str = "", error: str = "") -> TagOutcome:
    after = {**c.before, key: value} if status != "failed" else dict(c.before)
    return TagOutcome(id=c.id, arn=c.arn, kind=c.kind, region=c.region, status=status, via=via, error=error,
                      before=dict(c.before), after=after)


def apply_tags(plan: TagPlan, scanner: Scanner | None = None, *, dry_run: bool = True) -> TagReport:
    """Dry-run (no call at all: no scanner needed) or apply ``plan``: the Tagging API in batches
    of ``BATCH`` ARNs per region, each resource it refuses through its own service's API."""
    report = TagReport(dry_run=dry_run)
    if dry_run:
        report.outcomes = [_outcome(c, "would tag", plan.key, plan.value) for c in plan.changes]
        return report
    if scanner is None:
        raise ValueError("applying a tag plan needs a scanner (its AWS clients)")
    calls_before = sum(scanner.calls.values())
    by_region: dict[str, list[TagChange]] = {}
    for c in plan.changes:
        by_region.setdefault("us-east-1" if c.region == GLOBAL else c.region, []).append(c)
    outcomes: dict[str, TagOutcome] = {}
    for region, changes in by_region.items():
        for i in range(0, len(changes), BATCH):
            batch = changes[i:i + BATCH]
            try:
                answer = scanner.call("resourcegroupstaggingapi", region, "TagResources",
                                      ResourceARNList=[c.arn for c in batch], Tags={plan.key: plan.value})
                failed = answer.get("FailedResourcesMap") or {}
            except (ClientError, Refused) as exc:
                failed = {c.arn: {"ErrorMessage": str(exc)} for c in batch}
            for c in batch:
                if c.arn not in failed:
                    outcomes[c.arn] = _outcome(c, "tagged", plan.key, plan.value, via="tag:TagResources")
                    continue
                try:
                    via = _fallback(scanner, c, plan.key, plan.value)
                    outcomes[c.arn] = _outcome(c, "tagged", plan.key, plan.value, via=via)
                except (ClientError, Refused, ValueError) as exc:
                    first = (failed[c.arn] or {}).get("ErrorMessage", "")
                    outcomes[c.arn] = _outcome(c, "failed", plan.key, plan.value,
                                               error=f"{first}; then {exc}"[:400])
    report.outcomes = [outcomes[c.arn] for c in plan.changes]
    report.calls = sum(scanner.calls.values()) - calls_before
    return report
