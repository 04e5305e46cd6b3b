"""Execution and exfiltration: what in a module runs code, reads files or reaches hosts on the
machine that plans or applies it.

A Terraform module is code for the machine that runs ``terraform plan`` / ``apply`` (a laptop, a
CI runner holding cloud credentials): provisioners run commands, ``data "external"`` runs a
program at every plan, ``data "http"`` sends requests anywhere, ``file()`` and friends read any
file the user can read and put it into the plan, the state or a bucket, and module and provider
sources download code that runs with the same rights. None of these belongs in an archops
design, and each is a failing security finding of the review.

What an operator may allow lives in :class:`Allowances` (from settings; empty by default, so
everything here fails). A written ``archops:skip`` does *not* waive these rules: the author of a
module being reviewed must not be the one who decides that its commands are fine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from core.terraform.findings import Finding
from core.terraform.parse import Item, ParsedModule, mask_literals
from core.terraform.policy_base import Hit
from core.terraform.structure import Block, _Scanner


# --- what an operator allows ------------------------------------------------------------------
def _split(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@dataclass(frozen=True)
class Allowances:
    """Hosts ``data "http"`` may reach, module and provider sources a module may use.

    ``http_hosts``: exact host names, or ``.example.com`` for a domain and its subdomains.
    ``module_sources``: source prefixes, e.g. ``terraform-aws-modules/`` or
    ``git::https://github.com/acme/``; a prefix matches at a ``/``, ``//``, ``?`` or ``::`` boundary.
    ``provider_sources``: provider source prefixes (``hashicorp/`` by default).
    """

    http_hosts: tuple[str, ...] = ()
    module_sources: tuple[str, ...] = ()
    provider_sources: tuple[str, ...] = ("hashicorp/",)

    @classmethod
    def from_settings(cls, settings: Any) -> Allowances:
        return cls(
            http_hosts=_split(getattr(settings, "review_http_hosts", "")),
            module_sources=_split(getattr(settings, "review_module_sources", "")),
            provider_sources=_split(getattr(settings, "review_provider_sources", "hashicorp/")),
        )


NOTHING_ALLOWED = Allowances()  # frozen: safe to share
_ALLOWANCES: ContextVar[Allowances] = ContextVar("archops_review_allowances", default=NOTHING_ALLOWED)


def current_allowances() -> Allowances:
    return _ALLOWANCES.get()


@contextmanager
def allowing(allowances: Allowances) -> Iterator[Allowances]:
    """Review with these allowances inside the ``with`` block (the default allows nothing)."""
    token = _ALLOWANCES.set(allowances)
    try:
        yield allowances
    finally:
        _ALLOWANCES.reset(token)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    for entry in (a.lower().rstrip(".") for a in allowed):
        if entry.startswith("*."):
            entry = entry[1:]
        if host == entry or (entry.startswith(".") and (host.endswith(entry) or host == entry[1:])):
            return True
    return False


def source_allowed(source: str, allowed: tuple[str, ...]) -> bool:
    if ".." in re.split(r"[/\\]", source):
        return False  # a/../b climbs out of whatever prefix it starts with
    for entry in allowed:
        if source == entry:
            return True
        if entry.endswith(("/", "::", "?")) and source.startswith(entry):
            return True
        if source.startswith(entry) and source[len(entry):][:1] in ("/", "?"):
            return True
    return False


# --- walking every block of the module ----------------------------------------------------
def top_level(module: ParsedModule) -> list[Item]:
    """The module's items plus the top-level blocks that are no item (``terraform``, ``check``,
    ``removed``, ``ephemeral``, ``import``...), so that nothing nested in them goes unseen."""
    if "exec_top_level" not in module.derived:
        module.derived["exec_top_level"] = _top_level(module)
    items: list[Item] = module.derived["exec_top_level"]
    return items


def _top_level(module: ParsedModule) -> list[Item]:
    known = {id(i.block) for i in module.items}
    out = [i for i in module.items if i.kind != "local"]
    for name, block in module.blocks:
        if id(block) in known or block.type == "locals":
            continue
        label = ".".join(block.labels)
        address = f"{block.type}.{label}" if label else block.type
        out.append(Item(block.type, block.labels[0] if block.labels else "", label, address,
                        name, block, {}))
    out += [i for i in module.items if i.kind == "local"]
    return out


def walk(block: Block) -> Iterator[Block]:
    yield block
    for child in block.blocks:
        yield from walk(child)


def _unquote(text: str) -> str | None:
    """The value of a string literal without interpolation, or None."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"' and "${" not in text and "%{" not in text:
        body = text[1:-1]
        if '"' not in body.replace('\\"', ""):
            return body.replace('\\"', '"').replace("\\\\", "\\")
    return None


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def data_blocks(module: ParsedModule) -> Iterator[tuple[Item, Block, str]]:
    """Every data source: top-level ones and those scoped inside ``check`` blocks."""
    for item in top_level(module):
        if item.kind == "data":
            yield item, item.block, item.type
        elif item.kind == "check":
            for child in item.block.children("data"):
                if len(child.labels) == 2:
                    dtype, name = child.labels
                    scoped = Item("data", dtype, name, f"{item.address}.data.{dtype}.{name}",
                                  item.file, child, {})
                    yield scoped, child, dtype


