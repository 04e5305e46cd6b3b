"""What the schema-only providers answer: plans of creates, data sources, provider functions.

Pure functions over decoded values (see :mod:`core.terraform.plugin.values`), so that the gRPC
server stays a thin translation. Planning follows what the real providers do for a create:
every computed attribute the configuration leaves null is unknown until apply, except what the
real provider knows at plan (the region of a resource, ``tags_all`` from the provider's
``default_tags``, an ACM certificate's ``domain_validation_options`` with its domain names).
A data source answers fully known, plausible values: Terraform only reads it when its
configuration is known, and an unknown in its result would be an error.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from tfplugin.aws_facts import AZ_LETTERS, ELB_ACCOUNTS, ZONE_PREFIX
from tfplugin.values import (
    UNKNOWN,
    dynamic,
    empty_block,
    is_unknown,
    nested_items,
    wholly_known,
)

ACCOUNT_ID = "123456789012"


@dataclass
class ProviderState:
    """What ConfigureProvider told this provider instance."""

    name: str
    region: str | None = None
    default_tags: dict[str, str] = field(default_factory=dict)
    configured: bool = False


def partition_of(region: str | None) -> str:
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# -- configure ---------------------------------------------------------------------------
def configure(state: ProviderState, config: dict[str, Any] | None, env: dict[str, str]) -> list[str]:
    """Record the provider configuration; returns error messages (none when it is usable)."""
    config = config or {}
    state.configured = True
    if state.name != "aws":
        return []
    region = config.get("region")
    if is_unknown(region):
        region = None
    state.region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    tags = config.get("default_tags") or []
    if tags and isinstance(tags, list) and isinstance(tags[0], dict):
        value = tags[0].get("tags")
        if isinstance(value, dict):
            state.default_tags = {k: v for k, v in value.items() if isinstance(v, str)}
    if not state.region:
        return ["Missing region: the AWS provider needs a region: set `region` in the provider "
                "block or AWS_REGION in the environment"]
    return []


# -- plan --------------------------------------------------------------------------------
def plan_block(block: dict[str, Any], proposed: Any) -> Any:
    """A create's planned value: computed attributes that are null become unknown."""
    if proposed is None or is_unknown(proposed):
        return proposed
    out = dict(proposed)
    for name, attr in block.get("attributes", {}).items():
        if attr.get("computed") and out.get(name) is None:
            out[name] = UNKNOWN
    for name, nested in block.get("block_types", {}).items():
        value = out.get(name)
        if value is None or is_unknown(value):
            continue
        if nested["nesting"] == "single":
            out[name] = plan_block(nested["block"], value)
        elif isinstance(value, dict):
            out[name] = {k: plan_block(nested["block"], v) for k, v in value.items()}
        else:
            out[name] = [plan_block(nested["block"], v) for v in value]
    return out


def plan_resource(state: ProviderState, type_name: str, block: dict[str, Any],
                  proposed: Any, prior: Any) -> Any:
    if proposed is None:  # a destroy
        return None
    if prior is not None and not _imported(prior):
        return proposed  # an update: keep what is known, as no refresh happened
    # a create, or an import: what the configuration leaves to the provider is known after apply
    # (an imported object holds only its id here: this provider reads no account)
    planned = plan_block(block, proposed)
    attrs = block.get("attributes", {})
    if "region" in attrs and is_unknown(planned.get("region")) and state.region:
        planned["region"] = state.region
    if "tags_all" in attrs and is_unknown(planned.get("tags_all")):
        tags = planned.get("tags")
        if tags is None or (isinstance(tags, dict) and wholly_known(tags)):
            merged = dict(state.default_tags)
            merged.update(tags or {})
            planned["tags_all"] = merged
    if type_name == "aws_acm_certificate":
        planned = _plan_certificate(planned, proposed)
    return planned


def import_resource(type_name: str, block: dict[str, Any], import_id: str) -> dict[str, Any]:
    """The object an ``import`` block adopts: its id, every other attribute null (not unknown:
    a state holds no unknowns) and nested blocks empty; ReadResource passes it on unchanged."""
    state = empty_block(block)
    if "id" in block.get("attributes", {}):
        state["id"] = import_id
    return state


