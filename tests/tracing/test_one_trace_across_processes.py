"""One request is one trace across processes, as it runs when deployed: a Slack edge, two
workers and two web instances (real `archops` processes sharing one Redis), each exporting to a
Zipkin stand-in. A signed Slack mention yields spans from the bot, a worker and the web
instance that streams the answer, all in one trace, each parented on the one before."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.capability import Signer
from tests.bot.slack_requests import SECRET, mention, post_signed
from tests.bot.slack_standin import BOT_USER_ID, SlackStandin
from tests.tracing.zipkin_standin import ZipkinStandIn

ROOT = Path(__file__).resolve().parents[2]
KEY = b"k" * 32
CONVERSATION = "slack:T0ARCH:C0INFRA:1700000001.000100"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Part:
    def __init__(self, name: str, args: list[str], env: dict[str, str], ready_url: str, log: Path) -> None:
        self.name, self.ready_url, self.log = name, ready_url, log
        self.process = subprocess.Popen([sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env,
                                        stdout=subprocess.DEVNULL, stderr=log.open("wb"))

    async def ready(self, http: aiohttp.ClientSession, within: float = 90) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{self.name} exited: {self.log.read_text()[-2000:]}"
            try:
                async with http.get(self.ready_url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"{self.name} never became ready: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.mark.slow
async def test_a_slack_request_is_one_trace_through_bot_workers_and_web(redis_url: str, prefix: str,
                                                                        tmp_path: Path) -> None:
    zipkin = await ZipkinStandIn().start()
    slack = SlackStandin()
    await slack.start()
    key = base64.urlsafe_b64encode(KEY).decode().rstrip("=")
    common = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ARCHOPS_REDIS_URL": redis_url,
        "ARCHOPS_REDIS_PREFIX": prefix,
        "ARCHOPS_PARTITIONS": "4",
        "ARCHOPS_DATA_DIR": str(tmp_path / "data"),
        "ARCHOPS_ZIPKIN_ENDPOINT": zipkin.endpoint,
        "ARCHOPS_SECRET_KEYS": key,
        "ARCHOPS_SLACK_BOT_TOKEN": "xoxb-test-0000-archops",
        "ARCHOPS_SLACK_SIGNING_SECRET": SECRET,
        "ARCHOPS_SLACK_API_URL": slack.url,
        "ARCHOPS_PUBLIC_URL": "https://archops.example.com",
        "ARCHOPS_REVIEW_CHECKS": "parse",
        "ARCHOPS_LOG_FORMAT": "json",
    }
    for name in ("ARCHOPS_DATABASE_URL", "ARCHOPS_OPENAI_BASE_URL", "ARCHOPS_OPENAI_MODEL", "ARCHOPS_GITHUB_TOKEN"):
        common.pop(name, None)
    bot_port = _port()
    parts = [Part("bot", ["bot", "--port", str(bot_port)], {**common, "ARCHOPS_SERVICE_NAME": "archops-bot"},
                  f"http://127.0.0.1:{bot_port}/healthz", tmp_path / "bot.log")]
    for i in (1, 2):
        probe = _port()
        parts.append(Part(f"worker-{i}", ["worker"], {**common, "ARCHOPS_SERVICE_NAME": "archops-worker",
                                                      "ARCHOPS_PROBE_PORT": str(probe)},
                          f"http://127.0.0.1:{probe}/readyz", tmp_path / f"worker-{i}.log"))
    webs = []
    for i in (1, 2):
        port = _port()
        webs.append(port)
        parts.append(Part(f"web-{i}", ["web", "--port", str(port)], {**common, "ARCHOPS_SERVICE_NAME": "archops-web"},
                          f"http://127.0.0.1:{port}/readyz", tmp_path / f"web-{i}.log"))
    cap = Signer([KEY]).issue("conversation", CONVERSATION, actions={"read"}, ttl_s=600)
    received: list[str] = []
    try:
        async with aiohttp.ClientSession() as http:
            for part in parts:
                await part.ready(http)

            async def follow() -> None:  # the person watching the thread's live stream on web-2
                url = f"http://127.0.0.1:{webs[1]}/api/conversations/{CONVERSATION}/events?cap={cap}"
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=120)) as response:
                    assert response.status == 200, await response.text()
                    async for line in response.content:
                        text = line.decode().strip()
                        if text.startswith("event:"):
                            received.append(text.split(":", 1)[1].strip())
                            if received[-1] in {"question", "done", "error"}:
                                return

            watching = asyncio.create_task(follow())
            await asyncio.sleep(1.0)  # the stream is registered before the work starts
            body = mention("EvTRACE1", f"<@{BOT_USER_ID}> a static website for our launch page")
            status, _ = await post_signed(f"http://127.0.0.1:{bot_port}/slack/events", body)
            assert status == 200
            await asyncio.wait_for(watching, 120)
    finally:
        for part in parts:
            part.stop()  # each flushes its spans as it exits
        await slack.stop()
    try:
        spans = await zipkin.wait_for(3, within=20)
        await asyncio.sleep(1.0)
        spans = list(zipkin.spans)
    finally:
        await zipkin.stop()
    assert received and received[-1] in {"question", "done"}, received
    submits = [s for s in spans if s["name"] == "bot.submit"]
    assert submits, sorted({s["name"] for s in spans})
    trace = submits[0]["traceId"]
    mine = [s for s in spans if s["traceId"] == trace]
    services = {s["localEndpoint"]["serviceName"] for s in mine}
    assert services == {"archops-bot", "archops-worker", "archops-web"}, services
    by_id: dict[str, dict[str, Any]] = {s["id"]: s for s in mine}

    def ancestors(span: dict[str, Any]) -> list[str]:
        names = []
        while "parentId" in span and span["parentId"] in by_id:
            span = by_id[span["parentId"]]
            names.append(span["name"])
        return names

    request = next(s for s in mine if s["name"] == "worker.request")
    assert "bot.submit" in ancestors(request)
    delivered = next(s for s in mine if s["name"] == "web.stream.deliver")
    chain = ancestors(delivered)
    assert "worker.request" in chain and chain[-1] == "bot.submit", chain
    assert delivered["localEndpoint"]["serviceName"] == "archops-web"
