"""What keeps a long-running process's event loop answering on time."""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """Keep the cyclic collector from pausing the event loop for long.

    A server process holds many long-lived objects (modules, classes, settings, and in the web
    app thousands per thousand SSE connections); a full collection rescans all of them (100-400 ms
    at 5,000 streams on 2 busy cores, which is every event of every stream delayed that long, or
    a Slack acknowledgement). What startup built lives as long as the process: ``gc.freeze``
    takes it out of every collection. A larger young generation lets short-lived objects die by
    reference counting before a collection sees them, so fewer are promoted and full collections
    are rarer. Call it once the process has started serving.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
