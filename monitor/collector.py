"""Collecting one project: its inventory's metrics, from every region, into the system of record.

1. take the project's lock (:mod:`monitor.lock`); when another instance holds it, do nothing;
2. register the lock's fencing token with the store, so that an older holder writes no more;
3. plan the calls (:mod:`monitor.plan`): only what follows each series' newest datapoint;
4. run them, a few at a time per project, on threads (boto3 is blocking); each call's new
   datapoints are written as it returns, fenced by the token, so a crash loses at most the calls
   in flight and the next collection asks for exactly what is missing;
5. record the run: calls, metrics requested and their cost, datapoints, what could not be read.

A region that refuses GetMetricData, or stays throttled, is reported and the others go on; a
metric answered ``Forbidden`` is reported alone. A lost lock (a newer holder's token is in the
store) stops the collection at its next write.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.errors import LeaseLost
from core.logging import get_logger
from core.store.metrics_store import MetricsStore, RunRecord, Series
from monitor.cloudwatch import ACTION, CloudWatch, Denied, Unavailable
from monitor.lock import ProjectLock
from monitor.plan import MAX_DATAPOINTS, MAX_QUERIES, Call, plan_calls, series_specs
from scanner.models import Inventory

log = get_logger("archops.monitor.collect")


@dataclass(frozen=True)
class CollectorConfig:
    period: int = 300
    backfill_s: int = 14 * 24 * 3600
    settle_s: int = 600
    max_queries: int = MAX_QUERIES
    max_datapoints: int = MAX_DATAPOINTS
    merge_s: int = 3600
    concurrency: int = 4  # calls in flight per project
    max_attempts: int = 8
    backoff_base: float = 0.2
    backoff_cap: float = 20.0


@dataclass
class Problem:
    """Something that could not be read, and what would fix it."""

    region: str
    code: str
    message: str = ""
    metric: str | None = None  # "AWS/RDS CPUUtilization db-1" for one metric; None: the region
    action: str = ACTION

    @property
    def text(self) -> str:
        what = f"{self.metric} in {self.region}" if self.metric else f"metrics of {self.region}"
        fix = f"; grant {self.action}" if self.code in ("AccessDenied", "AccessDeniedException",
                                                        "Forbidden", "UnauthorizedOperation") else ""
        return f"{what} not read ({self.code}{': ' + self.message[:160] if self.message else ''}){fix}"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Report:
    project_id: str
    regions: list[str] = field(default_factory=list)
    series: int = 0
    calls: int = 0
    metrics_requested: int = 0
    datapoints: int = 0  # received
    stored: int = 0  # new to the store
    throttled: int = 0
    cost_usd: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str | None = None  # why nothing was done (the lock is held elsewhere)
    lost: bool = False  # the lock was taken over: the rest of the writes were refused

    @property
    def partial(self) -> bool:
        return bool(self.problems) or self.lost

    def summary(self) -> str:
        if self.skipped:
            return f"{self.project_id}: not collected ({self.skipped})"
        line = (f"{self.project_id}: {self.series} series in {', '.join(self.regions) or 'no region'}: "
                f"{self.calls} GetMetricData calls, {self.metrics_requested} metrics requested "
                f"(${self.cost_usd:.4f}), {self.datapoints} datapoints ({self.stored} new), "
                f"{self.throttled} throttled and retried, {self.seconds:.2f} s")
        lines = [line] + [f"  - {p.text}" for p in self.problems]
        if self.lost:
            lines.append("  - the lock was taken over by another monitor instance: stopped")
        return "\n".join(lines)


ClientFor = Callable[[str], Any]  # region -> a boto3 CloudWatch client


class Collector:
    def __init__(self, metrics: MetricsStore, lock: ProjectLock, *, instance_id: str,
                 config: CollectorConfig | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.metrics = metrics
        self.lock = lock
        self.instance_id = instance_id
        self.config = config or CollectorConfig()
        self.clock = clock

    async def collect(self, project_id: str, inventory: Inventory, client_for: ClientFor) -> Report:
        report = Report(project_id)
        token = await self.lock.acquire(project_id, self.instance_id)
        if token is None:
            report.skipped = f"another monitor instance is collecting it ({await self.lock.holder(project_id)})"
            return report
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        lost = asyncio.Event()
        renewer = asyncio.create_task(self._renew(project_id, token, lost))
        try:
            await self.metrics.register_fence(project_id, token)
            await self._collect(project_id, token, inventory, client_for, report, lost)
            report.seconds = round(time.perf_counter() - t0, 3)
            if not report.lost:
                run = RunRecord(self.instance_id, started, datetime.now(UTC), report.regions,
                                report.calls, report.metrics_requested, report.datapoints,
                                report.throttled, report.cost_usd,
                                [p.as_dict() for p in report.problems])
                await self.metrics.write(project_id, token, {}, run)
        except LeaseLost:
            report.lost = True
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            await self.lock.release(project_id, self.instance_id, token)
        report.seconds = round(time.perf_counter() - t0, 3)
        log.info("collected", project_id=project_id, calls=report.calls, datapoints=report.datapoints,
                 stored=report.stored, problems=len(report.problems), lost=report.lost)
        return report

    async def _renew(self, project_id: str, token: int, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self.lock.ttl_ms / 3000)
            if not await self.lock.renew(project_id, self.instance_id, token):
                lost.set()
                return

    async def _collect(self, project_id: str, token: int, inventory: Inventory,
                       client_for: ClientFor, report: Report, lost: asyncio.Event) -> None:
        cfg = self.config
        series = await self.metrics.ensure_series(project_id, series_specs(inventory, cfg.period))
        report.series = len(series)
        report.regions = sorted({s.spec.region for s in series})
        calls = plan_calls(series, int(self.clock()), backfill_s=cfg.backfill_s, settle_s=cfg.settle_s,
                           max_queries=cfg.max_queries, max_datapoints=cfg.max_datapoints,
                           merge_s=cfg.merge_s)
        adapters = {r: CloudWatch(await asyncio.to_thread(client_for, r), r,
                                  max_attempts=cfg.max_attempts, backoff_base=cfg.backoff_base,
                                  backoff_cap=cfg.backoff_cap)
                    for r in {c.region for c in calls}}
        given_up: set[str] = set()
        gate = asyncio.Semaphore(cfg.concurrency)

        async def one(call: Call) -> None:
            async with gate:
                if call.region in given_up or lost.is_set() or report.lost:
                    return
                try:
                    fetched = await asyncio.to_thread(adapters[call.region].fetch, call)
                except (Denied, Unavailable) as exc:
                    if call.region not in given_up:
                        given_up.add(call.region)
                        report.problems.append(Problem(call.region, exc.code, exc.message))
                    return
                points = _new_points(call, fetched.values)
                for qid, (status, why) in fetched.failed.items():
                    s = call.queries[qid]
                    report.problems.append(Problem(
                        call.region, status, why,
                        metric=f"{s.spec.namespace} {s.spec.name} {s.spec.resource_id}"))
                report.datapoints += sum(len(v) for v in fetched.values.values())
                try:
                    read = {s.id: call.end for qid, s in call.queries.items() if qid not in fetched.failed}
                    new = await self.metrics.write(project_id, token, points, read_to=read)
                    report.stored += new  # after the await: `+= await` would lose concurrent updates
                except LeaseLost:
                    report.lost = True

        await asyncio.gather(*(one(c) for c in calls))
        if lost.is_set():
            report.lost = True
        for cw in adapters.values():
            report.calls += cw.calls
            report.metrics_requested += cw.metrics_requested
            report.throttled += cw.throttled
        report.cost_usd = round(sum(cw.cost_usd for cw in adapters.values()), 6)


def _new_points(call: Call, values: dict[str, list[tuple[int, float]]]) -> dict[int, list[tuple[int, float]]]:
    """What each series did not have yet (a shared call may start before a series' newest point)."""
    out: dict[int, list[tuple[int, float]]] = {}
    for qid, pts in values.items():
        s: Series = call.queries[qid]
        after = s.last_ts if s.last_ts is not None else -1
        fresh = [(ts, v) for ts, v in pts if after < ts < call.end]
        if fresh:
            out[s.id] = fresh
    return out
