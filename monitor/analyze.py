"""Detection over what the store holds: load a project's datapoints, run the detectors, save.

The insights a run produces replace what the same detectors said before (a finding not seen
again is resolved; one seen again keeps its id, first sighting, notification and action).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.store.metrics_store import MetricsStore
from monitor.detectors import IDS, run_all
from monitor.detectors.anomaly import HISTORY_S, WINDOW_S
from monitor.insight import Context, Finding, from_rows
from scanner.models import Inventory

LOOKBACK_S = HISTORY_S + WINDOW_S + 3600


@dataclass
class Detection:
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # new, updated, resolved, reopened
    seconds: dict[str, float] = field(default_factory=dict)
    load_seconds: float = 0.0
    datapoints: int = 0


async def load_context(metrics: MetricsStore, project_id: str, inventory: Inventory,
                       now: int, lookback_s: int = LOOKBACK_S) -> Context:
    series = await metrics.series_of(project_id)
    rows = await metrics.points([s.id for s in series], now - lookback_s, now + 1)
    return Context(project_id, now, inventory, [from_rows(s.spec, rows[s.id]) for s in series])


async def detect(metrics: MetricsStore, project_id: str, inventory: Inventory,
                 now: int | None = None) -> Detection:
    now = int(now if now is not None else time.time())
    t0 = time.perf_counter()
    ctx = await load_context(metrics, project_id, inventory, now)
    out = Detection(load_seconds=round(time.perf_counter() - t0, 3),
                    datapoints=sum(len(p) for p in ctx.series))
    out.findings, out.seconds = run_all(ctx)
    out.counts = await metrics.save_insights(
        project_id, [f.record(project_id) for f in out.findings], IDS,
        now=datetime.fromtimestamp(now, UTC))
    await metrics.mark(project_id, last_detect_at=datetime.now(UTC))
    return out
