"""The monitor: CloudWatch metrics of watched projects, turned into insights people act on.

The one door of this package::

    run_monitor(settings, redis_url, stop)        the jobs (`archops monitor`, a job of `archops up`)
    open_monitor(settings, redis_url) -> Monitor  collect / detect / tell / act / summary, one at a time
    Collector(metrics, lock, ...).collect(...)    one project's metrics into the store (monitor.collector)
    DETECTORS, run_all(ctx)                       the deterministic detectors (monitor.detectors)
    ProjectLock                                   one collection per project across instances (monitor.lock)

It reads what exists from the scanner's inventory (scanner.models, scanner.inventory), stores
datapoints and insights through core.store.metrics_store, tells people through core.notify, and
turns an insight into a chat request through core.changes; it never imports an edge.
See docs/monitor.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Collector", "DETECTORS", "ProjectLock", "open_monitor", "run_all", "run_monitor"]


def __getattr__(name: str) -> Any:
    # the service pulls in the bus and the store: import it for processes that use it
    if name in ("run_monitor", "open_monitor"):
        from monitor import service

        return getattr(service, name)
    if name == "Collector":
        from monitor.collector import Collector

        return Collector
    if name in ("DETECTORS", "run_all"):
        from monitor import detectors

        return getattr(detectors, name)
    if name == "ProjectLock":
        from monitor.lock import ProjectLock

        return ProjectLock
    raise AttributeError(f"module 'monitor' has no attribute {name!r}")
