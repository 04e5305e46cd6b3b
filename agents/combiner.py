"""The resource combiner: blueprint fragments -> one typed root module, its README and diagram.

The fragments arrive as data (each blueprint's, as the level executor checkpointed it); they
rebuild into their typed blocks, which go into one :class:`~core.terraform.model.Module` in the
conventional files: versions.tf (pinned providers, remote state backend), providers.tf
(default_tags), variables.tf, main.tf (locals), one file per concern, outputs.tf. The module
refuses an address defined twice, and is rendered once, at the end.
"""

from __future__ import annotations

from typing import Any

from agents.catalog import CATALOG, Fragment
from agents.catalog.shared import context_data_sources
from agents.requirements import Requirements
from agents.state import Design, Plan
from core.errors import ValidationError
from core.terraform.model import (
    Block,
    Module,
    Template,
    block,
    block_from_data,
    block_to_data,
    var,
    variable,
)

REQUIRED_VERSION = ">= 1.10"
PROVIDERS: dict[str, tuple[str, str]] = {
    "aws": ("hashicorp/aws", "~> 6.0"),
    "random": ("hashicorp/random", "~> 3.6"),
    "archive": ("hashicorp/archive", "~> 2.7"),
}


def aws_version() -> str:
    """The AWS provider constraint: the validation schema's version when it exposes one."""
    try:
        from core.terraform.schema import PROVIDER_VERSION  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 - the schema module is optional here
        return PROVIDERS["aws"][1]
    major, minor = str(PROVIDER_VERSION).split(".")[:2]
    return f"~> {major}.{minor}"


def fragment_data(fragment: Fragment) -> dict[str, Any]:
    """A fragment as plain data, safe to checkpoint; :func:`combine` rebuilds its typed blocks."""
    return {
        "blocks": [[file, block_to_data(item)] for file, item in fragment.blocks],
        "variables": [block_to_data(v) for v in fragment.variables],
        "outputs": [block_to_data(o) for o in fragment.outputs],
        "nodes": fragment.nodes,
        "providers": sorted(fragment.providers),
        "notes": list(fragment.notes),
        "required": dict(fragment.required),
        **({"why": fragment.why} if fragment.why else {}),
    }


def _versions(req: Requirements, providers: set[str]) -> Block:
    required = {"aws": {"source": PROVIDERS["aws"][0], "version": aws_version()}}
    for name in sorted(providers - {"us_east_1"}):
        source, version = PROVIDERS[name]
        required[name] = {"source": source, "version": version}
    backend = block(
        "backend",
        "s3",
        bucket=f"{req.project}-{req.environment}-tfstate",
        key=f"{req.project}/{req.environment}/terraform.tfstate",
        region=req.region,
        encrypted=True,
        use_lockfile=True,
    )
    terraform = Block("terraform", (), {"required_version": REQUIRED_VERSION})
    terraform.add(Block("required_providers", (), required), backend)
    terraform.comment = "State lives in S3 with native locking; create the bucket once (see README)."
    return terraform


def _providers(providers: set[str], extra_tags: dict[str, str]) -> list[Block]:
    """The AWS provider (and its us-east-1 alias when needed) tagging every resource."""
    base: dict[str, Any] = {"Project": var("project"), "Environment": var("environment"), "ManagedBy": "archops"}
    default_tags = block("default_tags", tags={**extra_tags, **base})
    out = [Block("provider", ("aws",), {"region": var("region")}, [default_tags])]
    if "us_east_1" in providers:
        out.append(
            Block("provider", ("aws",), {"alias": "us_east_1", "region": "us-east-1"}, [block("default_tags", tags=dict(default_tags.attrs["tags"]))])
        )
    return out


def _base_variables(req: Requirements) -> list[Block]:
    return [
        variable("project", "string", "Short project name used in resource names", req.project),
        variable("environment", "string", "Deployment environment", req.environment),
        variable("region", "string", "AWS region", req.region),
    ]


def _unique(kind: str, blocks: list[dict[str, Any]], seen: dict[str, dict[str, Any]]) -> list[Block]:
    """Variables or outputs by name: two blueprints may declare the same one alike, never differently."""
    out: list[Block] = []
    for data in blocks:
        name = data["labels"][0]
        if name in seen:
            if seen[name] != data:
                raise ValidationError(f"two blueprints declare the {kind} {name!r} differently")
            continue
        seen[name] = data
        out.append(block_from_data(data))
    return out


def described(plan: Plan, parts: dict[str, dict[str, Any]]) -> Plan:
    """The plan with what each part says it does in this design (``Fragment.why``) in place of
    its blueprint's usual words."""
    items = [item.model_copy(update={"why": why}) if isinstance(why := (parts.get(item.id) or {}).get("why"), str)
             and why else item for item in plan.items]
    return plan if items == plan.items else plan.model_copy(update={"items": items})


