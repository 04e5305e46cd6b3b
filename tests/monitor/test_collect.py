"""Collection against moto: every kind's metrics, incremental, batched, paged, throttled, refused,
and what it cost, as a user reads it from `archops monitor collect` and the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.store.metrics_store import MetricsStore
from monitor.cloudwatch import PRICE_PER_METRIC
from monitor.plan import MAX_DATAPOINTS, plan_calls, series_specs
from scanner.models import Inventory
from tests.monitor import series as gen
from tests.monitor.cloudwatch_standin import CloudWatchLimits
from tests.monitor.inventories import every_kind, every_kind_metrics, instance

pytestmark = pytest.mark.timeout(60)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


async def stored(metrics: MetricsStore, project: str) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """(resource id, metric) -> its datapoints, as the store holds them."""
    all_series = await metrics.series_of(project)
    rows = await metrics.points([s.id for s in all_series], 0)
    out: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for s in all_series:
        out.setdefault((s.spec.resource_id, s.spec.metric), []).extend((t, v) for t, _r, v in rows[s.id])
    return out


async def test_every_watched_kind_is_collected_with_its_cost(
        project, metrics, collector, cw, client_for, region) -> None:
    now = gen.now_aligned()
    client = cw(region)
    for namespace, name, dims in every_kind_metrics(region):
        gen.put(client, namespace, name, dims, gen.noise(now, 1, 10, 1, seed=len(name)))
    day = now // 86400 * 86400 - 86400  # S3 publishes its storage metrics once a day
    for name, storage, value in (("BucketSizeBytes", "StandardStorage", 5e9), ("NumberOfObjects", "AllStorageTypes", 1234)):
        gen.put(client, "AWS/S3", name, {"BucketName": "shop-assets", "StorageType": storage}, [(day, value)])

    report = await collector(backfill_s=2 * 86400).collect(project, every_kind(region), client_for)

    assert not report.problems and not report.skipped
    data = await stored(metrics, project)
    expected = {"instance": 5, "db_instance": 7, "lambda_function": 4, "cache_cluster": 3,
                "load_balancer": 4, "target_group": 2, "nat_gateway": 4, "s3_bucket": 2}
    kinds: dict[str, int] = {}
    for s in await metrics.series_of(project):
        kinds[s.spec.resource_kind] = kinds.get(s.spec.resource_kind, 0) + 1
        assert data[(s.spec.resource_id, s.spec.metric)], f"{s.spec.key} got no datapoint"
    assert kinds == expected
    assert data[("shop-assets", "size")] == [(day, 5e9)]
    assert len(data[("i-0a1b2c3d4e5f60001", "cpu")]) == 12  # one hour of 5-minute points
    assert report.metrics_requested == sum(expected.values())  # one call, one page
    assert report.cost_usd == pytest.approx(report.metrics_requested * PRICE_PER_METRIC)
    cost = await metrics.cost(project, EPOCH)
    assert cost["metrics_requested"] == report.metrics_requested and cost["runs"] == 1
    assert cost["usd"] == pytest.approx(round(report.cost_usd, 4))
    assert "GetMetricData calls" in report.summary() and f"${report.cost_usd:.4f}" in report.summary()


async def test_collection_is_incremental(project, metrics, collector, cw, moto_url, region) -> None:
    now = gen.now_aligned()
    client = cw(region)
    dims = {"InstanceId": "i-0inc"}
    gen.put(client, "AWS/EC2", "CPUUtilization", dims, gen.noise(now, 2, 20, 2))
    limits = CloudWatchLimits(moto_url)
    inv = Inventory(regions=[region], resources=[instance(region, "i-0inc")])
    clock = {"t": now}
    col = collector(backfill_s=3 * 3600)
    col.clock = lambda: clock["t"]

    first = await col.collect(project, inv, limits.client_for)
    assert first.stored == 2 * 24  # Average and Maximum, 24 points each
    first_starts = {c["start"] for c in limits.calls}
    assert first_starts == {datetime.fromtimestamp(now - 3 * 3600, UTC)}

    # 15 minutes later: three new points exist; only they are asked for and stored
    later = now + 900
    gen.put(client, "AWS/EC2", "CPUUtilization", dims, [(now, 50.0), (now + 300, 51.0), (now + 600, 52.0)])
    clock["t"] = later
    limits.calls.clear()
    second = await col.collect(project, inv, limits.client_for)
    assert second.stored == 6 and second.datapoints == 6
    assert {c["start"] for c in limits.calls} == {datetime.fromtimestamp(now, UTC)}
    cpu = (await stored(metrics, project))[("i-0inc", "cpu")]
    assert len(cpu) == 27 and len({t for t, _ in cpu}) == 27 and cpu[-1] == (now + 600, 52.0)

    # nothing new: the series read empty last time are not asked again for the same window
    limits.calls.clear()
    third = await col.collect(project, inv, limits.client_for)
    assert third.calls == 0 and third.stored == 0 and not limits.calls


async def test_more_than_500_metrics_are_batched_within_the_limits(
        project, metrics, collector, cw, moto_url, region) -> None:
    now = gen.now_aligned()
    client = cw(region)
    inv = Inventory(regions=[region], resources=[instance(region, f"i-{n:017x}") for n in range(130)])
    for r in inv.resources[::10]:
        gen.put(client, "AWS/EC2", "CPUUtilization", {"InstanceId": r.id}, gen.noise(now, 0.5, 30, 3))
    limits = CloudWatchLimits(moto_url)  # refuses a call of more than 500 queries, as AWS does

    report = await collector(backfill_s=1800).collect(project, inv, limits.client_for)

    assert not report.problems
    assert report.series == 650 and report.metrics_requested == 650
    assert sorted(c["queries"] for c in limits.calls) == [150, 500]
    data = await stored(metrics, project)
    assert all(len(data[(r.id, "cpu")]) == 6 for r in inv.resources[::10])
    assert report.datapoints == report.stored == 13 * 2 * 6  # the two calls ran at once


def test_a_long_backfill_is_split_within_the_datapoints_a_call_may_return() -> None:
    from core.store.metrics_store import Series

    inv = Inventory(regions=["eu-west-1"], resources=[instance("eu-west-1", f"i-{n}") for n in range(120)])
    specs = series_specs(inv, 300)
    series = [Series(i + 1, spec, None) for i, spec in enumerate(specs)]
    now = 1_800_000_000
    calls = plan_calls(series, now, backfill_s=14 * 86400, settle_s=0)
    assert sum(len(c.queries) for c in calls) == 600
    assert all(c.datapoints <= MAX_DATAPOINTS and len(c.queries) <= 500 for c in calls)
    assert max(len(c.queries) for c in calls) == MAX_DATAPOINTS // (14 * 288)  # 25 queries of 4,032 points
    # incremental: an hour behind, the same 600 series fit in two calls
    recent = [Series(s.id, s.spec, now - 3600) for s in series]
    assert [len(c.queries) for c in plan_calls(recent, now, backfill_s=14 * 86400, settle_s=0)] == [500, 100]


async def test_pages_are_followed_until_the_last(project, metrics, collector, cw, moto_url, region) -> None:
    now = gen.now_aligned()
    client = cw(region)
    for n in range(3):
        gen.put(client, "AWS/Lambda", "Invocations", {"FunctionName": f"fn-{n}"}, gen.noise(now, 4, 100, 5))
    inv = Inventory(regions=[region], resources=[
        r for n in range(3) for r in every_kind(region).resources if r.kind == "lambda_function"
        for r in [r.model_copy(update={"id": f"fn-{n}", "name": f"fn-{n}"})]])
    limits = CloudWatchLimits(moto_url, max_datapoints=50)

    report = await collector(backfill_s=4 * 3600).collect(project, inv, limits.client_for)

    assert report.datapoints == 3 * 48 and report.stored == 3 * 48
    assert len(limits.calls) == 3 and limits.calls[1]["next_token"] and limits.calls[2]["next_token"]
    assert report.calls == 3 and report.metrics_requested == 3 * 12  # a page requests its metrics again
    data = await stored(metrics, project)
    assert [len(data[(f"fn-{n}", "invocations")]) for n in range(3)] == [48, 48, 48]


async def test_throttled_calls_are_retried_with_backoff(project, metrics, collector, cw, moto_url, region) -> None:
    now = gen.now_aligned()
    gen.put(cw(region), "AWS/EC2", "CPUUtilization", {"InstanceId": "i-0thr"}, gen.noise(now, 1, 20, 2))
    limits = CloudWatchLimits(moto_url, throttle_next=3)
    inv = Inventory(regions=[region], resources=[instance(region, "i-0thr")])

    report = await collector().collect(project, inv, limits.client_for)

    assert report.throttled == 3 and report.calls == 4 and not report.problems
    assert len((await stored(metrics, project))[("i-0thr", "cpu")]) == 12
    assert "3 throttled and retried" in report.summary()


async def test_a_region_that_stays_throttled_is_reported_and_retried_next_time(
        project, metrics, collector, cw, moto_url, region) -> None:
    now = gen.now_aligned()
    gen.put(cw(region), "AWS/EC2", "CPUUtilization", {"InstanceId": "i-0thr2"}, gen.noise(now, 1, 20, 2))
    limits = CloudWatchLimits(moto_url, throttle_next=100)
    inv = Inventory(regions=[region], resources=[instance(region, "i-0thr2")])
    col = collector(max_attempts=3)

    first = await col.collect(project, inv, limits.client_for)
    assert [p.code for p in first.problems] == ["Throttling"] and first.stored == 0
    limits.throttle_next = 0
    second = await col.collect(project, inv, limits.client_for)
    assert not second.problems and second.stored == 24


async def test_a_denied_region_is_reported_and_the_others_are_collected(
        store, metrics, collector, cw, moto_url, region) -> None:
    other = "sa-east-1" if region != "sa-east-1" else "af-south-1"
    await store.upsert_project("two", aws_regions=[region, other])
    await metrics.watch("two")
    now = gen.now_aligned()
    for r in (region, other):
        gen.put(cw(r), "AWS/EC2", "CPUUtilization", {"InstanceId": f"i-0{r}"}, gen.noise(now, 1, 20, 2))
    inv = Inventory(regions=[region, other], resources=[instance(r, f"i-0{r}") for r in (region, other)])
    limits = CloudWatchLimits(moto_url, denied_regions={other})

    report = await collector().collect("two", inv, limits.client_for)

    assert [(p.region, p.code, p.metric) for p in report.problems] == [(other, "AccessDenied", None)]
    assert "grant cloudwatch:GetMetricData" in report.summary()
    data = await stored(metrics, "two")
    assert len(data[(f"i-0{region}", "cpu")]) == 12 and not data[(f"i-0{other}", "cpu")]
    runs = await metrics.runs("two", EPOCH)
    assert runs[0].problems[0]["region"] == other and report.partial


async def test_a_forbidden_metric_is_reported_alone(project, metrics, collector, cw, moto_url, region) -> None:
    now = gen.now_aligned()
    client = cw(region)
    gen.put(client, "AWS/EC2", "CPUUtilization", {"InstanceId": "i-0fb"}, gen.noise(now, 1, 20, 2))
    gen.put(client, "AWS/EC2", "NetworkIn", {"InstanceId": "i-0fb"}, gen.noise(now, 1, 5e6, 1e5))
    limits = CloudWatchLimits(moto_url, forbidden_metrics={"NetworkIn"})
    inv = Inventory(regions=[region], resources=[instance(region, "i-0fb")])

    report = await collector().collect(project, inv, limits.client_for)

    assert [(p.code, p.metric) for p in report.problems] == [("Forbidden", "AWS/EC2 NetworkIn i-0fb")]
    data = await stored(metrics, project)
    assert len(data[("i-0fb", "cpu")]) == 12 and not data[("i-0fb", "network_in")]
    # the forbidden metric is asked for again next time (it was not read)
    limits.forbidden_metrics.clear()
    limits.calls.clear()
    await collector().collect(project, inv, limits.client_for)
    assert [c["metrics"] for c in limits.calls] == [["NetworkIn"]]


def _kinds(inv: Inventory) -> list[str]:
    return sorted({r.kind for r in inv.resources})


def test_the_catalog_names_cloudwatch_dimensions_as_aws_does() -> None:
    inv = every_kind("eu-west-1")
    specs = {(s.resource_kind, s.metric): dict(s.dimensions) for s in series_specs(inv, 300)}
    assert specs[("load_balancer", "requests")] == {"LoadBalancer": "app/web/50dc6c495c0c9188"}
    assert specs[("target_group", "unhealthy")] == {"LoadBalancer": "app/web/50dc6c495c0c9188",
                                                    "TargetGroup": "targetgroup/web/6d0ecf831eec9f09"}
    assert specs[("s3_bucket", "objects")] == {"BucketName": "shop-assets", "StorageType": "AllStorageTypes"}
    assert _kinds(inv) == sorted({k for k, _ in specs})


def _since(days: int) -> Any:
    return datetime.now(UTC) - timedelta(days=days)
