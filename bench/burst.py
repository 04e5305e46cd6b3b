"""A burst of chat requests on one worker process: time to finish it and the p99 wait in the queue.

    .venv/bin/python bench/burst.py [--users 20] [--conversations 2] [--per 5] [--full 30]
                                    [--pool process thread] [--lease-ttl-ms 5000] [--no-baseline]

For each CPU pool kind, one `archops worker` process (the real composition root) on its own
redis-server takes:
* a burst of USERS x CONVERSATIONS x PER requests at once with the review's fast checks
  (parse, schema, references, policy, cost), and FULL at once with the full review (checkov too);
* the baseline, measured in the same run: the same requests one at a time (each submitted when
  the previous one finished), so "burst" vs "serial" shows what concurrency buys, and the wait
  in the queue is what the burst adds.
Printed per burst: requests, time to finish, serial time, p50/p99 wait in the queue (accepted ->
its work started), how many were told "busy, queued as #N", dead-lettered, lost and taken-back
leases, and the longest gap between two lease heartbeats (the event loop's worst stall).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.bus import Keys  # noqa: E402
from core.redis_client import make_redis  # noqa: E402
from core.redis_server import EmbeddedRedis  # noqa: E402
from tests.bus.burst import Burst, WorkerProcess, plan_requests, run_burst, wait_ready  # noqa: E402

FAST = "parse,schema,references,policy,cost"  # the review without checkov
PARTITIONS = 8


def row(label: str, burst: Burst, serial: Burst | None, worker: WorkerProcess) -> str:
    stopped = next((line for line in worker.lines() if line.get("event") == "worker stopped"), {})
    serial_s = f"{serial.elapsed_s:6.1f}" if serial else "     -"
    return (f"{label:<22} {burst.requests:>4} {burst.elapsed_s:7.1f} {serial_s} "
            f"{burst.p(0.5):6.2f} {burst.p(0.99):6.2f} {burst.told:>5} {burst.dead:>4} "
            f"{len(burst.out_of_order):>4} {stopped.get('leases_lost', '?'):>5} "
            f"{stopped.get('leases_revived', '?'):>5} {stopped.get('max_heartbeat_gap_ms', '?'):>7} "
            f"{burst.cpu.get('worker', 0):7.1f} {burst.cpu.get('children', 0):7.1f}")


async def one_kind(url: str, tmp: Path, kind: str, checks: str | None, shape: tuple[int, int, int],
                   ttl: int, baseline: bool) -> tuple[Burst, Burst | None, WorkerProcess]:
    prefix = f"b{secrets.token_hex(3)}"
    worker = WorkerProcess(url, prefix, tmp / prefix, checks=checks, partitions=PARTITIONS,
                           extra_env={"ARCHOPS_CPU_POOL": kind, "ARCHOPS_LEASE_TTL_MS": str(ttl)})
    redis = make_redis(url)
    try:
        await wait_ready(redis, Keys(prefix, partitions=PARTITIONS), worker)
        serial = None
        if baseline:
            serial = await run_burst(url, prefix, plan_requests(*shape, tag="serial"),
                                     partitions=PARTITIONS, at_once=False)
        before = worker.cpu_seconds()
        burst = await run_burst(url, prefix, plan_requests(*shape, tag="burst"),
                                partitions=PARTITIONS)
        after = worker.cpu_seconds()
        burst.cpu = {k: after[k] - before[k] for k in after}
    finally:
        await redis.aclose()
        worker.stop()
    return burst, serial, worker


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--conversations", type=int, default=2, help="per user")
    ap.add_argument("--per", type=int, default=5, help="requests per conversation")
    ap.add_argument("--full", type=int, default=30, help="requests with the full review (0: none)")
    ap.add_argument("--pool", nargs="+", default=["process", "thread"])
    ap.add_argument("--lease-ttl-ms", type=int, default=5000)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    print(f"{'burst (pool)':<22} {'reqs':>4} {'burst_s':>7} {'serial':>6} {'p50_w':>6} "
          f"{'p99_w':>6} {'told':>5} {'dead':>4} {'ooo':>4} {'lost':>5} {'back':>5} {'gap_ms':>7} "
          f"{'cpu_w':>7} {'cpu_ch':>7}")
    with tempfile.TemporaryDirectory(prefix="archops-burst-") as tmp, \
            EmbeddedRedis(Path(tmp) / "redis") as server:
        for kind in args.pool:
            shape = (args.users, args.conversations, args.per)
            burst, serial, worker = await one_kind(server.url, Path(tmp), kind, FAST, shape,
                                                   args.lease_ttl_ms, not args.no_baseline)
            print(row(f"fast ({kind})", burst, serial, worker), flush=True)
            if args.full:
                shape = (args.full, 1, 1)
                burst, serial, worker = await one_kind(server.url, Path(tmp), kind, None, shape,
                                                       args.lease_ttl_ms, not args.no_baseline)
                print(row(f"full ({kind})", burst, serial, worker), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