# --- provisioners and connections ---------------------------------------------------------
def provisioners(module: ParsedModule) -> list[Hit]:
    hits: list[Hit] = []
    for item in top_level(module):
        for block in walk(item.block):
            if block.type != "provisioner":
                continue
            kind = block.labels[0] if block.labels else "?"
            if kind == "local-exec":
                attr = block.attrs.get("command")
                what = f"runs {_short(attr.text) if attr else 'a command'} on the machine that applies the module"
            elif kind == "remote-exec":
                what = "runs commands on a remote host with the module's connection credentials"
            elif kind == "file":
                attr = block.attrs.get("source") or block.attrs.get("content")
                what = (f"copies {_short(attr.text) if attr else 'a local file'} from the machine that "
                        "applies the module to a remote host")
            else:
                what = "runs code during apply"
            hits.append(Hit(item, f"provisioner.{kind}", block.line,
                            f'provisioner "{kind}" {what}', item.block))
    return hits


def connections(module: ParsedModule) -> list[Hit]:
    hits: list[Hit] = []
    for item in top_level(module):
        for block in walk(item.block):
            if block.type == "connection":
                host = block.attrs.get("host")
                to = f" to {_short(host.text, 60)}" if host else ""
                hits.append(Hit(item, "connection", block.line,
                                f"a connection block opens SSH/WinRM{to} for provisioners to run commands",
                                item.block))
    return hits


def triggers(module: ParsedModule) -> list[Hit]:
    """``null_resource`` / ``terraform_data`` whose triggers (re)run provisioner commands."""
    hits: list[Hit] = []
    for item in module.resources:
        if item.type not in ("null_resource", "terraform_data"):
            continue
        if not any(b.type == "provisioner" for b in walk(item.block)):
            continue
        for arg in ("triggers", "triggers_replace", "input"):
            attr = item.block.attrs.get(arg)
            if attr:
                does = ("hands its values to the provisioner commands" if arg == "input" else
                        "re-runs the provisioner commands whenever it changes")
                hits.append(Hit(item, arg, attr.line,
                                f"{item.type} {arg} ({_short(attr.text, 60)}) {does}", item.block))
        if not any(a in item.block.attrs for a in ("triggers", "triggers_replace", "input")):
            hits.append(Hit(item, "", item.line,
                            f"{item.type} exists only to run its provisioner commands", item.block))
    return hits


