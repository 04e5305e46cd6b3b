"""What Kubernetes and Prometheus see of a running part: probes, metrics, SIGTERM.

A real `archops worker` process serves /healthz, /readyz and /metrics on its probe port, reports
the queue it works from, and on SIGTERM finishes and exits cleanly within its grace period.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from core import metrics
from core.bus import Keys, Submitter
from core.envelope import Envelope

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the exposition")


async def test_metrics_report_the_queue_a_worker_would_take(redis, prefix: str) -> None:
    keys = Keys(prefix, partitions=4)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    for i in range(5):
        await submitter.submit(Envelope(conversation_id=f"c{i % 2}", source="cli", user="u",
                                        text=f"req {i}", idempotency_key=f"{prefix}-{i}"))

    async def ok() -> None:
        return None

    port = _free_port()
    runner, sampling = await metrics.serve_probes(
        "127.0.0.1", port, ready=ok, sample=lambda: metrics.sample_queue(redis, keys),
        sample_every_s=0.05,
    )
    try:
        await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                text = await response.text()
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                assert response.status == 200
        assert _value(text, "archops_queue_depth") == 5
        assert _value(text, "archops_queue_lag") == 5  # nobody has read them yet
        assert _value(text, "archops_pending_entries") == 0
        assert 'archops_accepted_total{source="cli"}' in text
    finally:
        assert sampling is not None
        sampling.cancel()
        await runner.cleanup()


async def test_a_failing_readiness_check_answers_503_with_its_reason() -> None:
    async def not_ready() -> str:
        return "shutting down"

    port = _free_port()
    runner, _ = await metrics.serve_probes("127.0.0.1", port, ready=not_ready)
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/readyz") as response:
            assert response.status == 503
            assert (await response.json())["reason"] == "shutting down"
    finally:
        await runner.cleanup()


@pytest.mark.slow
async def test_a_worker_process_serves_its_probes_and_stops_cleanly_on_sigterm(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ARCHOPS_REDIS_URL": redis_url,
        "ARCHOPS_REDIS_PREFIX": prefix,
        "ARCHOPS_DATA_DIR": str(tmp_path / "data"),
        "ARCHOPS_PROBE_PORT": str(port),
        "ARCHOPS_SHUTDOWN_GRACE_S": "2",
        "ARCHOPS_LOG_FORMAT": "json",
    }
    env.pop("ARCHOPS_DATABASE_URL", None)
    worker = subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env=env, cwd=ROOT,  # noqa: ASYNC220 - starting it does not block
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 60
            while True:
                assert worker.poll() is None, worker.stderr.read().decode()[-2000:] if worker.stderr else ""
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert time.monotonic() < deadline, "the worker never became ready"
                await asyncio.sleep(0.2)
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                text = await response.text()
            assert "archops_queue_depth" in text and "archops_requests_total" in text
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(worker.wait, 20)
        assert code == 0
        assert time.monotonic() - started < 10
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

