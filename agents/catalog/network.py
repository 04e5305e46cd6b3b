"""The network blueprint: a VPC across AZs with public, private and data subnets."""

from __future__ import annotations

from agents.catalog.base import BuildContext, Facts, Fragment, Group, blueprint, tags
from agents.catalog.iam import assume_role
from agents.catalog.shared import NETWORK, log_group
from core.terraform.model import (
    Block,
    Call,
    Ref,
    Template,
    block,
    data,
    jsonencode,
    local,
    output,
    resource,
)

COUNT = Ref("count", "index")
AZS = Ref("local", "azs")
VPC_ID = NETWORK.vpc_id


def az_count(ctx: BuildContext) -> int:
    if ctx.req.az_count:
        return ctx.req.az_count
    return 3 if ctx.req.production and ctx.req.traffic == "high" else 2


def nat_count(ctx: BuildContext) -> int:
    """A NAT gateway per AZ when the design is Multi-AZ (one AZ's outage leaves the others their
    way out), one otherwise; what the request says wins."""
    nat = ctx.req.nat or ("per_az" if ctx.req.multi_az else "single")
    return {"per_az": az_count(ctx), "single": 1, "none": 0}[nat]


def _subnets(tier: str, offset: int) -> list[Block]:
    name = Template(local("name"), f"-{tier}-", Ref("local", "azs", COUNT))
    attrs = {
        "count": Call("length", AZS),
        "vpc_id": VPC_ID,
        "cidr_block": Call("cidrsubnet", NETWORK.cidr_block, 4, _plus(COUNT, offset)),
        "availability_zone": Ref("local", "azs", COUNT),
        "tags": {"Name": name, "Tier": tier},
    }
    return [resource("aws_subnet", tier, **attrs)]


def _plus(left: Ref, right: int) -> Ref | Call:
    """``sum([a, n])``: Terraform's config export cannot serialise binary operators."""
    return Call("sum", [left, right]) if right else left


@blueprint(
    "vpc",
    title="VPC",
    concern="network.tf",
    why="Public subnets hold only load balancers and NAT; applications run in private subnets "
    "and data stores in isolated data subnets, spread over AZs so one AZ outage is survivable. "
    "Flow logs record traffic for security investigations.",
    requires=("kms",),
    component="VPC with public, private and data subnets",
    words=r"\bvpc\b|private network|subnets?",
    facts=Facts(direct=True),
    groups=(
        Group("vpc", "VPC", "region"),
        *(Group(tier, f"{tier} subnets", "vpc", azs="one per AZ") for tier in ("public", "private", "data")),
    ),
)
def vpc(ctx: BuildContext) -> Fragment:
    out = Fragment()
    nats = nat_count(ctx)
    blocks = [
        data("aws_availability_zones", "available", state="available").skip(
            "CKV_AWS_394", "the module takes the first zones with slice(), so a new zone never changes the layout"
        ),
        Block("locals", (), {"azs": Call("slice", Ref("data", "aws_availability_zones", "available", "names"), 0, az_count(ctx))}),
        resource(
            "aws_vpc",
            "main",
            cidr_block=ctx.req.vpc_cidr or "10.0.0.0/16",
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=tags(ctx.name("vpc", "vpc")),
        ),
        resource("aws_default_security_group", "main", vpc_id=VPC_ID, tags=tags(Template(local("name"), "-default-deny"))),
        resource("aws_internet_gateway", "main", vpc_id=VPC_ID, tags=tags(local("name"))),
        *_subnets("public", 0),
        *_subnets("private", 4),
        *_subnets("data", 8),
        *_nat_gateways(nats),
        *_route_tables(nats),
        *_flow_logs(ctx, out),
    ]
    out.add("network.tf", *blocks)
    out.outputs += [
        output("vpc_id", VPC_ID, "ID of the VPC"),
        output("private_subnet_ids", NETWORK.private_subnet_ids, "Subnets for application workloads"),
        output("data_subnet_ids", NETWORK.data_subnet_ids, "Isolated subnets for data stores"),
    ]
    out.node("aws_vpc.main", "VPC", "vpc", "vpc")
    if nats:
        out.node("aws_nat_gateway.main", f"NAT gateway x{nats}", "nat", "public")
    out.node("aws_internet_gateway.main", "Internet gateway", "igw", "vpc")
    return out


def _nat_gateways(nats: int) -> list[Block]:
    if not nats:
        return []
    return [
        resource("aws_eip", "nat", count=nats, domain="vpc", tags=tags(Template(local("name"), "-nat-", COUNT))),
        resource(
            "aws_nat_gateway",
            "main",
            count=nats,
            allocation_id=Ref("aws_eip", "nat", COUNT, "id"),
            subnet_id=NETWORK.subnet_id("public", COUNT),
            tags=tags(Template(local("name"), "-nat-", COUNT)),
            depends_on=[NETWORK.internet_gateway],
        ),
    ]


def _association(tier: str, table: Ref) -> Block:
    return resource(
        "aws_route_table_association",
        tier,
        count=Call("length", AZS),
        subnet_id=NETWORK.subnet_id(tier, COUNT),
        route_table_id=table,
    )


def _route_tables(nats: int) -> list[Block]:
    """Public: to the internet gateway. Private (one per AZ): to a NAT gateway. Data: no route out."""
    public = resource(
        "aws_route_table",
        "public",
        block("route", cidr_block="0.0.0.0/0", gateway_id=Ref("aws_internet_gateway", "main", "id")),
        vpc_id=VPC_ID,
        tags=tags(Template(local("name"), "-public")),
    )
    private = resource(
        "aws_route_table",
        "private",
        count=Call("length", AZS),
        vpc_id=VPC_ID,
        tags=tags(Template(local("name"), "-private-", Ref("local", "azs", COUNT))),
    )
    if nats:
        nat_index = COUNT if nats > 1 else 0
        private.add(block("route", cidr_block="0.0.0.0/0", nat_gateway_id=Ref("aws_nat_gateway", "main", nat_index, "id")))
    data_table = resource("aws_route_table", "data", vpc_id=VPC_ID, tags=tags(Template(local("name"), "-data")))
    return [
        public,
        _association("public", Ref("aws_route_table", "public", "id")),
        private,
        _association("private", Ref("aws_route_table", "private", COUNT, "id")),
        data_table,
        _association("data", Ref("aws_route_table", "data", "id")),
    ]


def _flow_logs(ctx: BuildContext, out: Fragment) -> list[Block]:
    assume = assume_role("vpc-flow-logs.amazonaws.com")
    group = Ref("aws_cloudwatch_log_group", "flow_logs", "arn")
    return [
        log_group(ctx, out, "flow_logs", Template("/aws/vpc/", local("name"), "/flow-logs")),
        resource("aws_iam_role", "flow_logs", name=Template(local("name"), "-flow-logs"), assume_role_policy=assume),
        resource(
            "aws_iam_role_policy",
            "flow_logs",
            name="write-flow-logs",
            role=Ref("aws_iam_role", "flow_logs", "id"),
            policy=jsonencode(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            "Resource": Template(group, ":*"),
                        }
                    ],
                }
            ),
        ),
        resource(
            "aws_flow_log",
            "main",
            vpc_id=VPC_ID,
            traffic_type="ALL",
            log_destination=group,
            iam_role_arn=Ref("aws_iam_role", "flow_logs", "arn"),
            max_aggregation_interval=60,
        ),
    ]