# --- programs and hosts reached at plan time ------------------------------------------------
def external_programs(module: ParsedModule) -> list[Hit]:
    hits: list[Hit] = []
    for item, block, dtype in data_blocks(module):
        if dtype == "local_command":
            hits.append(Hit(item, "", block.line, 'data "local_command" runs a command on the machine '
                            "that plans the module, at every plan", item.block))
        if dtype == "external":
            attr = block.attrs.get("program")
            shown = _short(attr.text) if attr else "a program"
            hits.append(Hit(item, "program", attr.line if attr else block.line,
                            f'data "external" runs {shown} on the machine that plans the module, '
                            "at every plan", item.block))
    for item in top_level(module):
        if item.kind in ("resource", "ephemeral", "action", "list") and item.type == "local_command":
            hits.append(Hit(item, "", item.line, f'{item.kind} "local_command" runs a command on the '
                            "machine that runs Terraform", item.block))
        if item.kind == "provider" and item.name == "external":
            hits.append(Hit(item, "", item.line, 'the "external" provider runs local programs', item.block))
        if item.kind == "provider":
            for block in walk(item.block):
                if block.type == "exec" and "command" in block.attrs:  # kubernetes, helm...
                    attr = block.attrs["command"]
                    hits.append(Hit(item, "exec.command", block.line,
                                    f"provider {item.name} runs {_short(attr.text, 60)} (exec) at every plan",
                                    item.block))
        if item.kind == "terraform":
            for block in walk(item.block):
                if block.type == "required_providers" and "external" in block.attrs:
                    attr = block.attrs["external"]
                    hits.append(Hit(item, "required_providers.external", attr.line,
                                    'the module requires the "external" provider, which runs local programs',
                                    item.block))
    return hits


# data source type -> the argument that names the host it reaches
_OUTBOUND: dict[str, str] = {
    "http": "url",
    "tls_certificate": "url",
    "dns_a_record_set": "host",
    "dns_aaaa_record_set": "host",
    "dns_cname_record_set": "host",
    "dns_mx_record_set": "domain",
    "dns_ns_record_set": "host",
    "dns_srv_record_set": "service",
    "dns_txt_record_set": "host",
}
_SCHEME_HOST = re.compile(r'^"(?:[a-zA-Z][a-zA-Z0-9+.-]*://)?([^/"$%?#]*)')


def _host_of(attr_text: str, arg: str) -> str | None:
    """The host a literal (or literal-prefixed) URL or name reaches; None when not known."""
    text = attr_text.strip()
    match = _SCHEME_HOST.match(text)
    if not match:
        return None
    rest = text[match.end():]
    if rest[:2] in ("${", "%{") or not match.group(1):
        return None  # the host itself is computed
    netloc = match.group(1)
    if "\\" in netloc or any(ch.isspace() for ch in netloc):
        return None  # parsers disagree on such hosts: never take one for allowed
    if arg != "url":
        return netloc if rest.startswith('"') else None
    try:
        host = urlsplit(f"//{netloc}").hostname
    except ValueError:
        return None
    return host or None


def outbound_data(module: ParsedModule) -> list[Hit]:
    allowed = current_allowances().http_hosts
    hits: list[Hit] = []
    for item, block, dtype in data_blocks(module):
        backend = block.attrs.get("backend")
        if dtype == "terraform_remote_state" and backend and _unquote(backend.text) == "http":
            config = block.attrs.get("config")
            match = re.search(r"\baddress\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s,}]+)", config.text) if config else None
            host = _host_of(match.group(1), "url") if match else None
            if host is None or not host_allowed(host, allowed):
                where = host or "a host not known before plan"
                hits.append(Hit(item, "config.address", config.line if config else block.line,
                                f"terraform_remote_state reads a state over HTTP from {where}, at every "
                                "plan (requests can carry what the module knows)", item.block))
            continue
        arg = _OUTBOUND.get(dtype)
        if arg is None or (dtype == "tls_certificate" and arg not in block.attrs):
            continue
        attr = block.attrs.get(arg)
        if attr is None:
            continue
        host = _host_of(attr.text, arg)
        if host is None:
            message = (f'data "{dtype}" reaches a host not known before plan '
                       f"({_short(attr.text, 60)}): it can send what the module knows anywhere")
        elif host_allowed(host, allowed):
            continue
        else:
            message = (f'data "{dtype}" reaches {host}, a host outside the allow-list, at every plan '
                       "(requests can carry what the module knows)")
        hits.append(Hit(item, arg, attr.line, message, item.block))
    return hits


# AWS's own hosts: a provider endpoint there is not a way out
_AWS_HOSTS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
_PROXY_ARGS = ("http_proxy", "https_proxy")


