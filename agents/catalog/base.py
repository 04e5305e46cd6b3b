"""What a blueprint is: a typed, Well-Architected building block that renders Terraform blocks.

A blueprint declares the concern (file) it writes to, the blueprints it depends on, why its
defaults are what they are, and a ``build`` function from requirements to a :class:`Fragment`
of typed blocks. Adding a blueprint is adding one decorated function to the catalog.

Blueprints ask, shared resources assemble: a fragment records the :class:`~agents.catalog.shared.Grant`
objects its blueprint asks of shared resources (the key, the log bucket, the alert topic) next
to the block that needs them, and the blueprint owning a shared resource registers an
assembler that turns every grant the design's blueprints ask into its policy. The owner finds
them by building the other blueprints of the plan (pure functions of the context), so nothing
central has to learn about a new blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agents.requirements import Requirements
from core.errors import ValidationError
from core.terraform.model import Block, Template, local

if TYPE_CHECKING:
    from agents.catalog.shared import Ask, Shared


@dataclass
class Fragment:
    """What one blueprint contributes: blocks per file, variables, outputs, diagram nodes."""

    blocks: list[tuple[str, Block]] = field(default_factory=list)
    variables: list[Block] = field(default_factory=list)
    outputs: list[Block] = field(default_factory=list)
    # diagram nodes: {"id", "label", "kind", "group"}
    nodes: list[dict[str, str]] = field(default_factory=list)
    providers: set[str] = field(default_factory=set)
    # what this blueprint asks of shared resources, and the shared resources it assembles
    asks: list[Ask] = field(default_factory=list)
    assemblers: list[tuple[Shared, Callable[[list[Ask]], None]]] = field(default_factory=list)
    # what the README must tell the team to do before or after apply
    notes: list[str] = field(default_factory=list)

    def add(self, file: str, *blocks: Block) -> None:
        self.blocks.extend((file, b) for b in blocks)

    def ask(self, *grants: Ask) -> None:
        """Ask shared resources for grants (each grant names the resource it is asked of)."""
        self.asks.extend(grants)

    def assemble(self, shared: Shared, finish: Callable[[list[Ask]], None]) -> None:
        """Own ``shared``: ``finish`` receives every grant the design asks of it, once built."""
        self.assemblers.append((shared, finish))

    def node(self, address: str, label: str, kind: str, group: str = "region") -> None:
        self.nodes.append({"id": address, "label": label, "kind": kind, "group": group})


@dataclass(frozen=True)
class BuildContext:
    """The requirements plus which blueprints the plan holds (to wire optional links)."""

    req: Requirements
    present: frozenset[str]
    # the blueprints being built up the stack (the innermost last), and the shared resource
    # whose grants are being gathered (None: a real build)
    chain: tuple[str, ...] = ()
    gathering: str | None = None

    def has(self, blueprint_id: str) -> bool:
        return blueprint_id in self.present

    def asked_of(self, shared: Shared) -> list[Ask]:
        """Every ask the other blueprints of the plan make of ``shared``, in a stable order.

        Each is built (with its own assemblers only where they forward grants to ``shared``);
        blueprints up the stack are not built again, so a chain of forwarding ends.
        """
        out: list[Ask] = []
        for bid in sorted(self.present - set(self.chain)):
            if bid not in CATALOG:
                continue
            fragment = CATALOG[bid].fragment(replace(self, gathering=shared.id))
            out.extend(g for g in fragment.asks if g.to == shared.id)
        return out

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

    def fragment(self, ctx: BuildContext) -> Fragment:
        """Build, then assemble the shared resources this blueprint owns from what is asked."""
        from agents.catalog.shared import merge_grants

        ctx = replace(ctx, chain=(*ctx.chain, self.id))
        out = self.build(ctx)
        for shared, finish in out.assemblers:
            if ctx.gathering is not None and ctx.gathering not in shared.forwards_to:
                continue  # only gathering grants: this policy is not needed
            own = [g for g in out.asks if g.to == shared.id]
            finish(merge_grants([*own, *ctx.asked_of(shared)]))
        return out


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


def environment_skips(fragment: Fragment, req: Requirements) -> Fragment:
    """Outside production, cost wins over two production-grade checks, and says so."""
    if req.production:
        return fragment
    for _file, item in fragment.blocks:
        kind = item.labels[0] if item.type == "resource" and item.labels else ""
        if kind == "aws_cloudwatch_log_group":
            item.skip("CKV_AWS_338", f"{req.environment} environment: 30 days of logs keep cost down; production keeps a year")
        elif kind in {"aws_db_instance", "aws_rds_cluster"}:
            if not item.attrs.get("multi_az", True):
                item.skip("CKV_AWS_157", f"{req.environment} environment: a single-AZ database halves cost; production is Multi-AZ")
            if item.attrs.get("deletion_protection") is False:
                item.skip("CKV_AWS_293" if kind == "aws_db_instance" else "CKV_AWS_139",
                          f"{req.environment} environment: no deletion protection, so the stack can be torn down; production has it")
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
