"""Blocks kept as plain data (a checkpoint holds them) rebuild into the same typed blocks."""

from __future__ import annotations

import json

import pytest

from core.errors import ValidationError
from core.terraform.hcl import render_block
from core.terraform.model import (
    Call,
    Cond,
    ForList,
    ForMap,
    Op,
    Ref,
    Template,
    block,
    block_from_data,
    block_to_data,
    jsonencode,
    resource,
    var,
    variable,
)


def every_kind() -> list:
    count = Ref("count", "index")
    return [
        resource(
            "aws_subnet", "private",
            block("lifecycle", ignore_changes=[Ref("tags")]),
            count=Call("length", Ref("local", "azs")),
            vpc_id=Ref("aws_vpc", "main", "id"),
            cidr_block=Call("cidrsubnet", Ref("aws_vpc", "main", "cidr_block"), 4, Call("sum", [count, 4])),
            availability_zone=Ref("local", "azs", count),
            tags={"Name": Template(Ref("local", "name"), "-private-", count), "$expr": "a literal key"},
            map_public_ip_on_launch=Cond(Op(var("environment"), "==", "prod"), False, None),
            depends_on=[Ref("aws_internet_gateway", "main")],
        ).skip("CKV_AWS_130", "a reason, with ${no} interpolation"),
        resource(
            "aws_route53_record", "validation",
            for_each=ForMap("dvo", Ref("aws_acm_certificate", "main", "domain_validation_options"), Ref("dvo", "domain_name"),
                            {"name": Ref("dvo", "resource_record_name")}),
            zone_id="Z123", name=Ref("each", "value", "name"), type="CNAME", ttl=60,
            records=[ForList("r", Ref("aws_route53_record", "x"), Ref("r", "fqdn"))],
            policy=jsonencode({"Statement": [{"Resource": Ref("aws_s3_bucket", "b", "*", "arn"), "Effect": "Allow"}]}),
        ),
        variable("region", "list(string)", "Regions", ["eu-west-1"]),
    ]


@pytest.mark.parametrize("item", every_kind(), ids=lambda b: ".".join(b.labels))
def test_a_block_survives_the_round_trip_through_json(item) -> None:  # noqa: ANN001
    data = json.loads(json.dumps(block_to_data(item)))  # what a checkpoint stores and gives back
    rebuilt = block_from_data(data)
    assert render_block(rebuilt) == render_block(item)
    assert rebuilt.skips == item.skips and list(rebuilt.refs()) == list(item.refs())


def test_stored_data_with_an_unknown_expression_is_refused() -> None:
    with pytest.raises(ValidationError):
        block_from_data({"type": "resource", "labels": ["aws_vpc", "main"], "attrs": {"x": {"$expr": "eval"}}})
