"""What is watched for each kind of resource the scanner inventories, as data.

One row per kind: the CloudWatch namespace, the metrics that matter (with the statistic asked
for) and how a resource of the inventory names its dimensions. Adding a kind or a metric is
adding a row; nothing else needs to know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from scanner.models import Resource

Dims = tuple[tuple[str, str], ...]
Direction = Literal["up", "down", "both"]


@dataclass(frozen=True)
class Metric:
    key: str  # the short name the detectors use
    name: str  # CloudWatch's metric name
    stat: str
    unit: str | None = None
    # which way an unusual value matters to the anomaly detector (None: not judged)
    anomaly: Direction | None = None
    # a fixed period (S3's storage metrics are daily); None: the configured period
    period: int | None = None
    label: str = ""


@dataclass(frozen=True)
class Watched:
    kind: str
    namespace: str
    metrics: tuple[Metric, ...]
    # the dimension sets of one resource (several: a replication group's nodes); [] = unwatchable
    dimensions: Callable[[Resource], list[Dims]]


def _one(name: str, attr: str | None = None) -> Callable[[Resource], list[Dims]]:
    def dims(r: Resource) -> list[Dims]:
        value = r.attrs.get(attr) if attr else r.id
        return [((name, str(value)),)] if value else []
    return dims


def arn_suffix(arn: str, marker: str) -> str | None:
    """``app/name/id`` of an ALB ARN (marker ``loadbalancer/``), ``targetgroup/name/id`` of a
    target group ARN (marker ``targetgroup/``): the values CloudWatch's ELB dimensions take."""
    if marker not in arn:
        return None
    tail = arn.split(":", 5)[-1]
    return tail.split(marker, 1)[1] if marker == "loadbalancer/" else tail


def _alb(r: Resource) -> list[Dims]:
    if r.attrs.get("type") != "application":
        return []
    suffix = arn_suffix(r.arn or r.id, "loadbalancer/")
    return [(("LoadBalancer", suffix),)] if suffix else []


def _target_group(r: Resource) -> list[Dims]:
    tg = arn_suffix(r.arn or r.id, "targetgroup/")
    lbs = [arn_suffix(a, "loadbalancer/") for a in r.attrs.get("load_balancer_arns") or []]
    return [(("LoadBalancer", lb), ("TargetGroup", tg)) for lb in lbs if lb and tg and lb.startswith("app/")]


def _cache_nodes(r: Resource) -> list[Dims]:
    if r.kind == "cache_cluster":
        return [(("CacheClusterId", r.id),)]
    return [(("CacheClusterId", m),) for m in r.attrs.get("members") or []]


def _bucket(storage_type: str) -> Callable[[Resource], list[Dims]]:
    def dims(r: Resource) -> list[Dims]:
        return [(("BucketName", r.id), ("StorageType", storage_type))]
    return dims


_CACHE = (
    Metric("cpu", "CPUUtilization", "Average", "Percent", "up", label="CPU %"),
    Metric("memory", "DatabaseMemoryUsagePercentage", "Average", "Percent", "up", label="memory %"),
    Metric("evictions", "Evictions", "Sum", "Count", "up", label="evictions"),
)

CATALOG: tuple[Watched, ...] = (
    Watched("instance", "AWS/EC2", (
        Metric("cpu", "CPUUtilization", "Average", "Percent", "up", label="CPU %"),
        Metric("cpu_max", "CPUUtilization", "Maximum", "Percent", label="CPU % (max)"),
        Metric("network_in", "NetworkIn", "Sum", "Bytes", "both", label="network in"),
        Metric("network_out", "NetworkOut", "Sum", "Bytes", "both", label="network out"),
        Metric("status_failed", "StatusCheckFailed", "Maximum", "Count", label="status check failed"),
    ), _one("InstanceId")),
    Watched("db_instance", "AWS/RDS", (
        Metric("cpu", "CPUUtilization", "Average", "Percent", "up", label="CPU %"),
        Metric("connections", "DatabaseConnections", "Maximum", "Count", "both", label="connections"),
        Metric("free_storage", "FreeStorageSpace", "Minimum", "Bytes", label="free storage"),
        Metric("freeable_memory", "FreeableMemory", "Minimum", "Bytes", label="freeable memory"),
        Metric("read_iops", "ReadIOPS", "Average", "Count/Second", "up", label="read IOPS"),
        Metric("write_iops", "WriteIOPS", "Average", "Count/Second", "up", label="write IOPS"),
        Metric("replica_lag", "ReplicaLag", "Maximum", "Seconds", "up", label="replica lag"),
    ), _one("DBInstanceIdentifier")),
    Watched("lambda_function", "AWS/Lambda", (
        Metric("invocations", "Invocations", "Sum", "Count", "both", label="invocations"),
        Metric("errors", "Errors", "Sum", "Count", "up", label="errors"),
        Metric("throttles", "Throttles", "Sum", "Count", "up", label="throttles"),
        Metric("duration", "Duration", "Average", "Milliseconds", "up", label="duration ms"),
    ), _one("FunctionName")),
    Watched("cache_cluster", "AWS/ElastiCache", _CACHE, _cache_nodes),
    Watched("replication_group", "AWS/ElastiCache", _CACHE, _cache_nodes),
    Watched("load_balancer", "AWS/ApplicationELB", (
        Metric("requests", "RequestCount", "Sum", "Count", "both", label="requests"),
        Metric("elb_5xx", "HTTPCode_ELB_5XX_Count", "Sum", "Count", "up", label="ELB 5XX"),
        Metric("target_5xx", "HTTPCode_Target_5XX_Count", "Sum", "Count", "up", label="target 5XX"),
        Metric("response_time", "TargetResponseTime", "Average", "Seconds", "up", label="response s"),
    ), _alb),
    Watched("target_group", "AWS/ApplicationELB", (
        Metric("unhealthy", "UnHealthyHostCount", "Maximum", "Count", label="unhealthy hosts"),
        Metric("healthy", "HealthyHostCount", "Minimum", "Count", label="healthy hosts"),
    ), _target_group),
    Watched("nat_gateway", "AWS/NATGateway", (
        Metric("bytes_out", "BytesOutToDestination", "Sum", "Bytes", "both", label="bytes out"),
        Metric("bytes_in", "BytesInFromDestination", "Sum", "Bytes", "both", label="bytes in"),
        Metric("dropped", "PacketsDropCount", "Sum", "Count", "up", label="dropped packets"),
        Metric("port_errors", "ErrorPortAllocation", "Sum", "Count", "up", label="port allocation errors"),
    ), _one("NatGatewayId")),
    Watched("s3_bucket", "AWS/S3", (
        Metric("size", "BucketSizeBytes", "Average", "Bytes", period=86400, label="size"),
    ), _bucket("StandardStorage")),
    Watched("s3_bucket", "AWS/S3", (
        Metric("objects", "NumberOfObjects", "Average", "Count", period=86400, label="objects"),
    ), _bucket("AllStorageTypes")),
)

WATCHED_KINDS = frozenset(w.kind for w in CATALOG)


def metric(kind: str, key: str) -> Metric | None:
    for w in CATALOG:
        if w.kind == kind:
            for m in w.metrics:
                if m.key == key:
                    return m
    return None
