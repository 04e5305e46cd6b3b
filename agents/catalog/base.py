"""What a blueprint is: a typed, Well-Architected building block that renders Terraform blocks.

A blueprint declares everything about itself in one place, the ``@blueprint(...)`` decorator:
the concern (file) it writes to, the blueprints it depends on, why its defaults are what they
are, the component title a plan and a README show, the words a request names it by, the
planner's facts (:class:`Facts`: which requests call for it, what it brings along, whether it
fits the rest of the design, whether a user may name or remove it), the diagram groups it draws,
and a ``build`` function from requirements to a :class:`Fragment` of typed blocks (its
environment and region variations included). Adding a blueprint is adding one file with one
decorated function: nothing central knows the catalog's members.

Blueprints ask, shared resources assemble: a fragment records the :class:`~agents.catalog.shared.Grant`
objects its blueprint asks of shared resources (the key, the log bucket, the alert topic) next
to the block that needs them, and the blueprint owning a shared resource registers an
assembler that turns every grant the design's blueprints ask into its policy. The owner finds
them by building the other blueprints of the plan (pure functions of the context), so nothing
central has to learn about a new blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agents.requirements import Requirements
from core.errors import ValidationError
from core.terraform.model import Block, Call, Ref, Template, local

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
    # variables with no default the team must set before apply: name -> what it is for (the
    # README and the reply both say them)
    required: dict[str, str] = field(default_factory=dict)
    # what this design's instance does, when it is not what the blueprint's ``why`` says of the
    # usual case (the README, the reply and the pull request show it)
    why: str | None = None

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

    def program(self) -> Program | None:
        """What the application is when a blueprint of the plan brings it (WordPress, a model
        server), else None: the team runs its own image."""
        return next((CATALOG[b].program for b in sorted(self.present) if b in CATALOG and CATALOG[b].program), None)

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
        """The resource name: the user's explicit name, else ``<project>-<env>-<suffix>``.

        Names are unique per account and region, so an explicit name outside production carries
        the environment (``jobs-staging``): a staging stack beside production never takes its
        names (the README says so).
        """
        explicit = self.explicit(component)
        if explicit:
            return explicit
        return Template(local("name"), f"-{suffix}") if suffix else local("name")

    def explicit(self, component: str) -> str | None:
        """The name the user gave ``component``, with the environment outside production."""
        given = self.req.names.get(component)
        if not given or self.req.production or self.req.environment is None:
            return given
        return given if given.endswith(f"-{self.req.environment}") else f"{given}-{self.req.environment}"

    def short_name(self, component: str, suffix: str, limit: int) -> Any:
        """A name AWS limits to ``limit`` characters (a load balancer's 32): the usual name when
        the project's fits, else cut to the limit (never ending in ``-``)."""
        explicit = self.explicit(component)
        if explicit:
            return explicit[:limit].rstrip("-")
        usual = f"{self.req.project}-{self.req.environment}-{suffix}"
        if len(usual) <= limit:
            return Template(local("name"), f"-{suffix}")
        return Call("trim", Call("substr", Template(local("name"), f"-{suffix}"), 0, limit), "-")


Build = Callable[[BuildContext], Fragment]
# whether the requirements (and the blueprints chosen so far) call for a blueprint
Predicate = Callable[[Requirements, AbstractSet[str]], bool]


def always(_req: Requirements, _chosen: AbstractSet[str]) -> bool:
    return True


def never(_req: Requirements, _chosen: AbstractSet[str]) -> bool:
    return False


def nothing(_req: Requirements) -> tuple[str, ...]:
    return ()


SERVERS = frozenset({"ecs", "asg", "ec2"})


def runs_on(req: Requirements) -> str | None:
    """The compute a workload runs on: what the request names, else the workload's default
    (containers for a web app, a function for an API, a worker or a pipeline)."""
    kind, compute = req.workload, req.compute
    if kind == "web_app":
        return compute if compute in {*SERVERS, "lambda"} else "ecs"
    if kind == "api":
        return compute if compute in SERVERS else "lambda"
    if kind == "worker":
        return compute if compute in {*SERVERS, "lambda"} else "lambda"
    if kind == "data_pipeline":
        return "lambda"
    if kind == "custom":
        return compute
    return None


def hardened(req: Requirements) -> bool:
    """Production and compliance designs get the account's audit and threat detection."""
    return req.production or bool(req.compliance)


@dataclass(frozen=True)
class Facts:
    """What the planner knows of a blueprint (:mod:`agents.planner` reads only these).

    ``wanted``: the request calls for it (its workload, its environment, a data store it
    names), given the blueprints chosen so far; ``implies``: what it brings along for these
    requirements; ``fits``: whether it can be in the design with the rest of the blueprints
    (a WAF needs something to guard); ``direct``: a user naming the component gets it;
    ``removable``: a user may take it away ("without a cache").
    """

    wanted: Predicate = never
    implies: Callable[[Requirements], tuple[str, ...]] = nothing
    fits: Predicate = always
    direct: bool = False
    removable: bool = False


@dataclass(frozen=True)
class Program:
    """What the application is when a blueprint brings it (WordPress, a model server) instead of
    the team's own image; the compute, the load balancer and the database read it.

    The compute runs it (ECS: ``image``, pinned by tag, on ``architecture``; instances: the AMI
    from the public SSM parameter ``ami_parameter``, ``instance_type`` unless the request names
    one, a ``root_gb`` root volume, started by the ``user_data`` local the blueprint defines);
    the load balancer forwards to ``port`` and asks ``health_path`` for ``health_codes``, gives a
    response ``timeout`` seconds, and a new task or instance ``warmup`` seconds before its health
    counts. ``writable_root`` says why the container's root file system stays writable (None: it
    is read-only); ``requests_per_target`` makes the group scale on the load balancer's requests
    per target each minute instead of CPU; ``database`` is the engine family it needs;
    ``large_bodies`` says its requests carry more than a WAF's 8 KB body limit.
    """

    title: str
    port: int
    health_path: str = "/"
    health_codes: str = "200-399"
    timeout: int = 60
    warmup: int = 60
    image: str | None = None
    architecture: str = "ARM64"
    writable_root: str | None = None
    # the smallest task (CPU units, MiB) it runs well in
    task_size: tuple[int, int] | None = None
    ami_parameter: str | None = None
    instance_type: str | None = None
    root_gb: int | None = None
    user_data: Ref | None = None
    requests_per_target: int | None = None
    database: str | None = None
    # its requests carry bodies over 8 KB (uploads, long prompts): the WAF counts them, not blocks
    large_bodies: bool = False


@dataclass(frozen=True)
class Group:
    """A diagram group (a cluster the web app draws) that a blueprint's nodes sit in."""

    id: str
    label: str
    parent: str | None
    azs: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "label": self.label, "parent": self.parent}
        if self.azs:
            out["azs"] = self.azs
        return out


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
    # what the component id means in plans and READMEs; None: a user never names it
    component: str | None = None
    # the words (a regular expression) a request names it by
    words: str | None = None
    facts: Facts = Facts()
    # the diagram groups it draws (its nodes name them)
    groups: tuple[Group, ...] = ()
    # the application it brings for the compute to run (None: it brings none)
    program: Program | None = None

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
    id: str,
    *,
    title: str,
    concern: str,
    why: str,
    requires: tuple[str, ...] = (),
    after: tuple[str, ...] = (),
    component: str | None = None,
    words: str | None = None,
    facts: Facts | None = None,
    groups: tuple[Group, ...] = (),
    program: Program | None = None,
) -> Callable[[Build], Build]:
    """Register a build function as a blueprint of the catalog, with everything it owns."""

    def register(fn: Build) -> Build:
        if id in CATALOG:
            raise ValidationError(f"blueprint {id!r} registered twice")
        CATALOG[id] = Blueprint(id, title, concern, why, requires, fn, after, component, words, facts or Facts(), groups, program)
        return fn

    return register


def components() -> dict[str, str]:
    """Component id -> what it means, for every blueprint a user may name."""
    return {bid: bp.component for bid, bp in sorted(CATALOG.items()) if bp.component}


def component_words() -> list[tuple[str, str]]:
    """(component id, the words a request names it by) for every blueprint that has words."""
    return [(bid, bp.words) for bid, bp in CATALOG.items() if bp.words]


def tags(name: Any) -> dict[str, Any]:
    """A ``Name`` tag; the rest come from the provider's ``default_tags``."""
    return {"Name": name}


def log_retention(ctx: BuildContext) -> int:
    """CloudWatch retention: a year in production (audits), a month elsewhere."""
    return 365 if ctx.req.production else 30


def outside_production(ctx: BuildContext, item: Block, check: str, why: str) -> None:
    """Outside production, cost wins over a production-grade check, and the block says so."""
    if not ctx.req.production:
        item.skip(check, f"{ctx.req.environment} environment: {why}")
