"""archops' own Well-Architected checks, each a small function over the parsed module.

Every rule says its pillar, severity and fix, names the checkov checks that cover the same
ground (a written skip of either waives both), and, where a safe change exists, carries a
deterministic repair that the fixer applies. Rules read literal values only: a value that is an
expression (a variable, a reference) is trusted, since it cannot be known before plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.terraform.edit import (
    Edit,
    add_block,
    append_text,
    remove_attribute,
    set_or_add,
    set_value,
)
from core.terraform.findings import Finding, Pillar, Severity
from core.terraform.parse import Item, ParsedModule
from core.terraform.schema_check import is_expression
from core.terraform.structure import Block


@dataclass
class Hit:
    """Where a rule found its problem; ``block`` is the (nested) block holding ``argument``."""

    item: Item
    argument: str
    line: int
    message: str
    block: Block | None = None


Repair = Callable[[Hit, ParsedModule], list[Edit]]


@dataclass(frozen=True)
class Rule:
    id: str
    pillar: Pillar
    severity: Severity
    fix: str
    evaluate: Callable[[ParsedModule], list[Hit]]
    repair: Repair | None = None
    checkov: tuple[str, ...] = field(default_factory=tuple)


def _true(value: Any) -> bool:
    return value is True or value == "true"


def _literal(values: dict[str, Any], name: str) -> Any:
    value = values.get(name)
    return None if is_expression(value) else value


def _text(module: ParsedModule, item: Item) -> str:
    return module.files[item.file]


# --- security: network --------------------------------------------------------------------
_WORLD = {"0.0.0.0/0", "::/0"}
_WEB_PORTS = {80, 443}


def _port(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _open_ingress_hit(item: Item, block: Block, values: dict[str, Any], arg: str) -> Hit | None:
    cidrs = [c for key in ("cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6")
             for c in (values.get(key) if isinstance(values.get(key), list) else [values.get(key)])]
    if not _WORLD & {c for c in cidrs if isinstance(c, str)}:
        return None
    low, high = _port(values.get("from_port")), _port(values.get("to_port"))
    if low is not None and high is not None and low == high and low in _WEB_PORTS:
        return None  # a public web listener is open on purpose
    ports = "all ports" if low in (None, 0, -1) and high in (None, 0, -1, 65535) else f"ports {low}-{high}"
    key = next(k for k in ("cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6") if k in block.attrs)
    line = block.attrs[key].line
    return Hit(item, f"{arg}{key}", line, f"ingress from the whole internet on {ports}", block)


def _open_security_groups(module: ParsedModule) -> list[Hit]:
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


def _restrict_ingress(hit: Hit, module: ParsedModule) -> list[Edit]:
    assert hit.block is not None
    vpcs = [i for i in module.resources if i.type == "aws_vpc"]
    inner = f"aws_vpc.{vpcs[0].name}.cidr_block" if len(vpcs) == 1 else '"10.0.0.0/8"'
    key = hit.argument.rsplit(".", 1)[-1]
    attr = hit.block.attrs[key]
    if key.startswith("ipv6") or key == "cidr_ipv6":
        return [remove_attribute(hit.item, attr, _text(module, hit.item))]
    return [set_value(hit.item, attr, f"[{inner}]" if key == "cidr_blocks" else inner)]


# --- security: storage and databases ------------------------------------------------------
_PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
_PAB_ARGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def _public_buckets(module: ParsedModule) -> list[Hit]:
    hits: list[Hit] = []
    blocks = [i for i in module.resources if i.type == "aws_s3_bucket_public_access_block"]
    account_wide = any(
        all(_true(i.values.get(a)) for a in _PAB_ARGS)
        for i in module.resources if i.type == "aws_s3_account_public_access_block"
    )
    for item in module.resources:
        if item.type in ("aws_s3_bucket", "aws_s3_bucket_acl") and _literal(item.values, "acl") in _PUBLIC_ACLS:
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
                if not _true(pab.values.get(arg)) and not is_expression(pab.values.get(arg)):
                    hits.append(Hit(pab, arg, pab.arg_line(arg),
                                    f"{arg} is not true: the bucket can be made public", pab.block))
    return hits


class _NoAttr:
    text = ""


_NO: Any = _NoAttr()


def _block_public(hit: Hit, module: ParsedModule) -> list[Edit]:
    item, text = hit.item, _text(module, hit.item)
    if hit.argument == "acl":
        return [set_value(item, item.block.attrs["acl"], '"private"')]
    if hit.argument in _PAB_ARGS:
        return [set_or_add(item, item.block, hit.argument, "true", text)]
    body = "\n".join(
        [f'resource "aws_s3_bucket_public_access_block" "{item.name}" {{',
         f"  bucket = aws_s3_bucket.{item.name}.id"] + [f"  {a} = true" for a in _PAB_ARGS] + ["}", ""]
    )
    return [append_text(item.file, text, body)]


def _typed(types: tuple[str, ...], check: Callable[[Item], Hit | None]) -> Callable[[ParsedModule], list[Hit]]:
    def evaluate(module: ParsedModule) -> list[Hit]:
        return [h for h in (check(i) for i in module.resources if i.type in types) if h]
    return evaluate


def _want_true(arg: str, message: str) -> Callable[[Item], Hit | None]:
    def check(item: Item) -> Hit | None:
        value = item.values.get(arg)
        if _true(value) or is_expression(value):
            return None
        return Hit(item, arg, item.arg_line(arg), message, item.block)
    return check


def _set(arg: str, value: str) -> Repair:
    def repair(hit: Hit, module: ParsedModule) -> list[Edit]:
        return [set_or_add(hit.item, hit.item.block, arg, value, _text(module, hit.item))]
    return repair


def _publicly_accessible(item: Item) -> Hit | None:
    if _true(item.values.get("publicly_accessible")):
        return Hit(item, "publicly_accessible", item.arg_line("publicly_accessible"),
                   "the database answers on a public address", item.block)
    return None


def _backups_off(item: Item) -> Hit | None:
    if _literal(item.values, "backup_retention_period") in (0, "0"):
        return Hit(item, "backup_retention_period", item.arg_line("backup_retention_period"),
                   "automated backups are turned off", item.block)
    return None


# --- security: secrets in code ------------------------------------------------------------
_SECRET_ARGS = {
    "password", "master_password", "secret_string", "secret_key", "access_key", "token",
    "api_key", "auth_token", "private_key", "client_secret", "secret_binary",
}
_SECRET_PATTERNS = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|ghp_[A-Za-z0-9]{30,}|xox[bpa]-[0-9A-Za-z-]{10,}")


def _literal_secrets(module: ParsedModule) -> list[Hit]:
    hits: list[Hit] = []
    for item in module.items:
        if item.kind not in ("resource", "data", "module", "provider", "local"):
            continue
        for name, attr in item.block.attrs.items():
            value = item.values.get(name)
            named = name in _SECRET_ARGS and isinstance(value, str) and value and not is_expression(value)
            if named or (item.kind != "local" and _SECRET_PATTERNS.search(attr.text)):
                hits.append(Hit(item, name, attr.line,
                                f"{name} holds a literal secret (value not shown); it would land "
                                "in git and in the state in clear", item.block))
    return hits


def _move_secret(hit: Hit, module: ParsedModule) -> list[Edit]:
    item, text = hit.item, _text(module, hit.item)
    attr = item.block.attrs[hit.argument]
    if item.type in ("aws_db_instance", "aws_rds_cluster") and hit.argument in ("password", "master_password"):
        return [remove_attribute(item, attr, text),
                set_or_add(item, item.block, "manage_master_user_password", "true", text)]
    var_name = f"{item.name}_{hit.argument}".replace("-", "_")
    edits = [set_value(item, attr, f"var.{var_name}")]
    if module.get(f"var.{var_name}") is None:
        edits.append(append_text(item.file, text, "\n".join([
            f'variable "{var_name}" {{',
            f'  description = "{hit.argument} of {item.address}, supplied at apply time (never in code)"',
            "  type = string", "  sensitive = true", "}", ""])))
    return edits


# --- operations, cost, reliability --------------------------------------------------------
def _log_retention(item: Item) -> Hit | None:
    if "retention_in_days" in item.block.attrs:
        return None
    return Hit(item, "retention_in_days", item.line, "logs are kept forever (no retention set)", item.block)


def _gp2(item: Item) -> Hit | None:
    for arg in ("type", "storage_type", "volume_type"):
        if _literal(item.values, arg) == "gp2":
            return Hit(item, arg, item.arg_line(arg), "gp2 storage costs ~20% more than gp3 for the same baseline", item.block)
    return None


def _gp3(hit: Hit, module: ParsedModule) -> list[Edit]:
    return [set_value(hit.item, hit.item.block.attrs[hit.argument], '"gp3"')]


def _pitr(item: Item) -> Hit | None:
    blocks = item.values.get("point_in_time_recovery")
    if isinstance(blocks, list) and blocks and (_true(blocks[0].get("enabled")) or is_expression(blocks[0].get("enabled"))):
        return None
    return Hit(item, "point_in_time_recovery", item.line, "point-in-time recovery is off", item.block)


def _enable_pitr(hit: Hit, module: ParsedModule) -> list[Edit]:
    text = _text(module, hit.item)
    existing = hit.item.block.children("point_in_time_recovery")
    if existing:
        return [set_or_add(hit.item, existing[0], "enabled", "true", text)]
    return [add_block(hit.item, hit.item.block, "point_in_time_recovery", {"enabled": "true"}, text)]


_PIN = re.compile(r"required_providers\s*\{[^}]*\baws\s*=\s*\{[^}]*\bversion\s*=", re.S)


def _provider_pin(module: ParsedModule) -> list[Hit]:
    aws = [i for i in module.items if i.kind in ("resource", "data") and i.type.startswith("aws_")]
    if not aws or any(_PIN.search(text) for text in module.files.values()):
        return []
    return [Hit(aws[0], "", 0, "the AWS provider version is not pinned in required_providers")]


def _pin_provider(hit: Hit, module: ParsedModule) -> list[Edit]:
    from core.terraform.schema import PROVIDER_VERSION

    if "versions.tf" in module.files or any(
        re.search(r"^terraform\s*\{", t, re.M) for t in module.files.values()
    ):
        return []  # a terraform block exists: its owner must add the pin
    body = (
        "terraform {\n  required_version = \">= 1.6\"\n  required_providers {\n    aws = {\n"
        f'      source  = "hashicorp/aws"\n      version = "{PROVIDER_VERSION}"\n    }}\n  }}\n}}\n'
    )
    return [Edit("versions.tf", 0, 0, body)]


_IAM_STAR = re.compile(r"""["']?Action["']?\s*[:=]\s*(\[\s*)?["']\*["']""")
_IAM_RES_STAR = re.compile(r"""["']?Resource["']?\s*[:=]\s*(\[\s*)?["']\*["']""")


