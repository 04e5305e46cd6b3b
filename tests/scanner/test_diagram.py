"""The scanned account as the web app's graph: region ⊃ VPC ⊃ AZ ⊃ subnet ⊃ resources."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from scanner import scan
from scanner.diagram import to_diagram
from tests.scanner.seed import REGIONS


@pytest.fixture(scope="module")
def diagram(moto_url: str, account: dict[str, Any]) -> dict[str, Any]:
    return to_diagram(scan(REGIONS, endpoint_url=moto_url))


def test_counts(diagram: dict[str, Any]) -> None:
    kinds = Counter(g["kind"] for g in diagram["groups"])
    assert kinds["region"] == 2
    assert kinds["vpc"] == 3  # the default VPCs hold nothing and are left out
    assert kinds["az"] == 6
    assert kinds["subnet"] == 12  # empty ones too
    nodes = Counter(n["kind"] for n in diagram["nodes"])
    assert nodes == {"instance": 4, "lambda_function": 4, "db_instance": 3, "db_cluster": 1, "s3_bucket": 4,
                     "internet_gateway": 3, "nat_gateway": 2, "cache_cluster": 1, "replication_group": 1,
                     "load_balancer": 2, "target_group": 2, "classic_load_balancer": 1, "iam_role": 3,
                     "hosted_zone": 2}


def test_nesting(diagram: dict[str, Any], account: dict[str, Any]) -> None:
    groups = {g["id"]: g for g in diagram["groups"]}
    nodes = {n["id"]: n for n in diagram["nodes"]}

    def chain(gid: str) -> list[str]:
        out = []
        while gid:
            out.append(groups[gid]["kind"])
            gid = groups[gid]["parent"]
        return out

    app = nodes[account["instances"][0]]
    assert app["group"] == f"subnet:{account['prod']['private'][0]}" == app["parent"]
    assert chain(app["group"]) == ["subnet", "az", "vpc", "region", "account"]
    assert nodes[account["lb"]]["group"] == f"vpc:{account['prod']['vpc']}"
    assert nodes["acme-api-lambda"]["group"] == "global"
    assert nodes["acme-eu-data"]["group"] == "region:eu-west-1"
    assert nodes["acme-prod-pg"]["group"].startswith("subnet:")  # in its AZ's subnet of the group
    assert nodes[account["zone"]]["group"] == "global"  # Route 53 is global, like IAM


def test_edges(diagram: dict[str, Any], account: dict[str, Any]) -> None:
    edges = {(e["from"], e["to"]) for e in diagram["edges"]}
    assert (account["lb"], account["tg"]) in edges
    assert {(account["tg"], i) for i in account["instances"]} <= edges
    assert ("acme-api", "acme-api-lambda") in edges
    assert (account["instances"][0], "acme-prod-pg") in edges  # app SG may reach the db SG
    assert ("acme-prod-aurora-1", "acme-prod-aurora") in edges
    assert ("staging-classic", account["bastion"]) in edges
    assert (account["zone"], account["lb"]) in edges  # app.acme.example is an alias of the ALB
    assert (account["nlb"], account["ntg"]) in edges and (account["ntg"], account["eu_instance"]) in edges
    ids = {n["id"] for n in diagram["nodes"]}
    assert all(a in ids and b in ids for a, b in edges)
