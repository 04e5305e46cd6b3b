"""A burst of chat requests against one real worker process (`archops worker`), measured.

Used by tests/bus/test_burst.py and bench/burst.py. The worker is the real composition root
(agents.process.run_worker: the store, the checkpointer, the agent graph, the CPU pool) started
as a child process on the caller's redis-server, with its own data folder and key prefix.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.bus import Keys, Submitter
from core.envelope import Envelope
from core.redis_client import make_redis

ROOT = Path(__file__).resolve().parents[2]
FIRST = [
    "a static website for our launch page",
    "an API on Lambda with DynamoDB",
    "a static website with a contact form API on Lambda",
    "a SaaS web app with Postgres for app.acme.io",
]
FOLLOW_UPS = ["add a Redis cache", "use MySQL instead", "make it multi-AZ", "add a WAF", "use dev"]
TERMINAL = {"done", "error", "question"}


@dataclass
class Burst:
    """What one burst measured."""

    requests: int
    elapsed_s: float = 0.0
    waits_s: list[float] = field(default_factory=list)  # accepted -> its work started
    finished: int = 0
    told: int = 0  # requests told "busy, queued as #N"
    dead: int = 0  # dead-lettered
    out_of_order: list[str] = field(default_factory=list)  # conversations answered out of order
    never_finished: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds the burst cost, by process

    def p(self, q: float) -> float:
        values = sorted(self.waits_s) or [0.0]
        return values[min(len(values) - 1, int(q * len(values)))]


class WorkerProcess:
    """`archops worker` in a child process; its log lines (JSON) go to a file."""

    def __init__(self, redis_url: str, prefix: str, data_dir: Path, *, checks: str | None,
                 partitions: int = 8, extra_env: dict[str, str] | None = None,
                 python_args: tuple[str, ...] = ()) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / "worker.log"
        env = {**os.environ, "ARCHOPS_REDIS_URL": redis_url, "ARCHOPS_REDIS_PREFIX": prefix,
               "ARCHOPS_DATA_DIR": str(data_dir), "ARCHOPS_PARTITIONS": str(partitions),
               "ARCHOPS_LOG_FORMAT": "json", "PYTHONPATH": str(ROOT)}
        env.pop("ARCHOPS_DATABASE_URL", None)
        if checks is not None:
            env["ARCHOPS_REVIEW_CHECKS"] = checks
        env.update(extra_env or {})
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, *python_args, "-m", "cli.main", "worker"], cwd=ROOT, env=env,
            stdout=self._log, stderr=subprocess.STDOUT,
        )

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) so far of the worker itself and of its child processes."""
        tick = os.sysconf("SC_CLK_TCK")
        stats: dict[int, tuple[int, float]] = {}
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                # own user + system time, and that of its children already reaped (checkov)
                own = sum(int(f) for f in fields[11:15])
                stats[int(proc.name)] = (int(fields[1]), own / tick)
        main = stats.get(self.process.pid, (0, 0.0))[1]  # (its reaped children: the pool's)
        family, children = {self.process.pid}, 0.0
        for _ in range(4):  # pool processes, their Terraform helpers, checkov
            for pid, (ppid, cpu) in stats.items():
                if ppid in family and pid not in family:
                    family.add(pid)
                    children += cpu
        return {"worker": main, "children": children}

    def lines(self) -> list[dict[str, object]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def count(self, event: str) -> int:
        return sum(1 for line in self.lines() if event in str(line.get("event", "")))

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return int(self.process.returncode or 0)


def plan_requests(users: int, conversations_per_user: int, per_conversation: int,
                  tag: str) -> list[list[Envelope]]:
    """Each conversation's requests, in the order they must be answered."""
    out: list[list[Envelope]] = []
    n = 0
    for u in range(users):
        for c in range(conversations_per_user):
            conversation = f"{tag}-u{u}-c{c}"
            envs = []
            for k in range(per_conversation):
                text = FIRST[n % len(FIRST)] if k == 0 else FOLLOW_UPS[(n + k) % len(FOLLOW_UPS)]
                envs.append(Envelope(conversation_id=conversation, source="cli", user=f"user{u}",
                                     text=text, non_interactive=True,
                                     idempotency_key=f"{conversation}-{k}"))
            out.append(envs)
            n += 1
    return out


async def wait_ready(redis, keys: Keys, worker: WorkerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker exited: {worker.log_path.read_text()[-3000:]}")
        leases = [await redis.exists(keys.lease(p)) for p in range(keys.partitions)]
        if all(leases):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("worker did not take its partitions")


async def run_burst(redis_url: str, prefix: str, conversations: list[list[Envelope]], *,
                    partitions: int = 8, at_once: bool = True, timeout: float = 300,
                    admit_total: int = 32, admit_per_user: int = 4) -> Burst:
    """Submit every request (all at once, or one at a time) and follow them to their end."""
    redis = make_redis(redis_url)
    keys = Keys(prefix, partitions=partitions)
    submitter = Submitter(redis, keys, admit_total=admit_total, admit_per_user=admit_per_user)
    total = sum(len(c) for c in conversations)
    result = Burst(total)
    accepted: dict[str, float] = {}
    started: dict[str, float] = {}
    ended: dict[str, float] = {}
    told: set[str] = set()
    answered: dict[str, list[str]] = {c[0].conversation_id: [] for c in conversations}
    last: dict[str, str | None] = dict.fromkeys(answered)

    async def follow(only: list[str]) -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for conv in only:
                start = f"({last[conv]}" if last[conv] else "-"
                pipe.xrange(keys.events(conv), start, "+")
            replies = await pipe.execute()
        for conv, entries in zip(only, replies, strict=True):
            for entry_id, fields in entries:
                last[conv] = entry_id
                body = json.loads(fields["body"])
                rid = body.get("request_id")
                if body.get("data", {}).get("queued"):
                    assert f"queued as #{body['data']['queued']}" in body["text"]
                    told.add(rid)
                    continue
                started.setdefault(rid, body["ts"])
                if body["type"] in TERMINAL and rid not in ended:
                    ended[rid] = time.time()
                    answered[conv].append(rid)
                if body.get("data", {}).get("dead_letter"):
                    result.dead += 1

    async def submit_conversation(envs: list[Envelope]) -> None:
        for env in envs:
            accepted[env.request_id] = time.time()
            await submitter.submit(env)

    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            if at_once:
                await asyncio.gather(*(submit_conversation(c) for c in conversations))
                while len(ended) < total:
                    await asyncio.sleep(0.05)
                    await follow(list(answered))
            else:
                for envs in conversations:
                    for env in envs:
                        accepted[env.request_id] = time.time()
                        await submitter.submit(env)
                        while env.request_id not in ended:
                            await asyncio.sleep(0.005)
                            await follow([env.conversation_id])
    except TimeoutError:
        pass
    result.elapsed_s = time.perf_counter() - t0
    await follow(list(answered))
    result.finished = len(ended)
    result.told = len(told)
    result.waits_s = [max(0.0, started[r] - accepted[r]) for r in started if r in accepted]
    for envs in conversations:
        conv = envs[0].conversation_id
        want = [e.request_id for e in envs]
        if answered[conv] != want[: len(answered[conv])]:
            result.out_of_order.append(conv)
        result.never_finished += [r for r in want if r not in ended]
    await redis.aclose()
    return result
