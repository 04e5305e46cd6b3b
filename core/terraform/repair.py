"""Deterministic repairs for the findings archops knows how to fix safely.

A repair is claimed only where the change is certain: a misspelt argument or attribute with one
close valid name, a bool written as "yes", a policy rule's own fix (encrypt the database, block
public access, move a literal secret out of the code...). Everything else stays a finding for a
person (or a model) to decide. Repaired files are formatted with ``terraform fmt`` and must still
parse, or the repair is dropped.
"""

from __future__ import annotations

import re

from core.terraform.edit import Edit, add_attribute, add_block, apply_edits, set_or_add, set_value
from core.terraform.findings import Finding, Review
from core.terraform.format import format_files
from core.terraform.parse import Item, ParsedModule, parse_module, terraform_diagnostics
from core.terraform.policy import RULES
from core.terraform.structure import Attribute, Block

_BOOL_WORDS = {"yes": "true", "no": "false", "on": "true", "off": "false", "enabled": "true",
               "disabled": "false", "True": "true", "False": "false"}


def _hint(finding: Finding) -> str | None:
    """The valid name a schema/reference finding suggested (``did you mean "x"?`` / ``use x``)."""
    fix = finding.fix
    if fix.startswith('did you mean "') and fix.endswith('"?'):
        return fix[len('did you mean "'):-2]
    if fix.startswith("use ") and " " not in fix[4:]:
        return fix[4:]
    return None


def _attr_at(block: Block, name: str, line: int) -> Attribute | None:
    attr = block.attrs.get(name)
    if attr is not None and (attr.line == line or line == 0):
        return attr
    for child in block.blocks:
        found = _attr_at(child, name, line)
        if found is not None:
            return found
    return None


def _schema_edit(item: Item, finding: Finding, text: str) -> tuple[Edit, str] | None:
    name = finding.argument.rsplit(".", 1)[-1]
    attr = _attr_at(item.block, name, finding.line)
    if attr is None:
        return None
    hint = _hint(finding)
    if finding.check_id == "schema_unknown_argument" and hint:
        return Edit(item.file, attr.start, attr.start + len(name), hint), f"renamed {name} to {hint}"
    if finding.check_id == "schema_wrong_type" and "expected bool" in finding.message:
        word = attr.text.strip('"')
        if word in _BOOL_WORDS:
            return set_value(item, attr, _BOOL_WORDS[word]), f"wrote {name} = {_BOOL_WORDS[word]}"
    if finding.check_id == "reference_dangling" and hint:
        old = finding.message.split(" refers to ")[-1].split(",")[0].split()[-1]
        pattern = re.compile(rf"(?<![\w.]){re.escape(old)}(?![\w-])")
        if pattern.search(attr.text):
            return set_value(item, attr, pattern.sub(hint, attr.text)), f"replaced {old} with {hint}"
    if finding.check_id == "reference_unknown_attribute" and hint:
        target, good = hint.rsplit(".", 1)
        wrong = finding.message.split('"')[1]
        pattern = re.compile(rf"(?<![\w.])({re.escape(target)}(?:\[[^\]]*\])?)\.{re.escape(wrong)}(?![\w-])")
        if pattern.search(attr.text):
            new_text = pattern.sub(lambda m: f"{m.group(1)}.{good}", attr.text)
            return set_value(item, attr, new_text), f"replaced {target}.{wrong} with {hint}"
    return None


_SPLAT = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*\.[A-Za-z_][\w-]*)\[\*\]\.([A-Za-z_][\w-]*)")


def _attrs_on_line(block: Block, line: int) -> list[Attribute]:
    found = [a for a in block.attrs.values() if a.line <= line <= a.line + a.text.count("\n")]
    for child in block.blocks:
        found += _attrs_on_line(child, line)
    return found


def _splat_edit(module: ParsedModule, item: Item, finding: Finding) -> tuple[Edit, str] | None:
    """Terraform refused a splat over a ``for_each`` resource (its instances are a map): the same
    list, written as a for expression. A splat over a ``count`` resource is left as it is."""
    if finding.check_id != "terraform_plan" or "does not have an attribute named" not in finding.message:
        return None
    for attr in _attrs_on_line(item.block, finding.line):
        def over_for_each(m: re.Match[str]) -> str:
            target = module.get(m.group(1))
            if target is None or "for_each" not in target.block.attrs:
                return m.group(0)
            return f"[for r in {m.group(1)} : r.{m.group(2)}]"

        new_text = _SPLAT.sub(over_for_each, attr.text)
        if new_text != attr.text:
            return set_value(item, attr, new_text), (
                f"{item.address}.{attr.name}: a splat over a for_each resource became a for expression")
    return None


def _keep_desired_count(module: ParsedModule, item: Item) -> tuple[Edit, str] | None:
    """An autoscaled ECS service: apply must leave desired_count to the autoscaler."""
    text = module.files[item.file]
    what = f"{item.address}: lifecycle ignores desired_count (the autoscaler owns it)"
    lifecycles = item.block.children("lifecycle")
    if not lifecycles:
        return add_block(item, item.block, "lifecycle", {"ignore_changes": "[desired_count]"},
                         text), what
    current = lifecycles[0].attrs.get("ignore_changes")
    if current is None:
        return add_attribute(item, lifecycles[0], "ignore_changes", "[desired_count]", text), what
    inner = current.text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        items = [x for x in (p.strip() for p in inner[1:-1].split(",")) if x]
        return set_value(item, current, "[" + ", ".join([*items, "desired_count"]) + "]"), what
    return None


def _referrers(module: ParsedModule, rtype: str, target: str) -> list[Item]:
    return [i for i in module.resources if i.type == rtype and any(r.target == target for r in i.references)]