def provider_endpoints(module: ParsedModule) -> list[Hit]:
    """Provider endpoints and proxies outside AWS: every request of the provider (the module's
    configuration, signed with the runner's credentials) would go to that host."""
    allowed = current_allowances().http_hosts + _AWS_HOSTS
    hits: list[Hit] = []
    for item in top_level(module):
        if item.kind != "provider":
            continue
        places = [(f"{arg}", item.block.attrs[arg]) for arg in _PROXY_ARGS if arg in item.block.attrs]
        for child in item.block.children("endpoints"):
            places += [(f"endpoints.{name}", attr) for name, attr in child.attrs.items()]
        for argument, attr in places:
            host = _host_of(attr.text, "url")
            if host is not None and host_allowed(host, allowed):
                continue
            where = host or f"a host not known before plan ({_short(attr.text, 60)})"
            hits.append(Hit(item, argument, attr.line,
                            f"provider {item.name} sends its requests to {where}, outside AWS and the "
                            "allow-list", item.block))
    return hits


# --- module and provider sources ------------------------------------------------------------
def _climbs(path: str) -> bool:
    """True when a relative path leaves its base at any point (``a/../../b``)."""
    depth = 0
    for part in re.split(r"[/\\]+", path):
        if part in ("", "."):
            continue
        depth += -1 if part == ".." else 1
        if depth < 0:
            return True
    return False


def _source_kind(source: str) -> str:
    if source.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:[\\/]", source):
        return "an absolute path outside the module"
    forced = re.match(r"^([a-z0-9]+)::", source)
    if forced:
        return {"git": "a git repository", "hg": "a Mercurial repository", "s3": "an S3 bucket",
                "gcs": "a GCS bucket", "http": "an HTTP URL", "https": "an HTTPS URL",
                "file": "a local path"}.get(forced.group(1), f"a {forced.group(1)}:: source")
    if source.startswith(("http://", "https://")):
        return "an HTTP URL"
    if source.startswith(("github.com/", "bitbucket.org/", "git@")):
        return "a git repository"
    return "a module registry"


def module_sources(module: ParsedModule) -> list[Hit]:
    allowed = current_allowances().module_sources
    hits: list[Hit] = []
    for item in module.of_kind("module"):
        attr = item.block.attrs.get("source")
        if attr is None:
            continue
        source = _unquote(attr.text)
        if source is None:
            continue  # Terraform requires a literal; the parse check reports it
        if source.startswith(("./", "../", ".\\", "..\\")) or source in (".", ".."):
            if not _climbs(source):
                continue
            message = f'module source "{source}" leaves the module directory'
        elif source_allowed(source, allowed) or source_allowed(
            source.removeprefix("registry.terraform.io/"), allowed
        ):
            continue
        else:
            message = (f'module source "{_short(source, 100)}" is {_source_kind(source)}: its code '
                       "(resources, provisioners, providers) is downloaded and run unreviewed")
        hits.append(Hit(item, "source", attr.line, message, item.block))
    return hits


_PROVIDER_SOURCE = re.compile(r'\bsource\s*=\s*"([^"]+)"')


def provider_sources(module: ParsedModule) -> list[Hit]:
    allowed = current_allowances().provider_sources
    hits: list[Hit] = []
    for item in top_level(module):
        if item.kind != "terraform":
            continue
        for block in walk(item.block):
            if block.type != "required_providers":
                continue
            for name, attr in block.attrs.items():
                match = _PROVIDER_SOURCE.search(attr.text)
                if not match:
                    continue
                source = match.group(1)
                short = source.removeprefix("registry.terraform.io/")
                if source_allowed(source, allowed) or source_allowed(short, allowed):
                    continue
                hits.append(Hit(item, f"required_providers.{name}", attr.line,
                                f'provider "{name}" comes from "{source}", outside the allowed '
                                "provider sources: terraform init downloads it and runs it at every plan",
                                item.block))
    return hits


# --- local paths: files read or written on the machine that runs Terraform -------------------
FILE_FUNCTIONS = (
    "file", "templatefile", "filemd5", "filesha1", "filesha256", "filesha512", "filebase64",
    "filebase64sha256", "filebase64sha512", "fileexists", "fileset",
)
_PATH_FUNCTIONS = ("abspath", "pathexpand")
_CALL = re.compile(rf"(?<![\w.:-])({'|'.join(FILE_FUNCTIONS + _PATH_FUNCTIONS)})\s*\(")

