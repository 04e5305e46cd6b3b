"""The monitor: collection time and AWS calls for 1,000 resources, and detector time for 30 days
of 5-minute datapoints per resource, each against a naive baseline measured in the same run.

    .venv/bin/python bench/monitor.py [--resources 1000] [--detect-resources 200] [--naive-resources 20]
                                      [--rtt-ms 30] [--skip-collection]

Collection: moto's server runs in a process of its own (as AWS would be another machine) with a
1,000-resource inventory (instances, databases, functions, load balancers, NAT gateways: about
5,000 metrics), one new datapoint per metric: the steady state of a monitor collecting every
5 minutes. The collector (GetMetricData, up to 500 metrics a call, 4 calls in flight, written to
SQLite fenced by the project's lock) is timed against the way many scripts do it: one
GetMetricStatistics call per metric, one after another. Both are billed the same ($0.01 per
1,000 metrics requested); the calls and the time are not. The planned calls of a first
collection (14 days of history: 4,032 points per metric, so 25 metrics a call within the
100,800 datapoints a call may return) are printed too. moto's GetMetricData scans every stored
datapoint for every query, so on moto the time is mostly moto's own; the same collection is
then run with the answers moto gave replayed inside the client (nothing sent), with no delay and
with a simulated round trip to AWS (``--rtt-ms``), which shows archops' own work and what the
number of calls costs.

Detectors: every detector over an in-memory context of N resources x their metrics, 30 days of
5-minute points each (8,640 a series), seeded with noise, daily seasonality and a few patterns.
The naive baseline is the anomaly detector computing each hour's expected value by scanning the
baseline again (O(n^2) per series) instead of indexing it once by hour of the week: the same
findings (checked), on the first ``--naive-resources`` resources.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402

from core.redis_client import make_redis  # noqa: E402
from core.redis_server import EmbeddedRedis  # noqa: E402
from core.store import Store  # noqa: E402
from core.store.metrics_store import MetricsStore, Series  # noqa: E402
from monitor.collector import Collector, CollectorConfig  # noqa: E402
from monitor.detectors import anomaly, run_all  # noqa: E402
from monitor.insight import Context, Points  # noqa: E402
from monitor.lock import ProjectLock  # noqa: E402
from monitor.plan import plan_calls, series_specs  # noqa: E402
from scanner.models import Inventory, Resource  # noqa: E402
from tests.aws_server import moto_process  # noqa: E402

REGION = "eu-west-1"
PERIOD = 300


def inventory(n: int) -> Inventory:
    """n resources: 60% instances, 15% databases, 15% functions, 7% load balancers, 3% NAT."""
    out: list[Resource] = []
    for i in range(n):
        share = i % 100
        if share < 60:
            out.append(Resource(kind="instance", id=f"i-{i:017x}", region=REGION,
                                attrs={"instance_type": "m5.xlarge"}))
        elif share < 75:
            out.append(Resource(kind="db_instance", id=f"db-{i}", region=REGION,
                                attrs={"instance_class": "db.m5.large", "allocated_storage": 100, "multi_az": True}))
        elif share < 90:
            out.append(Resource(kind="lambda_function", id=f"fn-{i}", region=REGION, attrs={}))
        elif share < 97:
            arn = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/app/lb-{i}/{i:016x}"
            out.append(Resource(kind="load_balancer", id=arn, arn=arn, region=REGION, attrs={"type": "application"}))
        else:
            out.append(Resource(kind="nat_gateway", id=f"nat-{i:017x}", region=REGION))
    return Inventory(regions=[REGION], resources=out)


def cloudwatch(url: str) -> Any:
    return boto3.client("cloudwatch", region_name=REGION, endpoint_url=url,
                        aws_access_key_id="bench", aws_secret_access_key="bench")


async def bench_collection(n: int, rtt_ms: float = 30.0) -> None:
    moto = contextlib.ExitStack()  # moto in a process of its own (tests.aws_server)
    url = moto.enter_context(moto_process())
    tmp = Path(tempfile.mkdtemp(prefix="archops-bench-monitor-"))
    redis_server = EmbeddedRedis(tmp / "redis").start()
    redis = make_redis(redis_server.url)
    store = await Store.open(f"sqlite:///{tmp / 'archops.sqlite3'}")
    try:
        inv = inventory(n)
        await store.upsert_project("bench", aws_regions=[REGION])
        metrics = MetricsStore(store)
        await metrics.watch("bench")
        now = int(time.time()) // PERIOD * PERIOD
        series = await metrics.ensure_series("bench", series_specs(inv, PERIOD))
        # the steady state: every series read up to the period before the newest one
        await metrics.register_fence("bench", 1)
        await metrics.write("bench", 1, {}, read_to={s.id: now - PERIOD for s in series})
        cw = cloudwatch(url)
        t0 = time.perf_counter()
        data = [{"MetricName": s.spec.name, "Dimensions": [{"Name": k, "Value": v} for k, v in s.spec.dimensions],
                 "Timestamp": datetime.fromtimestamp(now - PERIOD, UTC), "Value": random.random() * 100}
                for s in series]
        by_ns: dict[str, list[dict[str, Any]]] = {}
        for s, d in zip(series, data, strict=True):
            by_ns.setdefault(s.spec.namespace, []).append(d)
        for ns, items in by_ns.items():
            for i in range(0, len(items), 1000):
                cw.put_metric_data(Namespace=ns, MetricData=items[i:i + 1000])
        print(f"collection: {n} resources, {len(series)} metrics in {REGION} "
              f"(seeded one datapoint each in {time.perf_counter() - t0:.1f} s)")

        collector = Collector(metrics, ProjectLock(redis, "bench", 120_000), instance_id="bench",
                              config=CollectorConfig(period=PERIOD, settle_s=0, backfill_s=14 * 86400))
        from botocore.config import Config

        # moto computes a 500-metric call for many seconds on a busy machine: no client timeout
        # or retry may count a call twice
        slow = Config(read_timeout=3600, retries={"total_max_attempts": 1})
        client = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench").client(
            "cloudwatch", region_name=REGION, endpoint_url=url, config=slow)
        records = record_answers(client)
        t0 = time.perf_counter()
        report = await collector.collect("bench", inv, lambda _region: client)
        ours = time.perf_counter() - t0
        assert not report.problems and report.stored == report.datapoints, report.summary()
        assert report.metrics_requested == len(series), "a call was retried: the figures would count it twice"

        t0 = time.perf_counter()
        naive_calls = 0
        start = datetime.fromtimestamp(now - PERIOD, UTC)
        end = datetime.fromtimestamp(now, UTC)
        got = 0
        for s in series:  # one GetMetricStatistics call per metric, one after another
            answer = client.get_metric_statistics(
                Namespace=s.spec.namespace, MetricName=s.spec.name,
                Dimensions=[{"Name": k, "Value": v} for k, v in s.spec.dimensions],
                StartTime=start, EndTime=end, Period=PERIOD, Statistics=[s.spec.stat])
            naive_calls += 1
            got += len(answer.get("Datapoints") or [])
        naive = time.perf_counter() - t0
        print(f"  archops collector  {ours:7.2f} s  {report.calls:5d} GetMetricData calls, "
              f"{report.metrics_requested} metrics requested (${report.cost_usd:.4f}), "
              f"{report.datapoints} datapoints, {report.stored} stored")
        print(f"  one call a metric  {naive:7.2f} s  {naive_calls:5d} GetMetricStatistics calls "
              f"(${naive_calls * 0.00001:.4f}), {got} datapoints, nothing stored")
        print(f"  -> {naive / ours:.1f}x faster, {naive_calls / max(1, report.calls):.0f}x fewer calls "
              f"(moto answers from one Python process: its scan of every datapoint per query dominates)")
        await own_work(metrics, redis, inv, now, records, rtt_ms)
        fresh = [Series(s.id, s.spec, None) for s in series]
        first = plan_calls(fresh, now, backfill_s=14 * 86400, settle_s=0)
        points = sum(c.datapoints for c in first)
        print(f"  first collection (14 days of history): {len(first)} calls planned for {points:,} datapoints "
              f"(at most {max(len(c.queries) for c in first)} metrics and "
              f"{max(c.datapoints for c in first):,} datapoints a call)")
    finally:
        await store.close()
        await redis.aclose()
        redis_server.stop()
        moto.close()


def _key(namespace: str, name: str, dims: list[dict[str, str]], stat: str) -> tuple[Any, ...]:
    return namespace, name, tuple(sorted((d["Name"], d["Value"]) for d in dims)), stat


def record_answers(client: Any) -> dict[tuple[Any, ...], list[tuple[Any, float]]]:
    """What moto answered, per metric, to replay it later without moto."""
    records: dict[tuple[Any, ...], list[tuple[Any, float]]] = {}
    inner = client.get_metric_data

    def get_metric_data(**params: Any) -> Any:
        answer = inner(**params)
        queries = {q["Id"]: q["MetricStat"] for q in params["MetricDataQueries"]}
        for r in answer["MetricDataResults"]:
            m = queries[r["Id"]]
            key = _key(m["Metric"]["Namespace"], m["Metric"]["MetricName"], m["Metric"]["Dimensions"], m["Stat"])
            records[key] = list(zip(r["Timestamps"], r["Values"], strict=True))
        return answer

    client.get_metric_data = get_metric_data
    return records


def instant_client(records: dict[tuple[Any, ...], list[tuple[Any, float]]], rtt_s: float = 0.0) -> Any:
    """A real botocore client whose calls are answered from ``records`` in the client itself
    (before-call), so parameters are validated and serialized as always but nothing is sent;
    each answer waits ``rtt_s`` first (a network round trip to AWS)."""
    session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench")

    def keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params

    class Http:
        status_code = 200
        headers: dict[str, str] = {}

    def data(context: dict[str, Any], **_: Any) -> Any:
        time.sleep(rtt_s)
        results = []
        for q in context["bench_params"]["MetricDataQueries"]:
            m = q["MetricStat"]
            got = records.get(_key(m["Metric"]["Namespace"], m["Metric"]["MetricName"],
                                   m["Metric"]["Dimensions"], m["Stat"]), [])
            results.append({"Id": q["Id"], "StatusCode": "Complete", "Timestamps": [t for t, _ in got],
                            "Values": [v for _, v in got]})
        return Http(), {"MetricDataResults": results, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def stats(context: dict[str, Any], **_: Any) -> Any:
        time.sleep(rtt_s)
        p = context["bench_params"]
        got = records.get(_key(p["Namespace"], p["MetricName"], p["Dimensions"], p["Statistics"][0]), [])
        return Http(), {"Datapoints": [{"Timestamp": t, p["Statistics"][0]: v} for t, v in got],
                        "ResponseMetadata": {"HTTPStatusCode": 200}}

    session.events.register("before-parameter-build.cloudwatch.*", keep)
    session.events.register("before-call.cloudwatch.GetMetricData", data)
    session.events.register("before-call.cloudwatch.GetMetricStatistics", stats)
    return session.client("cloudwatch", region_name=REGION, endpoint_url="http://127.0.0.1:9")


async def own_work(metrics: MetricsStore, redis: Any, inv: Inventory, now: int,
                   records: dict[tuple[Any, ...], list[tuple[Any, float]]], rtt_ms: float) -> None:
    """The same collection with CloudWatch answering at once (and after a simulated round
    trip): what is left is archops' own work (planning, botocore's serializing, threads,
    parsing, fenced writes to SQLite) and the calls' latency."""
    for rtt in sorted({0.0, rtt_ms}):
        project = f"replay-{int(rtt)}"
        await metrics.store.upsert_project(project, aws_regions=[REGION])
        await metrics.watch(project)
        series = await metrics.ensure_series(project, series_specs(inv, PERIOD))
        await metrics.register_fence(project, 1)
        await metrics.write(project, 1, {}, read_to={s.id: now - PERIOD for s in series})
        client = instant_client(records, rtt / 1000)
        collector = Collector(metrics, ProjectLock(redis, "bench", 120_000), instance_id="bench",
                              config=CollectorConfig(period=PERIOD, settle_s=0, backfill_s=14 * 86400))
        t0 = time.perf_counter()
        report = await collector.collect(project, inv, lambda _region, c=client: c)
        ours = time.perf_counter() - t0
        start, end = datetime.fromtimestamp(now - PERIOD, UTC), datetime.fromtimestamp(now, UTC)
        t0 = time.perf_counter()
        for s in series:
            client.get_metric_statistics(Namespace=s.spec.namespace, MetricName=s.spec.name,
                                         Dimensions=[{"Name": k, "Value": v} for k, v in s.spec.dimensions],
                                         StartTime=start, EndTime=end, Period=PERIOD, Statistics=[s.spec.stat])
        naive = time.perf_counter() - t0
        print(f"  answered in the client, rtt {rtt:3.0f} ms: archops collector {ours:6.2f} s "
              f"({report.calls} calls, {report.stored} datapoints stored); one call a metric "
              f"{naive:6.2f} s ({len(series)} calls) -> {naive / ours:.1f}x")


