"""A monthly cost estimate per resource and in total, from the price table in the repository.

Prices are on-demand list prices for the base region (``prices.json`` says its source and date),
scaled by a regional factor. What depends on traffic (requests, data transfer, log volume) is not
guessed: it is listed as an assumption next to the estimate, with its unit price.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.terraform.findings import CostEstimate, CostItem
from core.terraform.parse import Item, ParsedModule
from core.terraform.schema_check import is_expression

PRICES_PATH = Path(__file__).with_name("prices.json")
_REF_NAME = re.compile(r"\b(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


@lru_cache(maxsize=1)
def prices() -> dict[str, Any]:
    return json.loads(PRICES_PATH.read_text())


def _num(value: Any, default: float) -> float:
    if value is None or is_expression(value) or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


_VAR_ONLY = re.compile(r"^\$\{var\.([A-Za-z_][\w-]*)\}$")


def resolve_defaults(values: dict[str, Any], module: ParsedModule) -> dict[str, Any]:
    """Top-level values that are just ``var.x`` replaced by the variable's literal default,
    so that a sized resource is priced at the size the module deploys by default."""
    out = dict(values)
    for key, value in values.items():
        m = _VAR_ONLY.match(value) if isinstance(value, str) else None
        var = module.get(f"var.{m.group(1)}") if m else None
        if var is not None and "default" in var.values and not is_expression(var.values["default"]):
            out[key] = var.values["default"]
    return out


def _count(item: Item) -> int:
    return int(_num(item.values.get("count"), 1)) if "count" in item.block.attrs else 1


def _referenced(item: Item, module: ParsedModule, arg: str, rtype: str) -> Item | None:
    attr = item.block.attrs.get(arg)
    if attr is None:
        return None
    for m in _REF_NAME.finditer(attr.text):
        if m.group(1) == rtype:
            return module.get(f"{rtype}.{m.group(2)}")
    return None


def _rds(item: Item, table: dict[str, Any], hours: float) -> tuple[float, str]:
    cls = item.values.get("instance_class", "")
    rate = table["instance_hourly"]["rds"].get(cls)
    multi = 2 if item.values.get("multi_az") is True else 1
    gb = _num(item.values.get("allocated_storage"), 20)
    storage = table["storage_gb_month"].get(f"rds_{item.values.get('storage_type', 'gp3')}", 0.115)
    if rate is None:
        return gb * storage * multi, f"storage {gb:.0f} GB; instance class {cls or '?'} not in the price table"
    return (rate * hours + gb * storage) * multi, f"{cls} x{multi}, {gb:.0f} GB storage"


def _first(value: Any) -> dict[str, Any]:
    """A nested block's arguments (parsed blocks come as a list of one mapping)."""
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def _root_gb(values: dict[str, Any]) -> float:
    """The root volume's size: an instance's ``root_block_device``, a launch template's first
    ``block_device_mappings`` (8 GB, the usual AMI's, when neither says)."""
    root = _first(values.get("root_block_device"))
    if not root:
        root = _first(_first(values.get("block_device_mappings")).get("ebs"))
    return _num(root.get("volume_size"), 8)


def _instance(item: Item, table: dict[str, Any], hours: float, module: ParsedModule) -> tuple[float, str]:
    itype = item.values.get("instance_type", "")
    rate = table["instance_hourly"]["ec2"].get(itype)
    if rate is None:
        return 0.0, f"instance type {itype or '?'} not in the price table"
    gb = _root_gb(item.values)
    return rate * hours + gb * table["storage_gb_month"]["gp3"], f"{itype}, {gb:.0f} GB gp3 root volume"


def _asg(item: Item, table: dict[str, Any], hours: float, module: ParsedModule) -> tuple[float, str]:
    size = _num(item.values.get("desired_capacity"), _num(item.values.get("min_size"), 1))
    template = None
    block = item.block.children("launch_template")
    if block and "id" in block[0].attrs:
        m = _REF_NAME.search(block[0].attrs["id"].text)
        template = module.get(f"{m.group(1)}.{m.group(2)}") if m else None
    itype = template.values.get("instance_type", "") if template else ""
    rate = table["instance_hourly"]["ec2"].get(itype)
    if rate is None:
        return 0.0, f"{size:.0f} instances of an unpriced type ({itype or 'unknown'})"
    gb = _root_gb(template.values) if template else 8
    monthly = size * (rate * hours + gb * table["storage_gb_month"]["gp3"])
    return monthly, f"{size:.0f} x {itype} (${rate:g}/hour each), {gb:.0f} GB gp3 root volume each"


def _fargate(item: Item, table: dict[str, Any], hours: float, module: ParsedModule) -> tuple[float, str]:
    if item.values.get("launch_type", "FARGATE") != "FARGATE" and not item.block.children("capacity_provider_strategy"):
        return 0.0, "runs on EC2 capacity priced with its instances"
    tasks = _num(item.values.get("desired_count"), 1)
    task = _referenced(item, module, "task_definition", "aws_ecs_task_definition")
    if task is not None:  # the task's size as the module deploys it by default
        task = replace(task, values=resolve_defaults(task.values, module))
    cpu = _num(task.values.get("cpu"), 256) / 1024 if task else 0.25
    mem = _num(task.values.get("memory"), 512) / 1024 if task else 0.5
    arch = "X86_64"
    if task:
        rp = task.values.get("runtime_platform")
        if isinstance(rp, list) and rp and rp[0].get("cpu_architecture") == "ARM64":
            arch = "ARM64"
    rate = table["fargate"][arch]
    return tasks * (cpu * rate["vcpu_hour"] + mem * rate["gb_hour"]) * hours, f"{tasks:.0f} task(s) of {cpu:g} vCPU / {mem:g} GB ({arch})"