def combine(req: Requirements, plan: Plan, parts: dict[str, dict[str, Any]]) -> Design:
    """Assemble one module from the fragments, in plan order; its files, README and diagram."""
    plan = described(plan, parts)
    order = plan.ids
    module = Module()
    providers: set[str] = set()
    notes: list[str] = []
    required: dict[str, str] = {}
    variables: dict[str, dict[str, Any]] = {}
    outputs: dict[str, dict[str, Any]] = {}
    owned: dict[str, list[Block]] = {}
    declared = _unique("variable", [block_to_data(v) for v in _base_variables(req)], variables)
    answers: list[Block] = []
    written: dict[str, list[str]] = {}
    for bid in order:
        part = parts[bid]
        providers |= set(part["providers"])
        notes += [n for n in part.get("notes", []) if n not in notes]
        required.update(part.get("required", {}))
        owned[bid] = []
        # a part a model wrote arrives as reviewed Terraform text (agents.llm.extra), in its own file
        for file, texts in part.get("files", {}).items():
            written.setdefault(file, []).extend(texts)
        for file, data in part.get("blocks", []):
            item = block_from_data(data)
            module.add(file, item)
            owned[bid].append(item)
        declared += _unique("variable", [v for v in part["variables"] if isinstance(v, dict)], variables)
        answers += _unique("output", [o for o in part["outputs"] if isinstance(o, dict)], outputs)
    module.add("versions.tf", _versions(req, providers))
    module.add("providers.tf", *_providers(providers, req.tags))
    module.add("main.tf", Block("locals", (), {"name": Template(var("project"), "-", var("environment"))}), *context_data_sources())
    module.add("variables.tf", *declared)
    if answers:
        module.add("outputs.tf", *answers)
    module.addresses()  # one definition per address, or a ValidationError naming it
    files = module.render()
    for file, texts in written.items():
        files[file] = "\n\n".join([*([files[file].rstrip("\n")] if file in files else []), *texts]) + "\n"
    diagram = build_diagram(req, plan, parts, owned)
    files["README.md"] = readme(req, plan, diagram, notes)
    return Design(files=files, diagram=diagram, notes=notes, required=required)


def _address(item: Block) -> str | None:
    if item.type == "resource":
        return ".".join(item.labels)
    if item.type == "data":
        return "data." + ".".join(item.labels)
    return None


# the frame every design is drawn in; a blueprint adds the groups it owns (the VPC its tiers)
FRAME = [
    {"id": "global", "label": "Global (edge)", "parent": None},
    {"id": "account", "label": "Account", "parent": None},
]


def build_diagram(req: Requirements, plan: Plan, parts: dict[str, dict[str, Any]], owned: dict[str, list[Block]]) -> dict[str, Any]:
    """Nodes, edges (from references between blueprints) and nested groups for the web app."""
    order = plan.ids
    owner: dict[str, str] = {}
    primary: dict[str, str] = {}
    nodes: list[dict[str, Any]] = []
    for bid in order:
        for item in owned[bid]:
            address = _address(item)
            if address:
                owner[address] = bid
        for node in parts[bid]["nodes"]:
            nodes.append({**node, "blueprint": bid})
            primary.setdefault(bid, node["id"])
    edges: set[tuple[str, str]] = set()
    for bid in order:
        for item in owned[bid]:
            for ref in item.refs():
                target = owner.get(ref.address or "")
                if target and target != bid and bid in primary and target in primary:
                    edges.add((primary[bid], primary[target]))
    groups = [*FRAME, {"id": "region", "label": req.region, "parent": "account"}]
    for bid in order:
        groups += [g.as_dict() for g in (CATALOG[bid].groups if bid in CATALOG else ())]  # a model-written part draws in the region
    return {
        "nodes": nodes,
        "edges": [{"from": a, "to": b} for a, b in sorted(edges)],
        "groups": groups,
    }


def readme(req: Requirements, plan: Plan, diagram: dict[str, Any], notes: list[str] | None = None) -> str:
    """The module's README in the conversation's language (agents/messages)."""
    from agents.messages import t

    lang = req.language
    lines = [
        f"# {req.project} ({req.environment}, {req.region})",
        "",
        t("readme.intro", lang),
        "",
        t("readme.builds", lang),
        "",
    ]
    for item in plan.items:
        lines.append(f"- **{item.title}** (`{item.file}`): {item.why}")
    if req.assumed:
        lines += ["", t("readme.assumed", lang), ""]
        lines += [f"- `{k}` = `{v}`" for k, v in sorted(req.assumed.items())]
    if req.uploads:
        lines += ["", t("readme.uploads", lang), "", t("readme.uploads.how", lang), ""]
        for name in req.uploads:
            given = req.upload_paths.get(name)
            lines.append(f"- `{name}`" + (t("readme.uploads.given", lang, given=given) if given else ""))
    if notes:
        lines += ["", t("readme.before_apply", lang), ""]
        lines += [f"- {note}" for note in notes]
    lines += [
        "",
        t("readme.use", lang),
        "",
        t("readme.use.state", lang, project=req.project, environment=req.environment),
        t("readme.use.apply", lang),
        "",
        t("readme.diagram", lang, nodes=len(diagram["nodes"]), edges=len(diagram["edges"])),
        "",
    ]
    return "\n".join(lines)


