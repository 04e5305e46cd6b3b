"""What a blueprint is: a typed, Well-Architected building block that renders Terraform blocks.

A blueprint declares the concern (file) it writes to, the blueprints it depends on, why its
defaults are what they are, and a ``build`` function from requirements to a :class:`Fragment`
of typed blocks. Adding a blueprint is adding one decorated function to the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agents.requirements import Requirements
from core.errors import ValidationError
from core.terraform.model import Block, Ref, Template, local


@dataclass
class Fragment:
    """What one blueprint contributes: blocks per file, variables, outputs, diagram nodes."""

    blocks: list[tuple[str, Block]] = field(default_factory=list)
    variables: list[Block] = field(default_factory=list)
    outputs: list[Block] = field(default_factory=list)
    # diagram nodes: {"id", "label", "kind", "group"}
    nodes: list[dict[str, str]] = field(default_factory=list)
    providers: set[str] = field(default_factory=set)

    def add(self, file: str, *blocks: Block) -> None:
        self.blocks.extend((file, b) for b in blocks)

    def node(self, address: str, label: str, kind: str, group: str = "region") -> None:
        self.nodes.append({"id": address, "label": label, "kind": kind, "group": group})


@dataclass(frozen=True)
class BuildContext:
    """The requirements plus which blueprints the plan holds (to wire optional links)."""

    req: Requirements
    present: frozenset[str]

    def has(self, blueprint_id: str) -> bool:
        return blueprint_id in self.present

    def name(self, component: str, suffix: str = "") -> Any:
        """The resource name: the user's explicit name, else ``<project>-<env>-<suffix>``."""
        explicit = self.req.names.get(component)
        if explicit:
            return explicit
        return Template(local("name"), f"-{suffix}") if suffix else local("name")


Build = Callable[[BuildContext], Fragment]


@dataclass(frozen=True)
class Blueprint:
    id: str
    title: str
    concern: str
    why: str
    requires: tuple[str, ...]
    build: Build
    # soft dependencies: ordered after these when the plan holds them
    after: tuple[str, ...] = ()


CATALOG: dict[str, Blueprint] = {}


def blueprint(
    id: str, *, title: str, concern: str, why: str, requires: tuple[str, ...] = (), after: tuple[str, ...] = ()
) -> Callable[[Build], Build]:
    """Register a build function as a blueprint of the catalog."""

    def register(fn: Build) -> Build:
        if id in CATALOG:
            raise ValidationError(f"blueprint {id!r} registered twice")
        CATALOG[id] = Blueprint(id, title, concern, why, requires, fn, after)
        return fn

    return register


def tags(name: Any) -> dict[str, Any]:
    """A ``Name`` tag; the rest come from the provider's ``default_tags``."""
    return {"Name": name}


KMS_ARN = Ref("aws_kms_key", "main", "arn")
ALERTS = Ref("aws_sns_topic", "alerts", "arn")


def environment_skips(fragment: Fragment, req: Requirements) -> Fragment:
    """Outside production, cost wins over two production-grade checks, and says so."""
    if req.production:
        return fragment
    for _file, item in fragment.blocks:
        kind = item.labels[0] if item.type == "resource" and item.labels else ""
        if kind == "aws_cloudwatch_log_group":
            item.skip("CKV_AWS_338", f"{req.environment} environment: 30 days of logs keep cost down; production keeps a year")
        elif kind in {"aws_db_instance", "aws_rds_cluster"} and not item.attrs.get("multi_az", True):
            item.skip("CKV_AWS_157", f"{req.environment} environment: a single-AZ database halves cost; production is Multi-AZ")
        elif kind in {"aws_elasticache_replication_group"} and not item.attrs.get("multi_az_enabled", True):
            item.skip("CKV2_AWS_50", f"{req.environment} environment: one cache node; production adds a replica with failover")
        elif kind == "aws_cloudfront_distribution" and "web_acl_id" not in item.attrs:
            for check in ("CKV_AWS_68", "CKV2_AWS_47"):
                item.skip(check, f"{req.environment} environment: no WAF (≈ $10/month); production adds one")
        elif kind == "aws_lb":
            if "CKV2_AWS_28" not in item.skips and item.attrs.get("load_balancer_type") == "application":
                item.skip("CKV2_AWS_28", f"{req.environment} environment: no WAF (≈ $10/month); production adds one")
            item.skip("CKV_AWS_150", f"{req.environment} environment: no deletion protection, so it can be torn down freely")
    return fragment


def log_retention(ctx: BuildContext) -> int:
    """CloudWatch retention: a year in production (audits), a month elsewhere."""
    return 365 if ctx.req.production else 30
