"""Monthly prices of instance sizes, from the review's price table (core/terraform/prices.json).

The table lists common sizes; a size it does not list is priced from a listed size of the same
family by AWS's normalization factors (nano 0.25, micro 0.5, small 1, medium 2, large 4, xlarge 8,
Nxlarge 8N), which is how on-demand Linux prices scale within a family (m5.xlarge is twice
m5.large). The same factors stand for capacity when a load is projected onto another size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.terraform.cost import prices

_SIZE = re.compile(r"^(\d*)xlarge$")
BASE_FACTORS = {"nano": 0.25, "micro": 0.5, "small": 1.0, "medium": 2.0, "large": 4.0}
# the sizes a family is sold in (the smallest first), by family prefix
_LADDERS = {
    "t": ("nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"),
    "graviton": ("medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"),
    "default": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"),
    "db.t": ("micro", "small", "medium", "large", "xlarge", "2xlarge"),
    "db": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"),
    "cache.t": ("micro", "small", "medium"),
    "cache": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"),
}


def split(instance_type: str) -> tuple[str, str]:
    """("m5", "xlarge") of "m5.xlarge"; ("db.m5", "large") of "db.m5.large"."""
    family, _, size = instance_type.rpartition(".")
    if not family or factor(size) is None:
        raise ValueError(f"not an instance type: {instance_type!r}")
    return family, size


def factor(size: str) -> float | None:
    if size in BASE_FACTORS:
        return BASE_FACTORS[size]
    m = _SIZE.match(size)
    return 8.0 * int(m.group(1) or 1) if m else None


def ladder(family: str) -> tuple[str, ...]:
    if family.startswith(("db.", "cache.")):
        service = family.split(".", 1)[0]
        kind = family.split(".", 1)[1]
        return _LADDERS[f"{service}.t"] if kind.startswith("t") else _LADDERS[service]
    if family.startswith("t"):
        return _LADDERS["t"]
    if family.endswith("g") or "g" in family[1:3]:  # m7g, c6gn, r7g: Graviton families start at medium
        return _LADDERS["graviton"]
    return _LADDERS["default"]


@dataclass(frozen=True)
class Price:
    hourly: float
    how: str  # "price table" or "derived from m5.large"

    @property
    def monthly(self) -> float:
        return round(self.hourly * float(prices().get("hours_per_month", 730)), 2)


def _table(service: str) -> dict[str, float]:
    return dict(prices()["instance_hourly"].get(service, {}))


def price(service: str, instance_type: str, region: str) -> Price | None:
    """On-demand price of a size in a region (``service``: ec2, rds, aurora, elasticache)."""
    table = _table(service)
    regional = float(prices()["region_factor"].get(region, 1.0))
    if instance_type in table:
        return Price(table[instance_type] * regional, "price table")
    try:
        family, size = split(instance_type)
    except ValueError:
        return None
    target = factor(size)
    for known, hourly in sorted(table.items()):
        try:
            kfam, ksize = split(known)
        except ValueError:
            continue
        kf = factor(ksize)
        if kfam == family and kf and target:
            return Price(hourly * target / kf * regional, f"derived from {known}")
    return None


def service_of(kind: str, attrs: dict[str, object]) -> str:
    if kind == "instance":
        return "ec2"
    if kind in ("cache_cluster", "replication_group"):
        return "elasticache"
    engine = str(attrs.get("engine") or "")
    return "aurora" if engine.startswith("aurora") else "rds"


def nat_monthly(region: str) -> float:
    table = prices()
    return round(float(table["hourly"]["aws_nat_gateway"]) * float(table.get("hours_per_month", 730))
                 * float(table["region_factor"].get(region, 1.0)), 2)


def storage_gb_month(storage_type: str) -> float:
    return float(prices()["storage_gb_month"].get(f"rds_{storage_type}", 0.115))