def _imported(prior: Any) -> bool:
    """A prior state that holds nothing but an id: one :func:`import_resource` made."""
    if not isinstance(prior, dict) or not isinstance(prior.get("id"), str):
        return False
    return all(v is None or v == [] or v == {} for k, v in prior.items() if k != "id")


def _plan_certificate(planned: dict[str, Any], proposed: dict[str, Any]) -> dict[str, Any]:
    """The real provider knows a DNS-validated certificate's validation options at plan, one per
    domain with its name (the documented ``for_each`` over them relies on it), and lists the
    domain itself among the alternative names; the record fields are unknown until apply."""
    domain = proposed.get("domain_name")
    sans = proposed.get("subject_alternative_names")
    method = proposed.get("validation_method")
    if not isinstance(domain, str) or method != "DNS":
        return planned
    if sans is None:
        planned["subject_alternative_names"] = [domain]
        sans = [domain]
    if not isinstance(sans, list) or not all(isinstance(n, str) for n in sans):
        return planned  # names unknown until apply: so are the options, as with the real one
    planned["domain_validation_options"] = [
        {"domain_name": n, "resource_record_name": UNKNOWN, "resource_record_type": UNKNOWN,
         "resource_record_value": UNKNOWN}
        for n in sorted(set(sans) | {domain})
    ]
    return planned


# -- data sources ------------------------------------------------------------------------
def read_data_source(state: ProviderState, type_name: str, block: dict[str, Any],
                     config: dict[str, Any]) -> dict[str, Any]:
    region = (config.get("region") if isinstance(config.get("region"), str) else None) \
        or state.region or "us-east-1"
    special = _SPECIAL.get(type_name)
    values: dict[str, Any] = special(config, region) if special else {}
    out = dict(config)
    for key, value in values.items():
        if key in block.get("attributes", {}) and out.get(key) is None:
            out[key] = value
    return fill_known(block, out, type_name, region)


def fill_known(block: dict[str, Any], value: dict[str, Any], context: str, region: str) -> dict[str, Any]:
    """Every null computed attribute gets a plausible known value of its type."""
    out = {**empty_block(block), **value}
    for name, attr in block.get("attributes", {}).items():
        if out.get(name) is None and attr.get("computed"):
            out[name] = plausible(name, attr["type"], context, region)
    for name, nested in block.get("block_types", {}).items():
        items = nested_items(nested, out.get(name))
        filled = [fill_known(nested["block"], item, context, region) for item in items]
        if nested["nesting"] == "single":
            out[name] = filled[0] if filled else None
        elif nested["nesting"] != "map":
            out[name] = filled
    return out


def plausible(name: str, cty: Any, context: str, region: str) -> Any:
    """A value a real account could return for an attribute of this name and type."""
    if cty == "string":
        return _plausible_string(name, context, region)
    if cty == "number":
        return 1
    if cty == "bool":
        return False
    if cty == "dynamic":
        return dynamic("string", _plausible_string(name, context, region))
    kind, inner = cty[0], cty[1]
    if kind == "map":
        return {}
    if kind in ("list", "set"):
        singular = name[:-1] if name.endswith("s") else name
        if inner == "string":
            return [_plausible_string(singular, context, region, index=i) for i in range(2)]
        if inner == "number":
            return [1]
        return [plausible(singular, inner, context, region)]
    if kind == "object":
        return {k: plausible(k, t, context, region) for k, t in inner.items()}
    return None


def _plausible_string(name: str, context: str, region: str, index: int = 0) -> str:
    digest = hashlib.sha256(f"{context}.{name}.{index}".encode()).hexdigest()
    partition = partition_of(region)
    short = context.removeprefix("aws_").split("_")[0] or "resource"
    if name.endswith("arn") or name.endswith("arns"):
        return f"arn:{partition}:{short}:{region}:{ACCOUNT_ID}:{short}/{digest[:12]}"
    if "cidr" in name:
        return f"10.{index}.0.0/16"
    if name in ("account_id", "owner_id", "account"):
        return ACCOUNT_ID
    if name in ("region", "region_name"):
        return region
    if "zone" in name and "id" not in name:
        return f"{region}{'abc'[index % 3]}"
    if name.endswith("ip") or name.endswith("address"):
        return f"10.0.{index}.10"
    if name in ("json", "policy") or name.endswith("_json") or name.endswith("policy"):
        return '{"Version":"2012-10-17","Statement":[]}'
    if name.endswith("_url") or name == "url":
        return f"https://{short}.{region}.amazonaws.com/{digest[:8]}"
    if "dns" in name or "domain" in name or "endpoint" in name or "fqdn" in name:
        return f"{short}-{digest[:8]}.{region}.amazonaws.com"
    if name.endswith("date") or name.endswith("time") or name.endswith("_at"):
        return "2026-01-01T00:00:00Z"
    prefix = {"vpc": "vpc", "subnet": "subnet", "security_group": "sg", "ami": "ami",
              "image": "ami", "instance": "i", "route_table": "rtb", "internet_gateway": "igw",
              "nat_gateway": "nat", "key": "key", "zone": "Z"}.get(short, short)
    return f"{prefix}-{digest[:17]}"


