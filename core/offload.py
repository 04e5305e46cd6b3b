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
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from core.logging import get_logger

T = TypeVar("T")
log = get_logger("archops.offload")


def exit_with_parent(parent: int, interval_s: float = 1.0) -> None:
    """End this process soon after ``parent``, the process that started it, is gone (killed,
    or exited without closing its pool; also when it was gone before this was called). A pool
    process waits on a queue whose other end its siblings hold too, so it would wait for ever,
    and keep its own helpers (Terraform, checkov) alive with it."""
    if os.getppid() != parent:
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(0)

    threading.Thread(target=watch, name="archops-parent-watch", daemon=True).start()


def _init_child(warm: tuple[str, ...], parent: int) -> None:
    """In each pool process: Ctrl-C is for the parent, the parent's end is its end; import what
    the work needs up front."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent)
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
                    initializer=_init_child, initargs=(self.warm, os.getpid()),
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


class Batcher:
    """Calls made while a batch is being gathered or run become one ``many(items)`` call.

    For work whose start-up dwarfs each item (checkov: one start-up for a whole batch of
    modules): calls wait ``linger_s`` for company, then go as one batch of at most ``max_batch``;
    up to ``parallel`` batches run at once (one per pool process). ``many`` returns one result per
    item, in order; an exception fails every call of its batch.
    """

    def __init__(self, many: Callable[[list[Any]], Any], *, max_batch: int = 16,
                 linger_s: float = 0.05, parallel: int = 1) -> None:
        self.many = many
        self.max_batch = max_batch
        self.linger_s = linger_s
        self._slots = asyncio.Semaphore(parallel)
        self._pending: list[tuple[Any, asyncio.Future[Any]]] = []
        self._gathering: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, item: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._gathering is None or self._gathering.done():
            self._gathering = asyncio.create_task(self._gather())
        return await future

    async def _gather(self) -> None:
        await asyncio.sleep(self.linger_s)
        while self._pending:
            await self._slots.acquire()  # while every slot is busy, more calls gather
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            task = asyncio.create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[Any, asyncio.Future[Any]]]) -> None:
        try:
            results = await self.many([item for item, _ in batch])
        except Exception as exc:  # noqa: BLE001 - every caller learns the failure
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
        finally:
            self._slots.release()
