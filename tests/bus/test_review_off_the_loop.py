"""The review off the event loop: in a process pool, and with checkov batched across requests."""

from __future__ import annotations

import asyncio

import pytest
from langgraph.checkpoint.memory import MemorySaver

from agents.fixer import check_and_repair, checkov_many, review_checks, with_checkov
from agents.handler import AgentHandler
from core.offload import Batcher, CpuPool
from core.settings import Settings
from core.terraform.checkov_scan import checkov_available
from tests.agents.conftest import Recorder, text

PROMPTS = ["a static website for our launch page", "an API on Lambda with DynamoDB"]


async def designed(prompt: str) -> dict[str, str]:
    handler = AgentHandler(MemorySaver(), Settings(), review_checks={"parse"})
    ctx = Recorder(text("c", prompt, non_interactive=True))
    await handler(ctx)
    return ctx.module()["files"]


def key(finding: dict) -> tuple:
    return (finding["check_id"], finding.get("address"), bool(finding.get("skip_reason")))


async def test_batched_checkov_finds_what_the_review_finds_and_runs_once_per_batch():
    if not checkov_available() or "checkov" not in review_checks():
        pytest.skip("checkov is not installed (scripts/setup-validation)")
    modules = [await designed(p) for p in PROMPTS]
    pool = CpuPool("process", 2).start()
    calls: list[int] = []

    async def many(items):
        calls.append(len(items))
        return await pool.run(checkov_many, items)

    try:
        batch = Batcher(many, parallel=1)
        own = set(review_checks()) - {"checkov"}
        reports = await asyncio.gather(*(pool.run(check_and_repair, m, 3, own) for m in modules))
        found = await asyncio.gather(*(batch(files) for files, _ in reports))
        whole = await asyncio.gather(*(pool.run(check_and_repair, m, 3, None) for m in modules))
    finally:
        pool.close()
    assert calls == [len(modules)]  # one checkov start-up for every module
    for (_files, report), checkov, (_f, expected) in zip(reports, found, whole, strict=True):
        merged = with_checkov(report, checkov)
        assert merged is not None and merged["passed"] == expected["passed"]
        assert sorted(map(key, merged["findings"])) == sorted(map(key, expected["findings"]))


def test_a_pool_process_ends_with_the_process_that_started_it(tmp_path) -> None:
    """A worker killed outright (kill -9) leaves no pool process waiting for ever (nor the
    Terraform and checkov helpers such a process keeps)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pids = tmp_path / "pids"
    parent = subprocess.Popen([sys.executable, "-c", f"""
import os, pathlib, time
from core.offload import CpuPool
pool = CpuPool("process", 2).start()
children = sorted({{pool._pool().submit(os.getpid).result() for _ in range(20)}})
pathlib.Path({str(pids)!r}).write_text(" ".join(map(str, children)))
time.sleep(600)
"""], cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        deadline = time.monotonic() + 60
        while not pids.exists() or not pids.read_text():
            assert time.monotonic() < deadline and parent.poll() is None, "the pool did not start"
            time.sleep(0.1)
        children = [int(p) for p in pids.read_text().split()]
        assert children and parent.pid not in children
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    def alive(pid: int) -> bool:
        try:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"

    deadline = time.monotonic() + 10
    while any(alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in children if alive(p)]