# resource or data type -> arguments naming a local path it reads ("r") or writes ("w")
PATH_ARGUMENTS: dict[tuple[str, str], dict[str, str]] = {
    ("resource", "local_file"): {"filename": "w", "source": "r"},
    ("resource", "local_sensitive_file"): {"filename": "w", "source": "r"},
    ("data", "local_file"): {"filename": "r"},
    ("data", "local_sensitive_file"): {"filename": "r"},
    ("data", "archive_file"): {"source_dir": "r", "source_file": "r", "output_path": "w"},
    ("resource", "archive_file"): {"source_dir": "r", "source_file": "r", "output_path": "w"},
    ("resource", "aws_s3_object"): {"source": "r"},
    ("resource", "aws_s3_bucket_object"): {"source": "r"},
    ("resource", "aws_lambda_function"): {"filename": "r"},
    ("resource", "aws_lambda_layer_version"): {"filename": "r"},
}


@dataclass
class PathVerdict:
    verdict: str  # inside | outside | unknown
    shown: str  # the path as far as it is known, for the message
    why: str = ""


_INTERP = re.compile(r"\$\{\s*([^{}]*?)\s*\}")
_LOCAL = re.compile(r"^local\.([A-Za-z_][\w-]*)$")
_PRODUCED = re.compile(r"^(data\.)?(archive_file|local_file|local_sensitive_file)\.([A-Za-z_][\w-]*)"
                       r"\.(output_path|filename)$")


def _fileset_inside(text: str, module: ParsedModule) -> bool:
    """Whether a ``for_each`` is ``fileset()`` (or ``toset(fileset())``) of files inside the module."""
    text = text.strip()
    wrapped = re.match(r"^toset\s*\((.*)\)$", text, re.S)
    text = wrapped.group(1).strip() if wrapped else text
    call = re.match(r"^fileset\s*\(", text)
    if not call:
        return False
    args, end = _arguments(text, call.end() - 1)
    if len(args) != 2 or text[end + 1:].strip():
        return False
    pattern = _unquote(args[1])
    return (classify_path(args[0], module).verdict == "inside" and pattern is not None
            and not pattern.startswith(("/", "~")) and ".." not in pattern)


def _resolve(expr: str, module: ParsedModule, depth: int = 0,
             item: Item | None = None) -> tuple[str | None, str]:
    """A path expression as a string with ``<module>``/``<cwd>`` markers, or (None, why)."""
    expr = expr.strip()
    if depth > 5:
        return None, "too many indirections"
    if expr in ("path.module", "path.root"):
        return "<module>", ""
    if expr == "count.index":
        return "0", ""
    if expr in ("each.value", "each.key") and item is not None:
        for_each = item.block.attrs.get("for_each")
        if for_each is not None and _fileset_inside(for_each.text, module):
            return "each", ""  # a file fileset() found inside the module
        return None, f"{expr} of a for_each that is not a fileset() inside the module"
    if expr == "path.cwd":
        return "<cwd>", ""
    produced = _PRODUCED.match(expr)
    if produced:  # the path a file-producing resource wrote: as safe as what it was told
        target = module.get(f"{produced.group(1) or ''}{produced.group(2)}.{produced.group(3)}")
        attr = target.block.attrs.get(produced.group(4)) if target else None
        if target is None or attr is None:
            return None, expr
        return _resolve(attr.text, module, depth + 1, target)
    local = _LOCAL.match(expr)
    if local:
        item = module.get(f"local.{local.group(1)}")
        if item is None or "value" not in item.block.attrs:
            return None, expr
        return _resolve(item.block.attrs["value"].text, module, depth + 1)
    call = re.match(r"^(abspath|pathexpand|trimspace)\s*\((.*)\)$", expr, re.S)
    if call:
        inner, why = _resolve(call.group(2), module, depth + 1, item)
        return inner, why
    if expr.startswith('"') and expr.endswith('"') and _Scanner(expr).skip_string(0) == len(expr):
        body, out, pos, unknown = expr[1:-1], [], 0, ""
        if "%{" in body:
            return None, "a template directive"
        for match in _INTERP.finditer(body):
            out.append(body[pos:match.start()])
            part, why = _resolve(match.group(1), module, depth + 1, item)
            if part is None:
                out.append("<?>")
                unknown = why
            else:
                out.append(part)
            pos = match.end()
        out.append(body[pos:])
        text = "".join(out).replace('\\"', '"').replace("\\\\", "\\")
        if "<?>" in text:
            return text, unknown
        return text, ""
    return None, expr


