"""CPU-bound work off the event loop: a pool of processes (or threads) that a worker owns.

A worker's event loop renews its partition leases; anything that holds the loop (or the GIL)
for long delays the renewals, and a lease that expires hands the partition to someone else. The
review (Terraform's parser, python-hcl2, schema, policy, checkov, plan) is CPU-bound, so it runs
here. A thread pool still shares the GIL with the loop (the loop gets it back every switch
interval, behind every other thread that wants it); a process pool frees the loop fully, which
is what ``bench/burst.py`` measured keeps leases, so it is the default.

    pool = CpuPool("process", workers=0)     # 0: one per core
    result = await pool.run(fn, *args)       # fn and args picklable (module-level function)
    pool.close()
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from core.logging import get_logger

T = TypeVar("T")
log = get_logger("archops.offload")


def _init_child(warm: tuple[str, ...]) -> None:
    """In each pool process: Ctrl-C is for the parent; import what the work needs up front."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import importlib

    for name in warm:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the work itself reports what is missing
            log.warning("pool warm-up import failed", module=name, error=str(exc))


class CpuPool:
    """Runs functions in a process (default) or thread pool; rebuilt if a process dies."""

    def __init__(self, kind: str = "process", workers: int = 0, *, warm: tuple[str, ...] = ()) -> None:
        if kind not in {"process", "thread"}:
            raise ValueError(f"pool kind must be process or thread, not {kind!r}")
        self.kind = kind
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.warm = warm
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            if self.kind == "thread":
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="archops-cpu")
            else:
                # spawn: a fresh interpreter, no copy of the parent's threads, locks or sockets
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_child, initargs=(self.warm,),
                )
        return self._executor

    def start(self) -> CpuPool:
        """Start the processes now (in the background) rather than on the first call."""
        if self.kind == "process":
            pool = self._pool()
            for _ in range(self.workers):
                pool.submit(int)
        return self

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), fn, *args)
        except BrokenProcessPool:
            log.warning("a pool process died; starting a new pool")
            self._discard()
            raise

    def _discard(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """The default offload when no pool is given: the loop's own thread pool."""
    return await asyncio.to_thread(fn, *args)
