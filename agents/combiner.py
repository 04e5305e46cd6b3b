"""The resource combiner: blueprint fragments -> one root module, its README and diagram graph.

Conventional files: versions.tf (pinned providers, remote state backend), providers.tf
(default_tags), variables.tf, main.tf (locals), one file per concern, outputs.tf.
"""

from __future__ import annotations

from typing import Any

from agents.catalog import Fragment
from agents.catalog.shared import context_data_sources
from agents.requirements import Requirements
from core.terraform.hcl import render_block, render_file
from core.terraform.model import Block, Template, block, var, variable

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


def render_fragment(fragment: Fragment) -> dict[str, Any]:
    """A fragment as plain data (rendered HCL per file), safe to checkpoint."""
    files: dict[str, list[str]] = {}
    addresses: dict[str, list[str]] = {}
    for file, item in fragment.blocks:
        files.setdefault(file, []).append(render_block(item))
        if item.type in {"resource", "data"}:
            address = ".".join(item.labels) if item.type == "resource" else "data." + ".".join(item.labels)
            addresses[address] = sorted({r.address for r in item.refs() if r.address})
    return {
        "files": files,
        "variables": [[v.labels[0], render_block(v)] for v in fragment.variables],
        "outputs": [[o.labels[0], render_block(o)] for o in fragment.outputs],
        "nodes": fragment.nodes,
        "providers": sorted(fragment.providers),
        "addresses": addresses,
        "notes": list(fragment.notes),
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


def combine(req: Requirements, plan: dict[str, Any], scripts: dict[str, Any]) -> dict[str, Any]:
    """Assemble the module files, README and diagram from rendered fragments, in plan order."""
    order = [item["id"] for item in plan["items"]]
    providers: set[str] = set()
    concern_files: dict[str, list[str]] = {}
    variables: dict[str, str] = {}
    outputs: dict[str, str] = {}
    notes: list[str] = []
    for bid in order:
        part = scripts[bid]
        providers |= set(part["providers"])
        notes += [n for n in part.get("notes", []) if n not in notes]
        for file, texts in part["files"].items():
            concern_files.setdefault(file, []).extend(texts)
        for name, text in part["variables"]:
            variables.setdefault(name, text)
        for name, text in part["outputs"]:
            outputs.setdefault(name, text)
    files = {
        "versions.tf": render_file([_versions(req, providers)]),
        "providers.tf": render_file(_providers(providers, req.tags)),
        "main.tf": render_file([Block("locals", (), {"name": Template(var("project"), "-", var("environment"))}), *context_data_sources()]),
        "variables.tf": "\n\n".join([render_block(v) for v in _base_variables(req)] + list(variables.values())) + "\n",
    }
    for file, texts in concern_files.items():
        files[file] = "\n\n".join(texts) + "\n"
    if outputs:
        files["outputs.tf"] = "\n\n".join(outputs.values()) + "\n"
    diagram = build_diagram(req, order, scripts)
    files["README.md"] = readme(req, plan, diagram, notes)
    return {"files": files, "diagram": diagram}


def build_diagram(req: Requirements, order: list[str], scripts: dict[str, Any]) -> dict[str, Any]:
    """Nodes, edges (from references between blueprints) and nested groups for the web app."""
    owner: dict[str, str] = {}
    primary: dict[str, str] = {}
    nodes: list[dict[str, Any]] = []
    for bid in order:
        part = scripts[bid]
        for address in part["addresses"]:
            owner[address] = bid
        for node in part["nodes"]:
            nodes.append({**node, "blueprint": bid})
            primary.setdefault(bid, node["id"])
    edges: set[tuple[str, str]] = set()
    for bid in order:
        for _address, refs in scripts[bid]["addresses"].items():
            for ref in refs:
                target = owner.get(ref)
                if target and target != bid and bid in primary and target in primary:
                    edges.add((primary[bid], primary[target]))
    groups = [
        {"id": "global", "label": "Global (edge)", "parent": None},
        {"id": "account", "label": "Account", "parent": None},
        {"id": "region", "label": req.region, "parent": "account"},
    ]
    if "vpc" in order:
        groups.append({"id": "vpc", "label": "VPC", "parent": "region"})
        for tier in ("public", "private", "data"):
            groups.append({"id": tier, "label": f"{tier} subnets", "parent": "vpc", "azs": "one per AZ"})
    return {
        "nodes": nodes,
        "edges": [{"from": a, "to": b} for a, b in sorted(edges)],
        "groups": groups,
    }


def readme(req: Requirements, plan: dict[str, Any], diagram: dict[str, Any], notes: list[str] | None = None) -> str:
    lines = [
        f"# {req.project} ({req.environment}, {req.region})",
        "",
        "Terraform generated by archops: a Well-Architected baseline for the request below.",
        "",
        "## What it builds and why",
        "",
    ]
    for item in plan["items"]:
        lines.append(f"- **{item['title']}** (`{item['file']}`): {item['why']}")
    if req.assumed:
        lines += ["", "## Assumed defaults", ""]
        lines += [f"- `{k}` = `{v}`" for k, v in sorted(req.assumed.items())]
    if req.uploads:
        lines += ["", "## Files to upload", "",
                  "Put these files in this folder, next to the `.tf` files, before `terraform plan`; "
                  "the module reads files only from inside itself (`${path.module}/NAME`).", ""]
        for name in req.uploads:
            given = req.upload_paths.get(name)
            lines.append(f"- `{name}`" + (f" (asked for as `{given}`)" if given else ""))
    if notes:
        lines += ["", "## Set before you apply", ""]
        lines += [f"- {note}" for note in notes]
    lines += [
        "",
        "## Use it",
        "",
        f"1. Create the state bucket `{req.project}-{req.environment}-tfstate` once (versioned, encrypted); its state key "
        f"`{req.project}/{req.environment}/terraform.tfstate` is this project's and environment's own. S3 bucket names are "
        "global: if the name is taken, pick another and pass it with `terraform init -backend-config=\"bucket=NAME\"`. "
        "The module's own buckets carry the account id in their names.",
        "2. `terraform init && terraform plan`, review, then apply through your usual pipeline.",
        "3. Secrets are created empty or generated by AWS; fill them in Secrets Manager, never in code.",
        "",
        f"The diagram has {len(diagram['nodes'])} components and {len(diagram['edges'])} connections.",
        "",
    ]
    return "\n".join(lines)