def classify_path(expr: str, module: ParsedModule, item: Item | None = None) -> PathVerdict:
    """Whether the local path an expression names stays inside the module directory
    (``item``: the resource the expression is in, for ``each.value``)."""
    text, why = _resolve(expr, module, item=item)
    if text is None:
        return PathVerdict("unknown", _short(expr, 60), why or expr)
    known = text.split("<?>", 1)[0]
    shown = _short(text.replace("<module>", "${path.module}").replace("<cwd>", "${path.cwd}")
                   .replace("<?>", "${...}"), 80)
    base_cwd = known.startswith("<cwd>")
    rest = known.removeprefix("<module>").removeprefix("<cwd>")
    if "<module>" in rest or "<cwd>" in rest:
        return PathVerdict("unknown", shown, "path.module in the middle of a path")
    has_base = known != rest
    if not has_base and (rest.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", rest)):
        return PathVerdict("outside", shown, "an absolute path" if not rest.startswith("~") else "a home directory path")
    if _climbs(rest):
        return PathVerdict("outside", shown, "it climbs out of the module with ..")
    if "<?>" in text:
        return PathVerdict("unknown", shown, why)
    if base_cwd:
        return PathVerdict("unknown", shown, "path.cwd is wherever Terraform runs, not the module")
    return PathVerdict("inside", shown)


def _arguments(text: str, open_paren: int) -> tuple[list[str], int]:
    """The argument expressions of the call whose ``(`` is at ``open_paren``, and where it ends."""
    scanner = _Scanner(text)
    args: list[str] = []
    pos, start, depth = open_paren + 1, open_paren + 1, 0
    while pos < len(text):
        ch = text[pos]
        if ch == '"':
            pos = scanner.skip_string(pos)
            continue
        if text.startswith("<<", pos):
            end = scanner.skip_heredoc(pos)
            if end is not None:
                pos = end
                continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                args.append(text[start:pos])
                return [a.strip() for a in args if a.strip()], pos
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[start:pos])
            start = pos + 1
        pos += 1
    return [a.strip() for a in args if a.strip()], pos


def _path_hit(item: Item, argument: str, line: int, verdict: PathVerdict, what: str) -> Hit:
    if verdict.verdict == "outside":
        message = f"{what} {verdict.shown}, outside the module ({verdict.why})"
    else:
        message = (f"{what} {verdict.shown}, a path not known before plan ({verdict.why}): it may "
                   "point anywhere on the machine that runs Terraform")
    return Hit(item, argument, line, message, item.block)


def _function_paths(module: ParsedModule) -> list[tuple[str, Hit]]:
    out: list[tuple[str, Hit]] = []
    for item in top_level(module):
        path_args = PATH_ARGUMENTS.get((item.kind, item.type), {})
        for block in walk(item.block):
            for attr in block.attrs.values():
                if "file" not in attr.text and "path" not in attr.text:
                    continue  # every function checked here has one of the two in its name
                masked = mask_literals(attr.text)
                inside_calls: list[tuple[int, int]] = []
                for match in _CALL.finditer(masked):
                    name = match.group(1)
                    if any(a <= match.start() < b for a, b in inside_calls):
                        continue
                    args, end = _arguments(attr.text, match.end() - 1)
                    if not args:
                        continue
                    inside_calls.append((match.end(), end))
                    verdict = classify_path(args[0], module, item)
                    if name == "fileset" and verdict.verdict == "inside" and len(args) > 1:
                        pattern = _unquote(args[1])
                        if pattern is None:
                            verdict = PathVerdict("unknown", _short(args[1], 60), "the pattern is computed")
                        elif pattern.startswith(("/", "~")) or ".." in pattern:  # {..,x} too
                            verdict = PathVerdict("outside", f"{verdict.shown}/{pattern}",
                                                  "the pattern climbs out of the module")
                    if verdict.verdict == "inside":
                        continue
                    if name in _PATH_FUNCTIONS and (verdict.verdict == "unknown" or (
                            block is item.block and attr.name in path_args)):
                        continue  # only a path: what reads or writes it is reported
                    line = attr.line + masked.count("\n", 0, match.start())
                    verb = ("resolves" if name in _PATH_FUNCTIONS
                            else "probes" if name in ("fileexists", "fileset") else "reads")
                    out.append((verdict.verdict,
                                _path_hit(item, attr.name, line, verdict, f"{name}() {verb}")))
    return out


