"""Inventories as the scanner builds them (scanner.models), for the monitor's tests."""

from __future__ import annotations

from typing import Any

from scanner.models import Inventory, Resource

ACCOUNT = "123456789012"


def alb_arn(region: str, name: str = "web") -> str:
    return f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/app/{name}/50dc6c495c0c9188"


def tg_arn(region: str, name: str = "web") -> str:
    return f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:targetgroup/{name}/6d0ecf831eec9f09"


def instance(region: str, ident: str, itype: str = "m5.xlarge", **extra: Any) -> Resource:
    return Resource(kind="instance", id=ident, region=region, name=extra.pop("name", None),
                    availability_zone=f"{region}a", tags=extra.pop("tags", {}),
                    attrs={"instance_type": itype, **extra})


def database(region: str, ident: str, cls: str = "db.m5.large", **attrs: Any) -> Resource:
    return Resource(kind="db_instance", id=ident, region=region, availability_zone=f"{region}a",
                    attrs={"instance_class": cls, "engine": "postgres", "allocated_storage": 20,
                           "storage_type": "gp3", "multi_az": False, **attrs})


def function(region: str, name: str) -> Resource:
    return Resource(kind="lambda_function", id=name, region=region, name=name, attrs={"timeout": 30})


def every_kind(region: str) -> Inventory:
    """One resource of each kind the monitor watches."""
    return Inventory(regions=[region], resources=[
        instance(region, "i-0a1b2c3d4e5f60001", tags={"aws:autoscaling:groupName": "web"}),
        database(region, "shop-db", multi_az=True),
        function(region, "shop-api"),
        Resource(kind="cache_cluster", id="shop-cache", region=region, attrs={"node_type": "cache.t3.small"}),
        Resource(kind="load_balancer", id=alb_arn(region), arn=alb_arn(region), region=region, name="web",
                 attrs={"type": "application"}, targets=[tg_arn(region)]),
        Resource(kind="target_group", id=tg_arn(region), arn=tg_arn(region), region=region, name="web",
                 targets=["i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"],
                 attrs={"load_balancer_arns": [alb_arn(region)]}),
        Resource(kind="nat_gateway", id="nat-0a1b2c3d4e5f60001", region=region),
        Resource(kind="s3_bucket", id="shop-assets", region=region, attrs={}),
    ])


# (namespace, metric, dimensions) of every series every_kind() is watched by: what a test seeds
def every_kind_metrics(region: str) -> list[tuple[str, str, dict[str, str]]]:
    lb, tg = "app/web/50dc6c495c0c9188", "targetgroup/web/6d0ecf831eec9f09"
    out: list[tuple[str, str, dict[str, str]]] = []
    out += [("AWS/EC2", m, {"InstanceId": "i-0a1b2c3d4e5f60001"})
            for m in ("CPUUtilization", "NetworkIn", "NetworkOut", "StatusCheckFailed")]
    out += [("AWS/RDS", m, {"DBInstanceIdentifier": "shop-db"}) for m in (
        "CPUUtilization", "DatabaseConnections", "FreeStorageSpace", "FreeableMemory", "ReadIOPS",
        "WriteIOPS", "ReplicaLag")]
    out += [("AWS/Lambda", m, {"FunctionName": "shop-api"}) for m in ("Invocations", "Errors", "Throttles", "Duration")]
    out += [("AWS/ElastiCache", m, {"CacheClusterId": "shop-cache"})
            for m in ("CPUUtilization", "DatabaseMemoryUsagePercentage", "Evictions")]
    out += [("AWS/ApplicationELB", m, {"LoadBalancer": lb}) for m in (
        "RequestCount", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "TargetResponseTime")]
    out += [("AWS/ApplicationELB", m, {"LoadBalancer": lb, "TargetGroup": tg})
            for m in ("UnHealthyHostCount", "HealthyHostCount")]
    out += [("AWS/NATGateway", m, {"NatGatewayId": "nat-0a1b2c3d4e5f60001"}) for m in (
        "BytesOutToDestination", "BytesInFromDestination", "PacketsDropCount", "ErrorPortAllocation")]
    return out