def _availability_zones(config: dict[str, Any], region: str) -> dict[str, Any]:
    letters = AZ_LETTERS.get(region, "abc")
    prefix = ZONE_PREFIX.get(region, region.replace("-", "")[:6])
    return {"names": [f"{region}{c}" for c in letters],
            "zone_ids": [f"{prefix}-az{i + 1}" for i in range(len(letters))],
            "group_names": [region], "id": region}


def _caller_identity(config: dict[str, Any], region: str) -> dict[str, Any]:
    p = partition_of(region)
    return {"account_id": ACCOUNT_ID, "arn": f"arn:{p}:iam::{ACCOUNT_ID}:user/archops-plan",
            "user_id": "AIDAARCHOPSPLAN000000", "id": ACCOUNT_ID}


def _region(config: dict[str, Any], region: str) -> dict[str, Any]:
    name: str = config["name"] if isinstance(config.get("name"), str) else region
    name = config["region"] if isinstance(config.get("region"), str) else name
    suffix = "amazonaws.com.cn" if name.startswith("cn-") else "amazonaws.com"
    return {"name": name, "region": name, "id": name, "description": name,
            "endpoint": f"ec2.{name}.{suffix}"}


def _partition(config: dict[str, Any], region: str) -> dict[str, Any]:
    p = partition_of(region)
    suffix = "amazonaws.com.cn" if p == "aws-cn" else "amazonaws.com"
    return {"partition": p, "id": p, "dns_suffix": suffix,
            "reverse_dns_prefix": ".".join(reversed(suffix.split(".")))}


def _elb_service_account(config: dict[str, Any], region: str) -> dict[str, Any]:
    r: str = config["region"] if isinstance(config.get("region"), str) else region
    account = ELB_ACCOUNTS.get(r, "127311923021")
    return {"id": account, "arn": f"arn:{partition_of(r)}:iam::{account}:root"}


def _vpc(config: dict[str, Any], region: str) -> dict[str, Any]:
    return {"cidr_block": "172.31.0.0/16", "id": "vpc-0a1b2c3d4e5f60718", "default": False}


