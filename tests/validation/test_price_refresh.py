"""The price table refreshes from the AWS Price List API (a local stand-in speaking its protocol)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from core.errors import ServiceUnavailable
from core.terraform.cost import prices
from core.terraform.price_refresh import refresh


def product(instance: str, usd: str) -> str:
    return json.dumps({
        "product": {"attributes": {"instanceType": instance}},
        "terms": {"OnDemand": {"SKU.JRTCKXETXF": {"priceDimensions": {
            "SKU.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}}}}},
    })


class PricingStandIn(BaseHTTPRequestHandler):
    """GetProducts over the JSON 1.1 protocol; records each request's filters."""

    calls: list[dict] = []
    prices: dict[str, str] = {"t4g.micro": "0.0090000000", "db.t4g.micro": "0.0160000000"}

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.headers["X-Amz-Target"] == "AWSPriceListService.GetProducts"
        self.calls.append(body)
        filters = {f["Field"]: f["Value"] for f in body["Filters"]}
        usd = self.prices.get(filters.get("instanceType", ""))
        if filters.get("instanceType") == "boom":
            self.send_response(400)
            payload = {"__type": "InvalidParameterException", "message": "bad filter"}
        else:
            self.send_response(200)
            payload = {"FormatVersion": "aws_v1",
                       "PriceList": [product(filters["instanceType"], usd)] if usd else []}
        data = json.dumps(payload).encode()
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def client() -> Iterator[object]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PricingStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    PricingStandIn.calls = []
    yield boto3.client("pricing", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{server.server_port}",
                       aws_access_key_id="test", aws_secret_access_key="test")
    server.shutdown()


def test_refresh_rewrites_changed_prices_with_a_new_source_and_date(client) -> None:  # noqa: ANN001
    small = json.loads(json.dumps(prices()))
    small["instance_hourly"] = {"ec2": {"t4g.micro": 0.0084, "t3.micro": 0.0104},
                                "rds": {"db.t4g.micro": 0.016}, "aurora": {}, "elasticache": {}}
    table, changes = refresh(client, small)
    assert changes == ["ec2 t4g.micro: 0.0084 -> 0.009"]
    assert table["instance_hourly"]["ec2"] == {"t4g.micro": 0.009, "t3.micro": 0.0104}  # unknown: kept
    assert table["source"].startswith("AWS Price List API") and table["date"] != prices()["date"]
    ec2 = next(c for c in PricingStandIn.calls if c["ServiceCode"] == "AmazonEC2")
    assert {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"} in ec2["Filters"]
    assert prices()["instance_hourly"]["ec2"]["t4g.micro"] == 0.0084  # the repository's table untouched


def test_api_errors_become_a_clear_error(client) -> None:  # noqa: ANN001
    small = json.loads(json.dumps(prices()))
    small["instance_hourly"] = {"ec2": {"boom": 1.0}, "rds": {}, "aurora": {}, "elasticache": {}}
    with pytest.raises(ServiceUnavailable, match="Price List API failed"):
        refresh(client, small)