def _cache(item: Item, table: dict[str, Any], hours: float) -> tuple[float, str]:
    node = item.values.get("node_type", "")
    nodes = _num(item.values.get("num_cache_clusters"), _num(item.values.get("num_cache_nodes"), 1))
    rate = table["instance_hourly"]["elasticache"].get(node)
    if rate is None:
        return 0.0, f"node type {node or '?'} not in the price table"
    return nodes * rate * hours, f"{nodes:.0f} x {node}"


def _aurora_instance(item: Item, table: dict[str, Any], hours: float) -> tuple[float, str]:
    cls = item.values.get("instance_class", "")
    rate = table["instance_hourly"]["aurora"].get(cls)
    if rate is None:
        return 0.0, f"instance class {cls or '?'} not in the price table"
    if cls == "db.serverless":
        return 0.5 * rate * hours, "Aurora Serverless v2 at its 0.5 ACU minimum (more under load)"
    return rate * hours, cls


def _item_cost(item: Item, module: ParsedModule, table: dict[str, Any]) -> tuple[float, str] | None:
    hours = table["hours_per_month"]
    t = item.type
    if t in table["hourly"]:
        if t in ("aws_lb", "aws_alb") and item.values.get("load_balancer_type") == "network":
            return table["hourly"][t] * hours, "network load balancer hours"
        return table["hourly"][t] * hours, "hours"
    if t in table["monthly"]:
        return table["monthly"][t], "flat monthly fee"
    if t == "aws_db_instance":
        return _rds(item, table, hours)
    if t == "aws_rds_cluster_instance":
        return _aurora_instance(item, table, hours)
    if t == "aws_rds_cluster":
        return 20 * table["storage_gb_month"]["aurora"], "cluster storage assumed 20 GB"
    if t == "aws_instance":
        return _instance(item, table, hours, module)
    if t == "aws_autoscaling_group":
        return _asg(item, table, hours, module)
    if t == "aws_ecs_service":
        return _fargate(item, table, hours, module)
    if t in ("aws_elasticache_cluster", "aws_elasticache_replication_group"):
        return _cache(item, table, hours)
    if t == "aws_ebs_volume":
        kind = item.values.get("type", "gp3")
        gb = _num(item.values.get("size"), 8)
        return gb * table["storage_gb_month"].get(kind, 0.08), f"{gb:.0f} GB {kind}"
    if t == "aws_dynamodb_table" and item.values.get("billing_mode") == "PROVISIONED":
        rate = table["dynamodb_provisioned"]
        rcu, wcu = _num(item.values.get("read_capacity"), 5), _num(item.values.get("write_capacity"), 5)
        return (rcu * rate["rcu_hour"] + wcu * rate["wcu_hour"]) * hours, f"{rcu:.0f} RCU, {wcu:.0f} WCU"
    return None


def module_region(module: ParsedModule) -> str:
    """The region of the default provider (a literal, or the default of its variable)."""
    for item in module.of_kind("provider"):
        if item.name != "aws" or "alias" in item.block.attrs:
            continue
        region = item.values.get("region")
        if isinstance(region, str) and not is_expression(region):
            return region
        m = re.search(r"var\.([A-Za-z_][\w-]*)", item.block.attrs["region"].text) if "region" in item.block.attrs else None
        var = module.get(f"var.{m.group(1)}") if m else None
        if var and isinstance(var.values.get("default"), str):
            return var.values["default"]
    return prices()["base_region"]


def estimate(module: ParsedModule, region: str | None = None) -> CostEstimate:
    table = prices()
    region = region or module_region(module)
    factor = table["region_factor"].get(region)
    est = CostEstimate(region=region, price_source=table["source"], price_date=table["date"])
    if factor is None:
        factor = 1.0
        est.assumptions.append(f"no regional factor for {region}: {table['base_region']} prices used")
    elif factor != 1.0:
        est.assumptions.append(f"{region} priced at {factor:g} x {table['base_region']} list prices (approximate)")
    seen_usage: set[str] = set()
    for item in module.resources:
        item = replace(item, values=resolve_defaults(item.values, module))
        priced = _item_cost(item, module, table)
        if priced is not None:
            monthly, detail = priced
            n = _count(item)
            est.items.append(CostItem(address=item.address, resource_type=item.type,
                                      monthly_usd=round(monthly * n * factor, 2),
                                      detail=detail + (f", x{n} (count)" if n != 1 else "")))
        usage = table["usage_based"].get(item.type)
        if usage and item.type not in seen_usage:
            seen_usage.add(item.type)
            est.assumptions.append(f"{item.type}: usage-based, not included: {usage}")
    est.assumptions.append(table["usage_based"]["data_transfer"])
    return est
