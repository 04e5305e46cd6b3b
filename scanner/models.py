"""The scanner's typed view of an account: resources, their relationships, what could not be read.

Collected once (:mod:`scanner.inventory`), then turned into Terraform, a diagram and tag plans.
Every resource keeps the API's own values in ``attrs`` (what Terraform is built from and what a
round-trip test compares against) and its relationships as typed fields.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Kind = Literal[
    "vpc", "subnet", "route_table", "internet_gateway", "nat_gateway", "elastic_ip", "security_group",
    "security_group_rule", "instance", "db_instance", "db_cluster", "db_subnet_group",
    "lambda_function", "s3_bucket", "cache_cluster", "replication_group", "cache_subnet_group",
    "load_balancer", "target_group", "listener", "classic_load_balancer", "iam_role",
    "hosted_zone", "dns_record",
]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
GLOBAL = "global"


class Resource(BaseModel):
    kind: Kind
    id: str = Field(description="what Terraform imports it by (an id, a name or an ARN)")
    region: str = Field(description="the region, or 'global' (IAM)")
    arn: str | None = None
    name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    # relationships
    vpc_id: str | None = None
    availability_zone: str | None = None
    subnet_ids: list[str] = Field(default_factory=list)
    security_group_ids: list[str] = Field(default_factory=list)
    role_arn: str | None = None
    parent: str | None = Field(default=None, description="the owning resource's id (a rule's group, a listener's LB)")
    targets: list[str] = Field(default_factory=list, description="what it sends traffic to (ids/ARNs)")
    # created by AWS with its parent (default VPC, main route table, default SG): not adopted
    aws_default: bool = False
    attrs: dict[str, Any] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name or self.tags.get("Name") or self.id


class Missing(BaseModel):
    """A part of the account the scan could not read, and the permission that would fix it."""

    service: str
    region: str
    operation: str
    action: str = Field(description="the IAM action to grant")
    error_code: str
    cause: Literal["denied", "throttled", "unavailable"] = "denied"
    message: str = ""
    kinds: list[str] = Field(default_factory=list, description="resource kinds left out")

    @property
    def text(self) -> str:
        what = ", ".join(self.kinds) or self.operation
        if self.cause == "denied":
            return (f"{self.service} in {self.region}: {what} not read ({self.error_code}); "
                    f"grant {self.action}")
        why = "throttled past every retry" if self.cause == "throttled" else "the service did not answer"
        return (f"{self.service} in {self.region}: {what} not read ({self.error_code}: {why}); "
                f"scan again to resume (needs {self.action})")


class Inventory(BaseModel):
    regions: list[str]
    resources: list[Resource] = Field(default_factory=list)
    missing: list[Missing] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list, description="read but outside the scan (other regions)")
    api_calls: dict[str, int] = Field(default_factory=dict, description="calls per service, retries included")
    throttled: int = 0
    seconds: float = 0.0

    @property
    def partial(self) -> bool:
        return bool(self.missing)

    def of(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]

    def get(self, ident: str) -> Resource | None:
        for r in self.resources:
            if r.id == ident or r.arn == ident:
                return r
        return None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.resources:
            out[r.kind] = out.get(r.kind, 0) + 1
        return dict(sorted(out.items()))

    def relationships(self) -> list[tuple[str, str, str]]:
        """(from id, to id, how) for every relationship between resources the scan found."""
        known = {r.id for r in self.resources} | {r.arn for r in self.resources if r.arn}
        out: list[tuple[str, str, str]] = []
        for r in self.resources:
            pairs = [(r.vpc_id, "in_vpc"), (r.role_arn, "uses_role"), (r.parent, "part_of")]
            pairs += [(s, "in_subnet") for s in r.subnet_ids]
            pairs += [(s, "security_group") for s in r.security_group_ids]
            pairs += [(t, "targets") for t in r.targets]
            out += [(r.id, other, how) for other, how in pairs if other and other in known]
        return out
