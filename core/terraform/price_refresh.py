"""Refresh the price table's instance prices from the AWS Price List API (needs AWS credentials).

The table in the repository stays the source of every estimate; this only rewrites its
per-hour instance prices (EC2, RDS, Aurora, ElastiCache) for the base region, with a new source
and date, and says what changed. Run:

    python -m core.terraform.price_refresh [--write]      # default: show the changes only
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from core.errors import ServiceUnavailable
from core.terraform.cost import PRICES_PATH, prices

# family in the table -> (service code, extra filters)
FAMILIES: dict[str, tuple[str, dict[str, str]]] = {
    "ec2": ("AmazonEC2", {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
                          "capacitystatus": "Used"}),
    "rds": ("AmazonRDS", {"databaseEngine": "PostgreSQL", "deploymentOption": "Single-AZ"}),
    "aurora": ("AmazonRDS", {"databaseEngine": "Aurora PostgreSQL"}),
    "elasticache": ("AmazonElastiCache", {"cacheEngine": "Redis"}),
}


def on_demand_hourly(price_item: str) -> float | None:
    """The on-demand USD price per hour in one Price List product document."""
    doc = json.loads(price_item)
    for term in doc.get("terms", {}).get("OnDemand", {}).values():
        for dim in term.get("priceDimensions", {}).values():
            usd = dim.get("pricePerUnit", {}).get("USD")
            if usd is not None and dim.get("unit", "Hrs").lower().startswith("hr"):
                return float(usd)
    return None


def _lookup(client: Any, service: str, filters: dict[str, str]) -> float | None:
    request = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()]
    try:
        answer = client.get_products(ServiceCode=service, Filters=request, FormatVersion="aws_v1",
                                     MaxResults=10)
    except Exception as exc:  # noqa: BLE001 - botocore's many errors: one clear one for the user
        raise ServiceUnavailable(f"the AWS Price List API failed: {exc}",
                                 hint="check AWS credentials (pricing:GetProducts)") from exc
    found = [p for p in (on_demand_hourly(item) for item in answer.get("PriceList", [])) if p]
    return min(found) if found else None


def refresh(client: Any, table: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """A copy of the table with every listed instance price looked up again; and the changes."""
    table = json.loads(json.dumps(table or prices()))
    region = table["base_region"]
    changes: list[str] = []
    for family, (service, extra) in FAMILIES.items():
        for instance, old in table["instance_hourly"][family].items():
            if instance == "db.serverless":
                continue
            filters = {"regionCode": region, "instanceType": instance, **extra}
            new = _lookup(client, service, filters)
            if new is not None and abs(new - old) > 1e-9:
                table["instance_hourly"][family][instance] = new
                changes.append(f"{family} {instance}: {old} -> {new}")
    table["source"] = (f"AWS Price List API (on-demand, {region}), refreshed; usage-based services "
                       "are assumptions, not estimates")
    table["date"] = dt.date.today().isoformat()
    return table, changes


def main(argv: list[str]) -> int:
    import boto3

    parser = argparse.ArgumentParser(prog="python -m core.terraform.price_refresh")
    parser.add_argument("--write", action="store_true", help=f"rewrite {PRICES_PATH.name}")
    args = parser.parse_args(argv)
    client = boto3.client("pricing", region_name="us-east-1")
    table, changes = refresh(client)
    print("\n".join(changes) or "no price changed")
    if args.write:
        PRICES_PATH.write_text(json.dumps(table, indent=2) + "\n")
        print(f"wrote {PRICES_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
