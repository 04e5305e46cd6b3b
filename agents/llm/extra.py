"""Terraform the model writes for a part the catalog lacks, and the review it must pass.

The model gets the part (its resource types), those types' provider schema and what the module
already holds. What it writes must parse and keep to the part (only its resource types, only
``resource``, ``data`` and ``output`` blocks, no provisioners, no name taken); then the module
the catalog built, with this file added, goes through the same review as every module
(:func:`core.terraform.review.review_module`: schema, references, offline plan, deploy, policy,
checkov, with the worker's checks). Each failing finding in the file goes back to the model in
Terraform's and the review's own words, for at most ``repair_rounds`` rounds. A file that is
still not clean is left out and reported under "Not built"; it is never shipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.llm import prompts
from agents.llm.steps import Rejected, Step
from agents.llm.words import say
from agents.requirements import Requirements

if TYPE_CHECKING:
    from agents.llm.engine import RequestEngine

ALLOWED_BLOCKS = frozenset({"resource", "data", "output"})
FORBIDDEN_DATA = frozenset({"external", "http"})


def review_findings(files: dict[str, str], checks: set[str] | None) -> list[dict[str, Any]]:
    """The review's findings of a module (runs in the worker's CPU pool)."""
    from core.terraform.review import review_module

    wanted = None if checks is None else set(checks) | {"parse"}
    return [f.model_dump() for f in review_module(files, wanted).findings]


def module_addresses(files: dict[str, str]) -> list[str]:
    """Every resource and data source address of a module (what model Terraform may refer to)."""
    from core.terraform.parse import parse_module

    module = parse_module(files)
    return sorted(i.address for i in module.items if i.kind in {"resource", "data"})


def precheck(text: str, *, file: str, types: list[str], taken: set[str]) -> str:
    """The model's file if it keeps to its part (formatted as ``terraform fmt`` writes it)."""
    from core.errors import TerraformError
    from core.terraform.format import format_hcl
    from core.terraform.parse import parse_module

    if not text.strip():
        raise Rejected("the answer holds no Terraform")
    module = parse_module({file: text})
    if module.diagnostics:
        raise Rejected("Terraform cannot parse it: " + "; ".join(f"line {d.line}: {d.message}" for d in module.diagnostics[:6]))
    problems: list[str] = []
    for _file, top in module.blocks:
        if top.type not in ALLOWED_BLOCKS:
            problems.append(f"a {top.type} block (line {top.line}): only resource, data and output blocks belong here")
    for item in module.items:
        if item.kind == "resource" and item.type not in types:
            problems.append(f"resource type {item.type} is not one of this part's types {types}")
        if item.kind == "data" and item.type in FORBIDDEN_DATA:
            problems.append(f"data source {item.type} is not allowed")
        if item.kind in {"resource", "data"} and item.address in taken:
            problems.append(f"{item.address} already exists in the module; name it differently")
        if item.block.children("provisioner") or item.block.children("connection"):
            problems.append(f"{item.address} has a provisioner; archops' modules run no commands")
    if not any(i.kind == "resource" for i in module.items):
        problems.append("it declares no resource")
    if problems:
        raise Rejected("; ".join(problems[:8]))
    try:
        return format_hcl(text)
    except TerraformError as exc:
        raise Rejected(f"terraform fmt refused it: {exc.hint or exc.message}") from exc


def script(text: str, *, file: str, title: str, note: str) -> dict[str, Any]:
    """The part as the combiner takes a rendered blueprint."""
    from core.terraform.parse import parse_module

    module = parse_module({file: text})
    addresses = {i.address: sorted({r.target for r in i.references if r.target.startswith(("aws_", "data."))})
                 for i in module.items if i.kind in {"resource", "data"}}
    nodes = [{"id": i.address, "label": f"{title} ({i.type})", "kind": "extra", "group": "region"}
             for i in module.items if i.kind == "resource"]
    return {"files": {file: [text.rstrip("\n")]}, "variables": [], "outputs": [], "nodes": nodes, "providers": [],
            "addresses": addresses, "notes": [note]}


def dropped(title: str, why: str) -> dict[str, Any]:
    return {"files": {}, "variables": [], "outputs": [], "nodes": [], "providers": [], "addresses": {}, "notes": [],
            "not_built": [[title, why]]}


async def write_extra(engine: RequestEngine, item: dict[str, Any], req: Requirements) -> dict[str, Any]:
    """The script of one model-written part: reviewed clean, or dropped with the reason."""
    from agents.combiner import combine, fragment_data
    from agents.state import Plan, PlanItem

    lang = req.language
    file = f"extra_{item['id']}.tf"
    catalog_ids = [i for i in engine.fragments]
    plan = Plan(items=[PlanItem(id=b, title=b, why="", file=b) for b in catalog_ids], levels=[catalog_ids])
    scripts = {b: fragment_data(engine.fragments[b]) for b in catalog_ids}
    base = (await engine.offload(combine, req, plan, scripts)).files if catalog_ids else {}
    taken = set(await engine.offload(module_addresses, base)) if base else set()
    excerpt = prompts.schema_excerpt(item["resource_types"])
    context = {"addresses": sorted(taken)[:80], "locals": ["name"], "variables": ["project", "environment", "region"],
               "region": req.region, "environment": req.environment}
    types = list(item["resource_types"])

    def check(text: str) -> str:
        return precheck(text, file=file, types=types, taken=taken)

    await engine.ctx.emit("status", say("writing", lang, title=item["title"]), node="level_executor", step="hcl")
    text, why = await engine.asker.ask(Step("hcl", f"hcl:{item['id']}:0", prompts.hcl(item, excerpt=excerpt, context=context, file=file), None, check))
    rounds = engine.shared.repair_rounds
    for round_no in range(1, rounds + 2):
        if text is None:
            return dropped(item["title"], say("extra.no_model", lang, why=why))
        found = await engine.offload(review_findings, {**base, file: text}, engine.review_checks)
        problems = [_problem(f) for f in found if f.get("file") == file and _failing(f)]
        if not problems:
            note = say("extra.note", lang, file=file, title=item["title"], model=engine.usage.model)
            return script(text, file=file, title=item["title"], note=note)
        if round_no > rounds:
            return dropped(item["title"], say("extra.not_clean", lang, rounds=rounds, problem=problems[0]["message"]))
        messages = prompts.hcl_repair(text, problems, excerpt=excerpt, file=file)
        text, why = await engine.asker.ask(Step("hcl_repair", f"hcl:{item['id']}:{round_no}", messages, None, check))
    raise AssertionError("unreachable")  # pragma: no cover


def _failing(finding: dict[str, Any]) -> bool:
    from core.terraform.findings import FAILING

    return str(finding.get("severity")) in FAILING and not finding.get("skip_reason")


def _problem(finding: dict[str, Any]) -> dict[str, Any]:
    return {k: finding[k] for k in ("check_id", "line", "address", "argument", "message", "fix") if finding.get(k)}