# (level low, level high, daily swing as a share of the level) of each metric, as such series look
LEVELS: dict[str, tuple[float, float, float]] = {
    "cpu": (5, 60, 0.4), "cpu_max": (10, 70, 0.4), "network_in": (1e8, 1e9, 0.5), "network_out": (1e8, 1e9, 0.5),
    "status_failed": (0, 0, 0), "connections": (10, 120, 0.6), "free_storage": (4e10, 9e10, 0.0),
    "freeable_memory": (1e9, 4e9, 0.1), "read_iops": (50, 500, 0.5), "write_iops": (20, 300, 0.5),
    "replica_lag": (0, 0.5, 0), "invocations": (500, 5000, 0.6), "errors": (0, 3, 0), "throttles": (0, 0, 0),
    "duration": (50, 400, 0.1), "requests": (1000, 20000, 0.6), "elb_5xx": (0, 2, 0), "target_5xx": (0, 3, 0),
    "response_time": (0.05, 0.3, 0.2), "bytes_out": (1e8, 1e9, 0.5), "bytes_in": (1e8, 1e9, 0.5),
    "dropped": (0, 2, 0), "port_errors": (0, 0, 0),
}


def month_of_points(n: int, now: int, seed: int) -> tuple[Inventory, list[Points]]:
    """n resources of the inventory mix, 30 days of 5-minute points per metric: noise around a
    daily shape; one series in 97 ends with six hours far above its usual (an anomaly)."""
    from monitor.plan import series_specs

    rng = random.Random(seed)
    inv = inventory(n)
    specs = series_specs(inv, PERIOD)
    ts = [now - PERIOD * k for k in range(30 * 288, 0, -1)]
    out = []
    for i, spec in enumerate(specs):
        low, high, share = LEVELS.get(spec.metric, (1, 10, 0.2))
        level = rng.uniform(low, high)
        swing = level * share / 2
        noise = max(level * 0.05, 0.3 if high <= 3 else 0.0)
        values = [max(0.0, level + swing * math.cos((t % 86400) / 86400 * 2 * math.pi) + rng.gauss(0, noise))
                  for t in ts]
        if i % 97 == 0 and high > 0:
            for k in range(1, 73):
                values[-k] = level * 4
        out.append(Points(spec, ts, values))  # one list of times for all: they are only read
    return inv, out


