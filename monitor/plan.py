"""From an inventory to the series to watch, and from the series to GetMetricData calls.

A call carries at most 500 queries (GetMetricData's limit) and asks for at most 100,800
datapoints in all (what one call may return before it paginates), so most calls come back in
one page. Each series is asked only for what follows its newest stored datapoint; series whose
next datapoint is due at nearly the same time share a call (the call starts at the earliest of
them, and what a series already has is dropped on arrival). Only complete periods are asked
for, ``settle_s`` behind now (CloudWatch publishes a period's value a few minutes after it ends).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.store.metrics_store import Series, SeriesSpec
from monitor.catalog import CATALOG, WATCHED_KINDS
from scanner.models import GLOBAL, Inventory

MAX_QUERIES = 500
MAX_DATAPOINTS = 100_800


def series_specs(inventory: Inventory, period: int) -> list[SeriesSpec]:
    """Every metric the catalog watches for every resource of the inventory."""
    out: list[SeriesSpec] = []
    seen: set[tuple[str, str]] = set()
    for r in inventory.resources:
        if r.kind not in WATCHED_KINDS or r.region == GLOBAL:
            continue
        for watched in CATALOG:
            if watched.kind != r.kind:
                continue
            for dims in watched.dimensions(r):
                for m in watched.metrics:
                    spec = SeriesSpec(
                        region=r.region, resource_kind=r.kind, resource_id=r.id, metric=m.key,
                        namespace=watched.namespace, name=m.name, stat=m.stat,
                        period=m.period or period, dimensions=dims, unit=m.unit)
                    if (spec.region, spec.key) not in seen:
                        seen.add((spec.region, spec.key))
                        out.append(spec)
    return out


@dataclass
class Call:
    """One GetMetricData call: a region, a window and its queries (query id -> series)."""

    region: str
    period: int
    start: int
    end: int
    queries: dict[str, Series] = field(default_factory=dict)

    @property
    def datapoints(self) -> int:
        return len(self.queries) * max(0, (self.end - self.start) // self.period)

    def request(self) -> list[dict[str, object]]:
        return [{
            "Id": qid, "ReturnData": True,
            "MetricStat": {
                "Metric": {"Namespace": s.spec.namespace, "MetricName": s.spec.name,
                           "Dimensions": [{"Name": k, "Value": v} for k, v in s.spec.dimensions]},
                "Period": s.spec.period, "Stat": s.spec.stat,
            },
        } for qid, s in self.queries.items()]


def next_start(series: Series, now: int, backfill_s: int) -> int:
    """Where a series' next request starts: after its newest datapoint and what was read
    before, or the backfill for a series never read."""
    p = series.spec.period
    marks = [m for m in (series.last_ts + p if series.last_ts is not None else None,
                         series.read_to) if m is not None]
    return max(marks) if marks else (now - backfill_s) // p * p


def plan_calls(series: Iterable[Series], now: int, *, backfill_s: int, settle_s: int = 600,
               max_queries: int = MAX_QUERIES, max_datapoints: int = MAX_DATAPOINTS,
               merge_s: int = 3600) -> list[Call]:
    """The calls that fetch every series' new datapoints; series with nothing due are left out."""
    if not 1 <= max_queries <= MAX_QUERIES:
        raise ValueError(f"max_queries must be 1..{MAX_QUERIES}")
    groups: dict[tuple[str, int], list[tuple[int, Series]]] = defaultdict(list)
    for s in series:
        p = s.spec.period
        end = (now - settle_s) // p * p
        start = next_start(s, now, backfill_s)
        if start < end:
            groups[(s.spec.region, p)].append((start, s))
    calls: list[Call] = []
    for (region, period), items in sorted(groups.items()):
        items.sort(key=lambda item: (item[0], item[1].id))
        end = (now - settle_s) // period * period
        current: Call | None = None
        for start, s in items:
            points = (end - (current.start if current else start)) // period
            if (current is None or len(current.queries) >= max_queries
                    or start - current.start > merge_s
                    or current.datapoints + points > max_datapoints):
                current = Call(region, period, start, end)
                calls.append(current)
            current.queries[f"q{len(current.queries)}"] = s
    return calls
