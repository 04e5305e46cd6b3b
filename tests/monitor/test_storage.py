"""Datapoints and insights in the system of record, on SQLite and PostgreSQL: fenced writes,
retention and downsampling, charts, and the life of an insight."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import LeaseLost, NotFound, ValidationError
from core.store import Store, schema_diff
from core.store.metrics_store import MetricsStore, RunRecord, SeriesSpec

NOW = 1_800_000_000 // 3600 * 3600  # a whole hour
DAY = 86400


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[tuple[Store, MetricsStore, str]]:
    store = await Store.open(db_url)
    project = f"p{uuid.uuid4().hex[:8]}"  # the PostgreSQL database is shared by the session
    await store.upsert_project(project, aws_regions=["eu-west-1"])
    metrics = MetricsStore(store)
    await metrics.watch(project)
    yield store, metrics, project
    await store.close()


def spec(name: str, stat: str, resource: str = "i-1") -> SeriesSpec:
    return SeriesSpec(region="eu-west-1", resource_kind="instance", resource_id=resource, metric=name.lower(),
                      namespace="AWS/EC2", name=name, stat=stat, period=300,
                      dimensions=(("InstanceId", resource),))


async def test_the_migration_matches_the_models(db, db_url) -> None:
    assert schema_diff(db_url) == []


async def test_points_are_written_once_and_fenced(db) -> None:
    _store, metrics, project = db
    [cpu] = await metrics.ensure_series(project, [spec("CPUUtilization", "Average")])
    again = await metrics.ensure_series(project, [spec("CPUUtilization", "Average")])
    assert again[0].id == cpu.id
    await metrics.register_fence(project, 3)
    points = {cpu.id: [(NOW - 600, 10.0), (NOW - 300, 20.0)]}
    assert await metrics.write(project, 3, points, read_to={cpu.id: NOW}) == 2
    assert await metrics.write(project, 3, points) == 0  # a retried write repeats nothing
    with pytest.raises(LeaseLost):
        await metrics.write(project, 2, {cpu.id: [(NOW, 99.0)]})
    [row] = await metrics.series_of(project)
    assert (row.last_ts, row.read_to) == (NOW - 300, NOW)
    assert (await metrics.points([cpu.id], 0))[cpu.id] == [(NOW - 600, 300, 10.0), (NOW - 300, 300, 20.0)]


async def test_old_points_are_rolled_up_hourly_then_expire(db) -> None:
    _store, metrics, project = db
    avg, top, total = await metrics.ensure_series(project, [
        spec("CPUUtilization", "Average"), spec("CPUUtilization", "Maximum"), spec("NetworkIn", "Sum")])
    await metrics.register_fence(project, 1)
    old = NOW - 20 * DAY  # beyond the 15 days 5-minute points are kept
    hour = [old + 300 * k for k in range(12)]
    recent = [NOW - 300 * k for k in range(1, 4)]
    await metrics.write(project, 1, {
        avg.id: [(t, float(k)) for k, t in enumerate(hour)] + [(t, 50.0) for t in recent],
        top.id: [(t, float(k)) for k, t in enumerate(hour)],
        total.id: [(t, 100.0) for t in hour],
    })
    await metrics.write(project, 1, {avg.id: [(NOW - 500 * DAY, 1.0)]})  # a year and more ago

    counts = await metrics.rollup(NOW, raw_keep_s=15 * DAY, hourly_keep_s=455 * DAY)
    assert counts["hourly_points_made"] == 4 and counts["raw_points_dropped"] == 37
    rows = await metrics.points([avg.id, top.id, total.id], 0)
    assert rows[avg.id][0] == (old - old % 3600, 3600, 5.5)  # the mean of 0..11
    assert rows[top.id] == [(old - old % 3600, 3600, 11.0)]
    assert rows[total.id] == [(old - old % 3600, 3600, 1200.0)]  # a Sum stays a sum
    assert [r[2] for r in rows[avg.id][1:]] == [50.0, 50.0, 50.0]  # recent points untouched
    # rerun: nothing folded twice; later, the hourly points themselves expire
    assert (await metrics.rollup(NOW, 15 * DAY, 455 * DAY))["hourly_points_made"] == 0
    assert (await metrics.rollup(NOW + 500 * DAY, 15 * DAY, 455 * DAY))["hourly_points_expired"] >= 3


async def test_a_chart_is_aggregated_per_bucket(db) -> None:
    _store, metrics, project = db
    [cpu] = await metrics.ensure_series(project, [spec("CPUUtilization", "Average")])
    await metrics.register_fence(project, 1)
    await metrics.write(project, 1, {cpu.id: [(NOW - 3600 + 300 * k, float(k)) for k in range(12)]})
    chart = await metrics.chart([cpu.id], NOW - 7200, NOW, 1800)
    assert chart[cpu.id] == [(NOW - 3600, 2.5, 5.0), (NOW - 1800, 8.5, 11.0)]


def finding(ident: str, severity: str = "warning", detector: str = "saturation") -> dict:  # type: ignore[type-arg]
    return {"id": ident, "detector": detector, "severity": severity, "region": "eu-west-1",
            "resource_kind": "instance", "resource_id": "i-1", "metric": "cpu",
            "title": {"en": "CPU of i-1 saturated", "ko": "i-1의 CPU 포화"},
            "recommendation": {"en": "resize it", "ko": "크기를 늘리세요"},
            "evidence": {"numbers": {"peak": 99.0}}, "change_request": "resize instance i-1 from m5.large to m5.xlarge",
            "monthly_usd": 70.08, "window_start": NOW - 3600, "window_end": NOW}


async def test_an_insight_opens_updates_resolves_and_reopens(db) -> None:
    _store, metrics, project = db
    t0 = datetime.fromtimestamp(NOW, UTC)
    ident = f"ins_{project}"
    assert (await metrics.save_insights(project, [finding(ident)], ["saturation"], now=t0))["new"] == 1
    await metrics.mark_notified([ident], t0)
    counts = await metrics.save_insights(project, [finding(ident, "critical")], ["saturation"], now=t0 + timedelta(hours=1))
    row = await metrics.get_insight(ident)
    assert counts["updated"] == 1 and row.severity == "critical" and row.first_seen == t0
    assert row.notified_severity == "warning"  # became critical since it was told: told again
    # another detector's run does not resolve it; its own run without it does
    assert (await metrics.save_insights(project, [], ["storage"]))["resolved"] == 0
    assert (await metrics.save_insights(project, [], ["saturation"]))["resolved"] == 1
    assert [r.id for r in await metrics.insights(project)] == []
    later = t0 + timedelta(days=2)
    assert (await metrics.save_insights(project, [finding(ident)], ["saturation"], now=later))["reopened"] == 1
    row = await metrics.get_insight(ident)
    assert row.status == "open" and row.notified_at is None and row.first_seen == later
    with pytest.raises(NotFound):
        await metrics.get_insight(ident, project_id="another")
    with pytest.raises(ValidationError):
        await metrics.save_insights(project, [finding("x", "fatal")], ["saturation"])


async def test_watch_settings_are_checked(db) -> None:
    _store, metrics, project = db
    row = await metrics.watch(project, language="ko", timezone="Asia/Seoul", quiet_hours="22:00-07:30")
    assert (row.language, row.timezone, row.quiet_hours) == ("ko", "Asia/Seoul", "22:00-07:30")
    for bad in ({"language": "fr"}, {"timezone": "Mars/Olympus"}, {"quiet_hours": "10pm-7am"}):
        with pytest.raises(ValidationError):
            await metrics.watch(project, **bad)
    with pytest.raises(NotFound):
        await metrics.watch("nobody")
    await metrics.register_fence(project, 1)
    await metrics.write(project, 1, {}, RunRecord("m", datetime.now(UTC), datetime.now(UTC), ["eu-west-1"],
                                                  calls=2, metrics_requested=1500, cost_usd=0.015))
    assert (await metrics.cost(project, datetime.now(UTC) - timedelta(days=1)))["usd"] == 0.015