def naive_expected(ts: list[int], values: list[float], key: Any) -> Any:
    """The same expected values, by scanning the baseline every time one is asked for."""
    from monitor.stats import median

    def expected(t: int) -> float:
        same = [v for u, v in zip(ts, values, strict=True) if key(u) == key(t)]
        if len(same) >= anomaly.MIN_BUCKET:
            return median(same)
        day = [v for u, v in zip(ts, values, strict=True) if anomaly.hour_of_day(u) == anomaly.hour_of_day(t)]
        return median(day) if len(day) >= anomaly.MIN_BUCKET else median(values)
    return expected


def bench_detectors(n: int, naive_n: int) -> None:
    now = int(time.time()) // 3600 * 3600
    t0 = time.perf_counter()
    inv, series = month_of_points(n, now, seed=1)
    points = sum(len(p) for p in series)
    print(f"\ndetectors: {n} resources, {len(series)} series, {points:,} datapoints "
          f"(30 days of 5-minute points each; built in {time.perf_counter() - t0:.1f} s)")
    ctx = Context("bench", now, inv, series)
    t0 = time.perf_counter()
    findings, seconds = run_all(ctx)
    ours = time.perf_counter() - t0
    per = ", ".join(f"{k} {v:.2f}" for k, v in seconds.items())
    found: dict[str, int] = {}
    for f in findings:
        found[f.detector] = found.get(f.detector, 0) + 1
    print(f"  all detectors      {ours:7.2f} s  ({ours / n * 1000:.1f} ms a resource; seconds: {per})")
    print(f"  findings: {found} (an m5.xlarge under 40% CPU is oversized; an instance alone is an info)")

    subset_ids = {r.id for r in inv.resources[:naive_n]}
    sub_inv = Inventory(regions=inv.regions, resources=inv.resources[:naive_n])
    sub = Context("bench", now, sub_inv, [p for p in series if p.spec.resource_id in subset_ids])
    t0 = time.perf_counter()
    fast = anomaly.detect(sub)
    fast_s = time.perf_counter() - t0
    original = anomaly._expected
    anomaly._expected = naive_expected  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        slow = anomaly.detect(sub)
        slow_s = time.perf_counter() - t0
    finally:
        anomaly._expected = original  # type: ignore[assignment]
    same = [(f.resource.id, f.metric, f.window_start) for f in fast] == [
        (f.resource.id, f.metric, f.window_start) for f in slow]
    print(f"  anomaly, {naive_n} resources: indexed by hour {fast_s:6.2f} s, naive rescan {slow_s:6.2f} s "
          f"-> {slow_s / max(fast_s, 1e-9):.0f}x; same findings: {same} ({len(fast)})")
    print(f"  1,000 resources at {ours / n * 1000:.1f} ms each: {ours / n * 1000:.1f} s of detection "
          f"(projected from the {n} measured)" if n != 1000 else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--detect-resources", type=int, default=200)
    parser.add_argument("--naive-resources", type=int, default=20)
    parser.add_argument("--rtt-ms", type=float, default=30.0,
                        help="round trip of the simulated AWS (the calls answered in the client)")
    parser.add_argument("--skip-collection", action="store_true")
    args = parser.parse_args()
    from core.logging import configure_logging

    configure_logging("WARNING", "console")
    if not args.skip_collection:
        asyncio.run(bench_collection(args.resources, args.rtt_ms))
    bench_detectors(args.detect_resources, args.naive_resources)


if __name__ == "__main__":
    main()
