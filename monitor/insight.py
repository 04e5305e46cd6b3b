"""What a detector hands back, and what detectors read: datapoints per series, the inventory.

A :class:`Finding` carries its evidence (the numbers and the window they come from), a
recommendation in the project's languages, the change request the agent can design (English,
naming the resource and the change), and the change's effect on the monthly bill.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.store.metrics import HOURLY_RESOLUTION
from core.store.metrics_store import SeriesSpec, insight_id
from scanner.models import Inventory, Resource


def text(en: str, ko: str) -> dict[str, str]:
    return {"en": en, "ko": ko}


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def usd(amount: float) -> str:
    sign = "-" if amount < 0 else "+"
    return f"{sign}${abs(amount):,.2f}/month"


@dataclass
class Points:
    """One series' datapoints, oldest first. Values are per the series' period: an hourly rollup
    of a Sum is divided back into its twelve 5-minute shares, so old and new points compare."""

    spec: SeriesSpec
    ts: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    @property
    def period(self) -> int:
        return self.spec.period

    def since(self, start: int, end: int | None = None) -> Points:
        i = bisect.bisect_left(self.ts, start)
        j = len(self.ts) if end is None else bisect.bisect_left(self.ts, end)
        return Points(self.spec, self.ts[i:j], self.values[i:j])

    def __len__(self) -> int:
        return len(self.ts)

    def hours_covered(self) -> int:
        return len({t // 3600 for t in self.ts})

    def hourly(self) -> Points:
        """One point per hour: the mean of the hour's points; for a Sum, the hour's total (the
        mean share times the periods in an hour, which also fills a gap or two)."""
        out = Points(self.spec)
        scale = max(1.0, 3600 / self.period) if self.spec.stat in ("Sum", "SampleCount") else 1.0
        bucket: list[float] = []
        current: int | None = None

        def flush() -> None:
            if current is not None and bucket:
                out.ts.append(current)
                out.values.append(sum(bucket) / len(bucket) * scale)

        for t, v in zip(self.ts, self.values, strict=True):
            h = t - t % 3600
            if h != current:
                flush()
                bucket = []
                current = h
            bucket.append(v)
        flush()
        return out


def from_rows(spec: SeriesSpec, rows: list[tuple[int, int, float]]) -> Points:
    """Points from stored rows (ts, resolution, value)."""
    pts = Points(spec)
    summed = spec.stat in ("Sum", "SampleCount")
    for ts, resolution, value in rows:
        share = resolution // spec.period if summed and resolution > spec.period else 1
        if resolution == HOURLY_RESOLUTION and share > 1:
            pts.ts.append(ts)
            pts.values.append(value / share)
        else:
            pts.ts.append(ts)
            pts.values.append(value)
    return pts


@dataclass
class Context:
    """What the detectors look at: one project's inventory and datapoints, at ``now``."""

    project_id: str
    now: int
    inventory: Inventory
    series: list[Points]

    def __post_init__(self) -> None:
        self._by: dict[tuple[str, str], list[Points]] = {}
        for p in self.series:
            self._by.setdefault((p.spec.resource_id, p.spec.metric), []).append(p)

    def of(self, resource_id: str, metric: str) -> list[Points]:
        return self._by.get((resource_id, metric), [])

    def one(self, resource_id: str, metric: str) -> Points | None:
        found = self.of(resource_id, metric)
        return found[0] if found else None

    def resources(self, *kinds: str) -> Iterator[Resource]:
        for r in self.inventory.resources:
            if r.kind in kinds and not r.aws_default:
                yield r


@dataclass
class Finding:
    detector: str
    severity: str  # info | warning | critical
    resource: Resource
    title: dict[str, str]
    recommendation: dict[str, str]
    numbers: dict[str, Any]
    window_start: int
    window_end: int
    metric: str | None = None
    change_request: str | None = None
    monthly_usd: float | None = None
    what: str = ""  # tells two findings of one detector on one resource apart

    def record(self, project_id: str) -> dict[str, Any]:
        """The row the store keeps (see core.store.metrics.Insight)."""
        return {
            "id": insight_id(project_id, self.detector, self.resource.id, f"{self.metric}|{self.what}"),
            "detector": self.detector, "severity": self.severity, "region": self.resource.region,
            "resource_kind": self.resource.kind, "resource_id": self.resource.id,
            "metric": self.metric, "title": self.title, "recommendation": self.recommendation,
            "evidence": {"window_start": self.window_start, "window_end": self.window_end,
                         "numbers": self.numbers, "resource": self.resource.label},
            "change_request": self.change_request,
            "monthly_usd": round(self.monthly_usd, 2) if self.monthly_usd is not None else None,
            "window_start": self.window_start, "window_end": self.window_end,
        }