def _iam_admin(module: ParsedModule) -> list[Hit]:
    hits = []
    for item in module.resources:
        attr = item.block.attrs.get("policy")
        if attr and _IAM_STAR.search(attr.text) and _IAM_RES_STAR.search(attr.text):
            hits.append(Hit(item, "policy", attr.line, 'the policy allows every action ("*") on every resource', item.block))
    return hits


_DB = ("aws_db_instance", "aws_rds_cluster")
RULES: tuple[Rule, ...] = (
    Rule("ARCHOPS_SG_OPEN_INGRESS", "security", "critical",
         "allow only the load balancer's security group or a private range, never 0.0.0.0/0 "
         "except on 80/443 of a public load balancer",
         _open_security_groups, _restrict_ingress, ("CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260")),
    Rule("ARCHOPS_S3_PUBLIC", "security", "critical",
         "add aws_s3_bucket_public_access_block with all four settings true; serve public content "
         "through CloudFront with origin access control",
         _public_buckets, _block_public, ("CKV2_AWS_6", "CKV_AWS_20", "CKV_AWS_57")),
    Rule("ARCHOPS_DB_UNENCRYPTED", "security", "high", "set storage_encrypted = true (with a KMS key)",
         _typed(_DB, _want_true("storage_encrypted", "the database storage is not encrypted")),
         _set("storage_encrypted", "true"), ("CKV_AWS_16", "CKV_AWS_96")),
    Rule("ARCHOPS_DB_PUBLIC", "security", "critical", "set publicly_accessible = false; reach it from the VPC",
         _typed(("aws_db_instance",), _publicly_accessible), _set("publicly_accessible", "false"),
         ("CKV_AWS_17",)),
    Rule("ARCHOPS_LITERAL_SECRET", "security", "critical",
         "never write secrets in Terraform: let RDS manage the password "
         "(manage_master_user_password) or pass a sensitive variable / Secrets Manager reference",
         _literal_secrets, _move_secret, ("CKV_AWS_41", "CKV_SECRET_2", "CKV_SECRET_6")),
    Rule("ARCHOPS_EBS_UNENCRYPTED", "security", "high", "set encrypted = true",
         _typed(("aws_ebs_volume",), _want_true("encrypted", "the volume is not encrypted")),
         _set("encrypted", "true"), ("CKV_AWS_3",)),
    Rule("ARCHOPS_IAM_ADMIN", "security", "high",
         "grant only the actions and resources the workload needs (least privilege)",
         _iam_admin, None, ("CKV_AWS_62", "CKV_AWS_286", "CKV_AWS_355")),
    Rule("ARCHOPS_DB_NO_BACKUPS", "reliability", "high", "set backup_retention_period to 7 days or more",
         _typed(_DB, _backups_off), _set("backup_retention_period", "7"), ("CKV_AWS_133",)),
    Rule("ARCHOPS_DB_DELETION_PROTECTION", "reliability", "medium", "set deletion_protection = true",
         _typed(_DB, _want_true("deletion_protection", "the database can be deleted by one apply")),
         _set("deletion_protection", "true"), ("CKV_AWS_293", "CKV_AWS_139")),
    Rule("ARCHOPS_DYNAMODB_PITR", "reliability", "medium",
         "add point_in_time_recovery { enabled = true }",
         _typed(("aws_dynamodb_table",), _pitr), _enable_pitr, ("CKV_AWS_28",)),
    Rule("ARCHOPS_LOG_RETENTION", "cost_optimisation", "medium",
         "set retention_in_days (365 keeps a year of history for audits)",
         _typed(("aws_cloudwatch_log_group",), _log_retention), _set("retention_in_days", "365"),
         ("CKV_AWS_338",)),
    Rule("ARCHOPS_GP2_STORAGE", "cost_optimisation", "low", "use gp3: cheaper, and its IOPS are set apart from size",
         _typed(("aws_ebs_volume", "aws_db_instance", "aws_launch_template", "aws_instance"), _gp2), _gp3),
    Rule("ARCHOPS_PROVIDER_PIN", "operational_excellence", "medium",
         "pin hashicorp/aws in terraform.required_providers (versions.tf)", _provider_pin, _pin_provider),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}


