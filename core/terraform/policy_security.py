"""archops' security rules: open ingress, public buckets and databases, secrets in code, IAM *."""

from __future__ import annotations

import re
from typing import Any

from core.terraform.edit import Edit, append_text, remove_attribute, set_or_add, set_value
from core.terraform.parse import Item, ParsedModule
from core.terraform.policy_base import Hit, is_true, literal, text_of
from core.terraform.schema_check import is_expression
from core.terraform.structure import Block

# --- security: network --------------------------------------------------------------------
_WORLD = {"0.0.0.0/0", "::/0"}
_WEB_PORTS = {80, 443}


def _port(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _open_ingress_hit(item: Item, block: Block, values: dict[str, Any], arg: str) -> Hit | None:
    cidrs: list[Any] = []
    for key in ("cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6"):
        value = values.get(key)
        cidrs += value if isinstance(value, list) else [value]
    if not _WORLD & {c for c in cidrs if isinstance(c, str)}:
        return None
    low, high = _port(values.get("from_port")), _port(values.get("to_port"))
    if low is not None and high is not None and low == high and low in _WEB_PORTS:
        return None  # a public web listener is open on purpose
    ports = "all ports" if low in (None, 0, -1) and high in (None, 0, -1, 65535) else f"ports {low}-{high}"
    key = next(k for k in ("cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6") if k in block.attrs)
    line = block.attrs[key].line
    return Hit(item, f"{arg}{key}", line, f"ingress from the whole internet on {ports}", block)


def open_security_groups(module: ParsedModule) -> list[Hit]:
    hits: list[Hit] = []
    for item in module.resources:
        if item.type == "aws_security_group":
            raw = item.values.get("ingress")
            for idx, child in enumerate(item.block.children("ingress")):
                vals = raw[idx] if isinstance(raw, list) and idx < len(raw) else {}
                hit = _open_ingress_hit(item, child, vals, "ingress.")
                hits += [hit] if hit else []
        elif item.type == "aws_security_group_rule" and item.values.get("type") == "ingress":
            hit = _open_ingress_hit(item, item.block, item.values, "")
            hits += [hit] if hit else []
        elif item.type == "aws_vpc_security_group_ingress_rule":
            hit = _open_ingress_hit(item, item.block, item.values, "")
            hits += [hit] if hit else []
    return hits


def restrict_ingress(hit: Hit, module: ParsedModule) -> list[Edit]:
    assert hit.block is not None
    vpcs = [i for i in module.resources if i.type == "aws_vpc"]
    inner = f"aws_vpc.{vpcs[0].name}.cidr_block" if len(vpcs) == 1 else '"10.0.0.0/8"'
    key = hit.argument.rsplit(".", 1)[-1]
    attr = hit.block.attrs[key]
    if key.startswith("ipv6") or key == "cidr_ipv6":
        return [remove_attribute(hit.item, attr, text_of(module, hit.item))]
    return [set_value(hit.item, attr, f"[{inner}]" if key == "cidr_blocks" else inner)]


# --- security: storage and databases ------------------------------------------------------
_PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
_PAB_ARGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def public_buckets(module: ParsedModule) -> list[Hit]:
    hits: list[Hit] = []
    blocks = [i for i in module.resources if i.type == "aws_s3_bucket_public_access_block"]
    account_wide = any(
        all(is_true(i.values.get(a)) for a in _PAB_ARGS)
        for i in module.resources if i.type == "aws_s3_account_public_access_block"
    )
    for item in module.resources:
        if item.type in ("aws_s3_bucket", "aws_s3_bucket_acl") and literal(item.values, "acl") in _PUBLIC_ACLS:
            hits.append(Hit(item, "acl", item.arg_line("acl"),
                            f'acl "{item.values["acl"]}" makes the objects public', item.block))
        if item.type != "aws_s3_bucket" or account_wide:
            continue
        mine = re.compile(rf"\baws_s3_bucket\.{re.escape(item.name)}\b")
        own = [b for b in blocks if mine.search(b.block.attrs.get("bucket", _NO).text)]
        if not own:
            hits.append(Hit(item, "public_access_block", item.line,
                            "no aws_s3_bucket_public_access_block blocks public access", None))
        for pab in own:
            for arg in _PAB_ARGS:
                if not is_true(pab.values.get(arg)) and not is_expression(pab.values.get(arg)):
                    hits.append(Hit(pab, arg, pab.arg_line(arg),
                                    f"{arg} is not true: the bucket can be made public", pab.block))
    return hits


class _NoAttr:
    text = ""


_NO: Any = _NoAttr()


def block_public(hit: Hit, module: ParsedModule) -> list[Edit]:
    item, text = hit.item, text_of(module, hit.item)
    if hit.argument == "acl":
        return [set_value(item, item.block.attrs["acl"], '"private"')]
    if hit.argument in _PAB_ARGS:
        return [set_or_add(item, item.block, hit.argument, "true", text)]
    body = "\n".join(
        [f'resource "aws_s3_bucket_public_access_block" "{item.name}" {{',
         f"  bucket = aws_s3_bucket.{item.name}.id"] + [f"  {a} = true" for a in _PAB_ARGS] + ["}", ""]
    )
    return [append_text(item.file, text, body)]


def publicly_accessible(item: Item) -> Hit | None:
    if is_true(item.values.get("publicly_accessible")):
        return Hit(item, "publicly_accessible", item.arg_line("publicly_accessible"),
                   "the database answers on a public address", item.block)
    return None


def backups_off(item: Item) -> Hit | None:
    if literal(item.values, "backup_retention_period") in (0, "0"):
        return Hit(item, "backup_retention_period", item.arg_line("backup_retention_period"),
                   "automated backups are turned off", item.block)
    return None


# --- security: secrets in code ------------------------------------------------------------
_SECRET_ARGS = {
    "password", "master_password", "secret_string", "secret_key", "access_key", "token",
    "api_key", "auth_token", "private_key", "client_secret", "secret_binary",
}
_SECRET_PATTERNS = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|ghp_[A-Za-z0-9]{30,}|xox[bpa]-[0-9A-Za-z-]{10,}")


_SECRETISH = re.compile(r"password|passwd|secret|token|api_key|private_key|access_key")
# names that only point at a secret or describe it (secret_name, token_ttl, ...) are not secrets
_NOT_SECRET = re.compile(r"(_name|_arn|_id|_ids|_ttl|_length|_version|_days|_prefix|_path|_enabled)$")


def _secret_named(name: str) -> bool:
    return bool(_SECRETISH.search(name)) and not _NOT_SECRET.search(name)


def _literal_string(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not is_expression(value)


def _secret_hit(item: Item, name: str, line: int) -> Hit:
    return Hit(item, name, line, f"{name} holds a literal secret (value not shown); it would land "
                                 "in git and in the state in clear", item.block)


def literal_secrets(module: ParsedModule) -> list[Hit]:
    """Secret-named arguments with literal values, known key formats anywhere, secret-named
    variables with a literal default and secret-named locals with a literal value."""
    hits: list[Hit] = []
    for item in module.items:
        if item.kind == "variable":
            default = item.block.attrs.get("default")
            if default and _secret_named(item.name) and _literal_string(item.values.get("default")):
                hits.append(_secret_hit(item, "default", default.line))
            continue
        if item.kind not in ("resource", "data", "module", "provider", "local"):
            continue
        for name, attr in item.block.attrs.items():
            value = item.values.get(name)
            secret_name = item.name if item.kind == "local" else name
            named = _secret_named(secret_name) if item.kind == "local" else name in _SECRET_ARGS
            if (named and _literal_string(value)) or _SECRET_PATTERNS.search(attr.text):
                hits.append(_secret_hit(item, name, attr.line))
    return hits


def move_secret(hit: Hit, module: ParsedModule) -> list[Edit]:
    item, text = hit.item, text_of(module, hit.item)
    attr = item.block.attrs[hit.argument]
    if item.kind == "variable":  # the value comes at apply time, never from the code
        return [remove_attribute(item, attr, text), set_or_add(item, item.block, "sensitive", "true", text)]
    if item.type in ("aws_db_instance", "aws_rds_cluster") and hit.argument in ("password", "master_password"):
        return [remove_attribute(item, attr, text),
                set_or_add(item, item.block, "manage_master_user_password", "true", text)]
    var_name = (item.name if item.kind == "local" else f"{item.name}_{hit.argument}").replace("-", "_")
    edits = [set_value(item, attr, f"var.{var_name}")]
    if module.get(f"var.{var_name}") is None:
        edits.append(append_text(item.file, text, "\n".join([
            f'variable "{var_name}" {{',
            f'  description = "{hit.argument} of {item.address}, supplied at apply time (never in code)"',
            "  type = string", "  sensitive = true", "}", ""])))
    return edits


_IAM_STAR = re.compile(r"""["']?Action["']?\s*[:=]\s*(\[\s*)?["']\*["']""")
_IAM_RES_STAR = re.compile(r"""["']?Resource["']?\s*[:=]\s*(\[\s*)?["']\*["']""")


def iam_admin(module: ParsedModule) -> list[Hit]:
    hits = []
    for item in module.resources:
        attr = item.block.attrs.get("policy")
        if attr and _IAM_STAR.search(attr.text) and _IAM_RES_STAR.search(attr.text):
            hits.append(Hit(item, "policy", attr.line, 'the policy allows every action ("*") on every resource', item.block))
    return hits