def _targets(item: Item, argument: str, prefix: str) -> list[str]:
    return list(dict.fromkeys(r.target for r in item.references if r.argument == argument and r.target.startswith(prefix)))


def _literal_int(item: Item, name: str, default: int) -> int:
    value = item.values.get(name, default)
    return value if isinstance(value, int) else default


def _visibility_timeout(module: ParsedModule, item: Item) -> tuple[Edit, str] | None:
    """A queue a function reads: its visibility timeout becomes six times the longest timeout
    of the functions reading it, as AWS recommends."""
    timeouts = [_literal_int(fn, "timeout", 3)
                for mapping in _referrers(module, "aws_lambda_event_source_mapping", item.address)
                for target in _targets(mapping, "function_name", "aws_lambda_function.")
                if (fn := module.get(target)) is not None]
    if not timeouts:
        return None
    seconds = min(43200, 6 * max(timeouts))
    edit = set_or_add(item, item.block, "visibility_timeout_seconds", str(seconds), module.files[item.file])
    return edit, f"{item.address}: visibility_timeout_seconds = {seconds} (six times the function's timeout)"


def _wait_for_role_policies(module: ParsedModule, item: Item) -> tuple[Edit, str] | None:
    """A function (or its event source mapping) waits for its role's policies."""
    functions = [item] if item.type == "aws_lambda_function" else \
        [fn for t in _targets(item, "function_name", "aws_lambda_function.") if (fn := module.get(t)) is not None]
    roles = {t for fn in functions for t in _targets(fn, "role", "aws_iam_role.")}
    policies = sorted({p.address for role in roles for rtype in ("aws_iam_role_policy", "aws_iam_role_policy_attachment")
                       for p in _referrers(module, rtype, role)})
    if not policies:
        return None
    current = item.block.attrs.get("depends_on")
    text = module.files[item.file]
    what = f"{item.address}: depends_on its role's policies ({', '.join(policies)})"
    if current is None:
        return add_attribute(item, item.block, "depends_on", "[" + ", ".join(policies) + "]", text), what
    inner = current.text.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        return None
    listed = [x for x in (part.strip() for part in inner[1:-1].split(",")) if x]
    return set_value(item, current, "[" + ", ".join(dict.fromkeys([*listed, *policies])) + "]"), what


_SILENT_EXPORTS = re.compile(r"^exports the ([a-z, ]+) log,")


def _only_enabled_exports(item: Item, finding: Finding) -> tuple[Edit, str] | None:
    """A database exports only the logs its parameter group switches on."""
    m = _SILENT_EXPORTS.match(finding.message)
    attr = item.block.attrs.get("enabled_cloudwatch_logs_exports")
    exported = item.values.get("enabled_cloudwatch_logs_exports")
    if m is None or attr is None or not isinstance(exported, list):
        return None
    silent = {k.strip() for k in m.group(1).split(",")}
    kept = [str(x) for x in exported if str(x) not in silent]
    value = "[" + ", ".join(f'"{k}"' for k in kept) + "]"
    return set_value(item, attr, value), f"{item.address}: exports only {', '.join(kept) or 'nothing'} (what its parameters switch on)"


def _keys(review: Review) -> set[tuple[str, str]]:
    return {(f.check_id, f.address) for f in review.failing}


def _policy_edits(module: ParsedModule, review: Review) -> list[tuple[Edit, str]]:
    wanted = _keys(review)
    out: list[tuple[Edit, str]] = []
    for rule in RULES:
        if rule.repair is None:
            continue
        ids = {rule.id, *rule.checkov}
        hits = [h for h in rule.evaluate(module)
                if any((i, h.item.address) in wanted for i in ids)
                and not any(c in h.item.skips for c in ids)]
        for hit in hits:
            what = f"{rule.id} {'.'.join(p for p in (hit.item.address, hit.argument) if p)}: {rule.fix}"
            out += [(edit, what) for edit in rule.repair(hit, module)]
    return out


def repair(files: dict[str, str], review: Review) -> tuple[dict[str, str], list[str]]:
    """Apply every known repair for the review's failing findings; returns (files, what fixed)."""
    module = parse_module(files)
    if not module.ok:
        return dict(files), []
    planned: list[tuple[Edit, str]] = []
    for finding in review.failing:
        item = module.get(finding.address)
        if item is None:
            continue
        if finding.check_id == "terraform_plan":
            planned += [e for e in [_splat_edit(module, item, finding)] if e]
        elif finding.check_id == "DEPLOY_ECS_DESIRED_COUNT":
            planned += [e for e in [_keep_desired_count(module, item)] if e]
        elif finding.check_id == "DEPLOY_SQS_VISIBILITY_TIMEOUT":
            planned += [e for e in [_visibility_timeout(module, item)] if e]
        elif finding.check_id == "DEPLOY_LAMBDA_ROLE_ORDER":
            planned += [e for e in [_wait_for_role_policies(module, item)] if e]
        elif finding.check_id == "DEPLOY_RDS_LOG_EXPORTS":
            planned += [e for e in [_only_enabled_exports(item, finding)] if e]
        elif finding.check_id.startswith(("schema_", "reference_")):
            planned += [e for e in [_schema_edit(item, finding, module.files[item.file])] if e]
    planned += _policy_edits(module, review)
    if not planned:
        return dict(files), []
    new_files = apply_edits(files, [edit for edit, _ in planned])
    if terraform_diagnostics({k: v for k, v in new_files.items() if k.endswith(".tf")}):
        return dict(files), []  # a repair must never break the module
    fixed = list(dict.fromkeys(what for _, what in planned))
    return format_files(new_files), fixed
