"""The deterministic detectors: each a module with an ``ID`` and ``detect(ctx) -> [Finding]``.

Every finding carries its evidence (numbers and the window they come from) and a recommended
change with its monthly effect; no detector guesses, samples or asks a model. They run over a
:class:`~monitor.insight.Context` (one project's inventory and datapoints) and never touch a
network or a database, so they are tested and benchmarked on plain data.

    rightsizing  idle, over- and under-provisioned instances, as AWS Compute Optimizer judges
    saturation   a resource at its limit for a stretch (CPU, memory, lag, unhealthy hosts...)
    spikes       error and throttle rates far above the resource's usual, for 15 minutes or more
    storage      free storage falling steadily, with the day it runs out (a linear fit)
    spof         single points of failure in the inventory (one AZ, one NAT, one target)
    anomaly      unusual values against the resource's own baseline (median and MAD, by hour of week)
"""

from __future__ import annotations

import time
from types import ModuleType

from monitor.detectors import anomaly, rightsizing, saturation, spikes, spof, storage
from monitor.insight import Context, Finding

DETECTORS: tuple[ModuleType, ...] = (rightsizing, saturation, spikes, storage, spof, anomaly)
IDS: tuple[str, ...] = tuple(d.ID for d in DETECTORS)


def run_all(ctx: Context, only: set[str] | None = None) -> tuple[list[Finding], dict[str, float]]:
    """Every detector's findings, and the seconds each took."""
    findings: list[Finding] = []
    seconds: dict[str, float] = {}
    for detector in DETECTORS:
        if only is not None and detector.ID not in only:
            continue
        t0 = time.perf_counter()
        findings += detector.detect(ctx)
        seconds[detector.ID] = time.perf_counter() - t0
    return findings, seconds


__all__ = ["DETECTORS", "IDS", "run_all"]