def skip_reason(item: Item, rule_id: str, equivalents: tuple[str, ...] = ()) -> str | None:
    for check in (rule_id, *equivalents):
        if check in item.skips:
            return item.skips[check]
    return None


def evaluate(module: ParsedModule) -> list[tuple[Rule, Hit]]:
    return [(rule, hit) for rule in RULES for hit in rule.evaluate(module)]


def check_policy(module: ParsedModule) -> list[Finding]:
    """archops' Well-Architected rules as findings (skips honoured and shown)."""
    out: list[Finding] = []
    for rule, hit in evaluate(module):
        out.append(Finding(
            check_id=rule.id, severity=rule.severity, pillar=rule.pillar,
            address=hit.item.address, argument=hit.argument, file=hit.item.file,
            line=hit.line or hit.item.line, message=hit.message, fix=rule.fix,
            skip_reason=skip_reason(hit.item, rule.id, rule.checkov),
        ))
    for item in module.items:
        for check in item.unexplained_skips:
            out.append(Finding(
                check_id="ARCHOPS_SKIP_WITHOUT_REASON", severity="medium",
                pillar="operational_excellence", address=item.address, file=item.file,
                line=item.line, message=f"the skip of {check} gives no reason, so it is not honoured",
                fix=f'write # archops:skip={check} reason="why this is acceptable here"',
            ))
    return out