def _argument_paths(module: ParsedModule) -> list[tuple[str, Hit]]:
    out: list[tuple[str, Hit]] = []
    for item in top_level(module):
        if item.kind not in ("resource", "data"):
            continue
        for arg, mode in PATH_ARGUMENTS.get((item.kind, item.type), {}).items():
            attr = item.block.attrs.get(arg)
            if attr is None:
                continue
            if re.match(r"^\s*(" + "|".join(FILE_FUNCTIONS) + r")\s*\(", attr.text):
                continue  # the function itself is checked
            verdict = classify_path(attr.text, module, item)
            if verdict.verdict == "inside":
                continue
            verb = "writes" if mode == "w" else "reads"
            out.append((verdict.verdict, _path_hit(item, arg, attr.line, verdict, f"{item.type}.{arg} {verb}")))
    for item in top_level(module):
        if item.kind != "terraform":
            continue
        for backend in item.block.children("backend"):
            if backend.labels[:1] != ["local"]:
                continue
            for arg in ("path", "workspace_dir"):
                state_path = backend.attrs.get(arg)
                state_verdict = classify_path(state_path.text, module) if state_path else None
                if state_path and state_verdict and state_verdict.verdict != "inside":
                    out.append((state_verdict.verdict, _path_hit(
                        item, f"backend.local.{arg}", state_path.line, state_verdict,
                        "the local backend writes the state to")))
    for item, block, dtype in data_blocks(module):
        if dtype != "terraform_remote_state":
            continue
        backend_attr = block.attrs.get("backend")
        config = block.attrs.get("config")
        if backend_attr is None or _unquote(backend_attr.text) != "local" or config is None:
            continue
        match = re.search(r"\bpath\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s,}]+)", config.text)
        if match:
            verdict = classify_path(match.group(1), module)
            if verdict.verdict != "inside":
                out.append((verdict.verdict, _path_hit(item, "config.path", config.line, verdict,
                                                       "terraform_remote_state reads the state file")))
    return out


def _paths(module: ParsedModule) -> list[tuple[str, Hit]]:
    if "exec_paths" not in module.derived:
        module.derived["exec_paths"] = _function_paths(module) + _argument_paths(module)
    found: list[tuple[str, Hit]] = module.derived["exec_paths"]
    return found


def paths_outside(module: ParsedModule) -> list[Hit]:
    return [h for v, h in _paths(module) if v == "outside"]


def paths_unknown(module: ParsedModule) -> list[Hit]:
    return [h for v, h in _paths(module) if v == "unknown"]


def plan_hazards(module: ParsedModule) -> list[Finding]:
    """Why the module must not be planned on this machine: Terraform evaluates ``file()`` and
    friends while planning, so a path outside the module (or not known) would be read here, and
    its content can come back in a diagnostic ("cannot convert \"<the file>\" to number"); a
    FIFO or ``/dev/zero`` would hang or exhaust the planner. Empty when planning is safe."""
    out: list[Finding] = []
    hits = [h for _, h in _paths(module)]
    if hits:
        where = ", ".join(sorted({f"{h.item.file}:{h.line}" for h in hits})[:5])
        out.append(Finding(
            check_id="plan_refused", severity="high", pillar="security",
            file=hits[0].item.file, line=hits[0].line,
            message=f"not planned: the module names local files outside itself or not known before "
                    f"plan ({where}), which Terraform would read on this machine while planning",
            fix="keep every path inside the module (\"${path.module}/name\"); the plan runs once they are",
        ))
    for item, block, dtype in data_blocks(module):
        if dtype == "terraform_remote_state":  # Terraform core itself reads it, with our credentials
            out.append(Finding(
                check_id="plan_refused", severity="high", pillar="security", address=item.address,
                file=item.file, line=block.line,
                message="not planned: terraform_remote_state would make Terraform read another "
                        "state (a file, a bucket, a URL) from this machine, with its credentials",
                fix="pass the values as variables instead of reading another stack's state",
            ))
    return out