def _subnet_ids(config: dict[str, Any], region: str) -> dict[str, Any]:
    return {"ids": ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60719"], "id": region}


def _iam_policy_document(config: dict[str, Any], region: str) -> dict[str, Any]:
    document = policy_document(config)
    return {"json": json.dumps(document, indent=2),
            "minified_json": json.dumps(document, separators=(",", ":")),
            "id": str(int(hashlib.sha256(json.dumps(document).encode()).hexdigest()[:8], 16))}


def _one_or_list(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else values


def _statement(stmt: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if stmt.get("sid"):
        out["Sid"] = stmt["sid"]
    out["Effect"] = stmt.get("effect") or "Allow"
    for key, tf in (("Action", "actions"), ("NotAction", "not_actions"),
                    ("Resource", "resources"), ("NotResource", "not_resources")):
        values = stmt.get(tf)
        if values:
            out[key] = _one_or_list(sorted(values, reverse=True))
    for key, tf in (("Principal", "principals"), ("NotPrincipal", "not_principals")):
        blocks = stmt.get(tf) or []
        if not blocks:
            continue
        if any(b.get("type") == "*" for b in blocks):
            out[key] = "*"
            continue
        principals: dict[str, Any] = {}
        for b in blocks:
            ids = sorted(b.get("identifiers") or [], reverse=True)
            existing = principals.get(b["type"])
            merged = sorted(set(ids) | set(existing if isinstance(existing, list) else
                                          [existing] if existing else []), reverse=True)
            principals[b["type"]] = _one_or_list(merged)
        out[key] = principals
    conditions = stmt.get("condition") or []
    if conditions:
        cond: dict[str, dict[str, Any]] = {}
        for c in conditions:
            cond.setdefault(c["test"], {})[c["variable"]] = _one_or_list(list(c.get("values") or []))
        out["Condition"] = cond
    return out


def policy_document(config: dict[str, Any]) -> dict[str, Any]:
    """The policy the real ``aws_iam_policy_document`` renders, from its configuration."""
    statements: list[dict[str, Any]] = []
    for source in config.get("source_policy_documents") or []:
        try:
            statements += list(json.loads(source).get("Statement", []))
        except (ValueError, AttributeError):
            continue
    own = [_statement(s) for s in config.get("statement") or []]
    for stmt in own:
        sid = stmt.get("Sid")
        if sid:
            statements = [s for s in statements if s.get("Sid") != sid]
        statements.append(stmt)
    for override in config.get("override_policy_documents") or []:
        try:
            extra = list(json.loads(override).get("Statement", []))
        except (ValueError, AttributeError):
            continue
        for stmt in extra:
            sid = stmt.get("Sid")
            replaced = False
            if sid:
                for i, s in enumerate(statements):
                    if s.get("Sid") == sid:
                        statements[i], replaced = stmt, True
            if not replaced:
                statements.append(stmt)
    document: dict[str, Any] = {"Version": config.get("version") or "2012-10-17"}
    if config.get("policy_id"):
        document["Id"] = config["policy_id"]
    document["Statement"] = statements
    return document


_SPECIAL = {
    "aws_availability_zones": _availability_zones,
    "aws_caller_identity": _caller_identity,
    "aws_region": _region,
    "aws_partition": _partition,
    "aws_elb_service_account": _elb_service_account,
    "aws_iam_policy_document": _iam_policy_document,
    "aws_vpc": _vpc,
    "aws_subnets": _subnet_ids,
}


# -- provider functions --------------------------------------------------------------------
ARN_OBJECT = ["object", {"partition": "string", "service": "string", "region": "string",
                         "account_id": "string", "resource": "string"}]
FUNCTIONS: dict[str, dict[str, Any]] = {
    "arn_parse": {"params": [("arn", "string")], "returns": ARN_OBJECT,
                  "summary": "Parse an ARN into its components"},
    "arn_build": {"params": [("partition", "string"), ("service", "string"), ("region", "string"),
                             ("account_id", "string"), ("resource", "string")],
                  "returns": "string", "summary": "Build an ARN from its components"},
    "trim_iam_role_path": {"params": [("arn", "string")], "returns": "string",
                           "summary": "Trim the path of an IAM role ARN"},
    "user_agent": {"params": [("product_name", "string"), ("product_version", "string"),
                              ("comment", "string")],
                   "returns": "string", "summary": "Format a User-Agent product"},
}


class FunctionFailed(Exception):
    def __init__(self, message: str, argument: int | None = None) -> None:
        super().__init__(message)
        self.argument = argument


def call_function(name: str, args: list[Any]) -> Any:
    if name == "arn_parse":
        parts = args[0].split(":", 5) if isinstance(args[0], str) else []
        if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
            raise FunctionFailed(f"invalid ARN: {args[0]!r}", 0)
        return {"partition": parts[1], "service": parts[2], "region": parts[3],
                "account_id": parts[4], "resource": parts[5]}
    if name == "arn_build":
        partition, service, region, account, resource = args
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"
    if name == "trim_iam_role_path":
        arn = args[0]
        parts = arn.split(":", 5) if isinstance(arn, str) else []
        if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
            raise FunctionFailed(f"invalid IAM role ARN: {arn!r}", 0)
        return ":".join(parts[:5]) + ":role/" + parts[5].rsplit("/", 1)[-1]
    if name == "user_agent":
        product, version, comment = args
        text = product + (f"/{version}" if version else "")
        return text + (f" ({comment})" if comment else "")
    raise FunctionFailed(f"unknown function {name!r}")


def valid_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
