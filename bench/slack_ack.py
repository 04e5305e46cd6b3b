"""Slack bursts: how fast the Slack edge acknowledges signed events, and how soon the first reply
(the conversation's card) is in the thread.

    .venv/bin/python bench/slack_ack.py [--rates 50,200] [--duration 20] [--quick]
                                        [--targets floor,bot,up] [--channels 500]

For each target and rate, signed ``app_mention`` events (each the root of its own thread, spread
over CHANNELS channels and 1,000 people, as a busy workspace sends them) go to ``/slack/events``
at a fixed rate for DURATION seconds. Targets, each a process of its own started here:
* ``floor``: the baseline measured in the same run: a bare aiohttp server that checks Slack's
  signature and answers 200 (what any Slack endpoint costs on this machine);
* ``bot``: ``archops bot`` alone on its own redis-server (no worker: the first reply is the card
  the bot posts when it accepts a request);
* ``up``: ``archops up`` (Redis, database, a worker, the web app and the Slack edge in one
  process), as a single machine runs archops.
The Slack Web API is the tests' stand-in (tests/bot/slack_standin.py) in a process of its own at
nice 19 (Slack's servers are not on the target's cores, and answering the target's writes must not
delay this process's timing of the acknowledgements); the first reply of an event is the first
``chat.postMessage`` into its thread. Printed per run: events sent, acknowledged, errors, ack
p50/p99 (ms), the ack p99 as a multiple of the floor's, replied, first-reply lag p50/p95 (s), and
the target's CPU time per event (ms), which the machine's other load does not inflate as it does
the latencies (the load average is printed too). Goals: ack p99 < 20 ms for ``archops bot`` at
200/s, first-reply lag p95 < 2 s at 50/s. ``--quick`` runs 3 s per rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import ClientSession, ClientTimeout, TCPConnector  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

from core.redis_server import EmbeddedRedis  # noqa: E402
from tests.bot.slack_standin import BOT_USER_ID  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECRET = "bench-signing-secret-0123456789"
# ARCHOPS_BENCH_PROFILE=FILE: run the bot under cProfile, writing its profile to FILE
PROFILE = (["-m", "cProfile", "-o", os.environ["ARCHOPS_BENCH_PROFILE"]]
           if os.environ.get("ARCHOPS_BENCH_PROFILE") else [])
FLOOR = r"""
import hashlib, hmac, sys
from aiohttp import web
SECRET = sys.argv[2].encode()
async def events(request):
    raw = await request.read()
    ts = request.headers["X-Slack-Request-Timestamp"]
    mac = "v0=" + hmac.new(SECRET, b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, request.headers["X-Slack-Signature"]):
        return web.json_response({"ok": False}, status=401)
    return web.Response(status=200)
async def health(_):
    return web.json_response({"ok": True})
app = web.Application()
app.router.add_post("/slack/events", events)
app.router.add_get("/healthz", health)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

# the Slack stand-in in a child process; its first replies are read over a control endpoint
STANDIN = r"""
import asyncio, json, sys
from aiohttp import web
sys.path.insert(0, sys.argv[1])
from tests.bot.slack_standin import SlackStandin
async def main():
    slack = SlackStandin()
    await slack.start()
    async def replies(_):
        return web.json_response([[c.args.get("thread_ts"), c.at] for c in slack.calls
                                  if c.method == "chat.postMessage"])
    async def clear(_):
        slack.calls.clear()
        return web.json_response({"ok": True})
    app = web.Application()
    app.router.add_get("/bench/replies", replies)
    app.router.add_post("/bench/clear", clear)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    control = f"http://127.0.0.1:{runner.addresses[0][1]}"
    print(json.dumps({"url": slack.url, "control": control}), flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


class Slack:
    """The Slack Web API stand-in, in a process of its own."""

    def __init__(self) -> None:
        # Slack's own servers are not on the target's cores: the stand-in yields the CPU to it
        self.process = subprocess.Popen(["nice", "-n", "19", PYTHON, "-c", STANDIN, str(ROOT)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        found = json.loads(self.process.stdout.readline())
        self.url, self.control = found["url"], found["control"]

    async def replies(self) -> list[tuple[str, float]]:
        """(thread_ts, when) of every chat.postMessage so far."""
        async with ClientSession() as session, session.get(f"{self.control}/bench/replies") as resp:
            return [(str(ts or ""), float(at)) for ts, at in await resp.json()]

    async def clear(self) -> None:
        async with ClientSession() as session, session.post(f"{self.control}/bench/clear") as resp:
            await resp.read()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def own_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` itself (the process that answers Slack's requests)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")  # utime stime


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and of its live descendants (and of the children it reaped)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15]) / ticks  # utime stime cutime cstime
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(c) for c in children]
        except (OSError, ValueError):
            continue
    return total


class Target:
    """One process under load: ``floor``, ``bot`` or ``up``."""

    def __init__(self, kind: str, tmp: Path, slack_url: str, redis_url: str | None) -> None:
        self.kind = kind
        self.port = free_port()
        self.dir = tmp / f"{kind}-{self.port}"
        self.dir.mkdir(parents=True)
        env = {**os.environ, "ARCHOPS_DATA_DIR": str(self.dir / "data"),
               "ARCHOPS_SLACK_BOT_TOKEN": "xoxb-bench-0000-archops",
               "ARCHOPS_SLACK_SIGNING_SECRET": SECRET, "ARCHOPS_SLACK_API_URL": slack_url,
               "ARCHOPS_PUBLIC_URL": "https://archops.example.com", "ARCHOPS_LOG_LEVEL": "WARNING",
               "ARCHOPS_LOG_FORMAT": "json", "ARCHOPS_BOT_PORT": str(self.port),
               "ARCHOPS_REDIS_PREFIX": f"bench{self.port}", "PYTHONPATH": str(ROOT)}
        for name in ("ARCHOPS_REDIS_URL", "ARCHOPS_DATABASE_URL", "ARCHOPS_GITHUB_TOKEN"):
            env.pop(name, None)
        if kind == "floor":
            argv = [PYTHON, "-c", FLOOR, str(self.port), SECRET]
        elif kind == "bot":
            assert redis_url
            env["ARCHOPS_REDIS_URL"] = redis_url
            argv = [PYTHON, *PROFILE, "-m", "cli.main", "bot", "--port", str(self.port)]
        else:
            argv = [PYTHON, "-m", "cli.main", "up", "--port", "0"]
        self.log = open(self.dir / "out.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(argv, env=env, cwd=str(ROOT), stdout=self.log,
                                        stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.kind} exited: {(self.dir / 'out.log').read_text()[-2000:]}")
                try:
                    async with session.get(self.url.replace("/slack/events", "/healthz")) as resp:
                        if resp.status == 200:
                            return
                except OSError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.kind} did not start within {timeout_s:.0f} s")

    def cpu_s(self) -> float:
        """CPU seconds the process and its children (live ones too) used so far."""
        return tree_cpu_s(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def mention_body(index: int, run: str, channels: int) -> tuple[str, str]:
    ts = f"{1800000000 + index}.{run}"
    body = {"token": "bench", "team_id": "T0BENCH", "api_app_id": "A0BENCH", "type": "event_callback",
            "event_id": f"Ev{run}{index:07d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0BENCH", "user_id": BOT_USER_ID, "is_bot": True}],
            "event": {"type": "app_mention", "team": "T0BENCH", "user": f"U{index % 1000:05d}",
                      "channel": f"C{index % channels:05d}", "ts": ts, "event_ts": ts,
                      "text": f"<@{BOT_USER_ID}> a static website for launch {index}"}}
    return json.dumps(body), ts


async def warm_up(target: Target, slack: Slack, run: str) -> None:
    """One event, and its reply: the target is up and writing to Slack before the clock starts."""
    body = json.loads(mention_body(0, run, 1)[0])
    body["event_id"] = f"EvWarm{run}"
    body["event"]["channel"] = body["event"]["channel"] + "W"
    raw = json.dumps(body)
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=raw)}
    async with ClientSession() as session, session.post(target.url, data=raw, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    if target.kind == "floor":
        return
    deadline = time.monotonic() + 120
    while not await slack.replies():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{target.kind} never replied: {(target.dir / 'out.log').read_text()[-2000:]}")
        await asyncio.sleep(0.1)
    await slack.clear()


async def burst(target: Target, slack: Slack, rate: int, duration_s: float,
                channels: int, run: str) -> dict[str, Any]:
    count = int(rate * duration_s)
    verifier = SignatureVerifier(SECRET)
    prepared = []
    for index in range(count):
        body, ts = mention_body(index, run, channels)
        stamp = str(int(time.time()))
        prepared.append((body, ts, {"Content-Type": "application/json",
                                    "X-Slack-Request-Timestamp": stamp,
                                    "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body)}))
    sent_at: dict[str, float] = {}
    acks: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()

    async def send(session: ClientSession, body: str, ts: str, headers: dict[str, str]) -> None:
        nonlocal errors
        start = loop.time()
        sent_at[ts] = time.monotonic()
        try:
            async with session.post(target.url, data=body.encode(), headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    errors += 1
                    return
        except (TimeoutError, OSError):
            errors += 1
            return
        acks.append((loop.time() - start) * 1000)

    connector = TCPConnector(limit=400)
    cpu_before, own_before = target.cpu_s(), own_cpu_s(target.process.pid)
    async with ClientSession(connector=connector, timeout=ClientTimeout(total=10)) as session:
        tasks = []
        start = loop.time()
        for index, (body, ts, headers) in enumerate(prepared):
            delay = start + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(session, body, ts, headers)))
        await asyncio.gather(*tasks)
    replied: dict[str, float] = {}
    if target.kind != "floor":  # the first replies still on their way
        deadline = time.monotonic() + max(10.0, duration_s)
        while time.monotonic() < deadline:
            replied = first_replies(await slack.replies(), sent_at)
            if len(replied) >= len(acks):
                break
            await asyncio.sleep(0.2)
    lags = [replied[ts] - sent_at[ts] for ts in replied]
    cpu_ms = (target.cpu_s() - cpu_before) * 1000 / max(1, count)
    own_ms = (own_cpu_s(target.process.pid) - own_before) * 1000 / max(1, count)
    return {"cpu_ms": cpu_ms, "own_ms": own_ms, "sent": count, "acked": len(acks), "errors": errors, "ack_p50": percentile(acks, 0.5),
            "ack_p99": percentile(acks, 0.99), "replied": len(replied),
            "lag_p50": percentile(lags, 0.5), "lag_p95": percentile(lags, 0.95)}


def first_replies(replies: list[tuple[str, float]], sent_at: dict[str, float]) -> dict[str, float]:
    found: dict[str, float] = {}
    for ts, at in replies:
        if ts in sent_at and ts not in found:
            found[ts] = at
    return found


def line(kind: str, rate: int, r: dict[str, Any], floor_p99: float | None) -> str:
    ratio = f"{r['ack_p99'] / floor_p99:5.1f}x" if floor_p99 and kind != "floor" else "    -"
    lag = (f"{r['replied']:>7} {r['lag_p50']:8.2f} {r['lag_p95']:8.2f}" if kind != "floor"
           else f"{'-':>7} {'-':>8} {'-':>8}")
    return (f"{kind:<6} {rate:>6} {r['sent']:>6} {r['acked']:>6} {r['errors']:>6} "
            f"{r['ack_p50']:8.1f} {r['ack_p99']:8.1f} {ratio} {lag} {r['cpu_ms']:8.2f} "
            f"{r['own_ms']:8.2f}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="50,200", help="events per second, comma-separated")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per rate")
    ap.add_argument("--quick", action="store_true", help="3 s per rate")
    ap.add_argument("--targets", default="floor,bot,up")
    ap.add_argument("--channels", type=int, default=500)
    args = ap.parse_args()
    duration = 3.0 if args.quick else args.duration
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    print(f"{duration:g} s per rate, {args.channels} channels; goals: bot ack p99 < 20 ms at 200/s, "
          "first-reply lag p95 < 2 s at 50/s", flush=True)
    print(f"{'target':<6} {'rate/s':>6} {'sent':>6} {'acked':>6} {'errors':>6} {'ack_p50':>8} "
          f"{'ack_p99':>8} {'/floor':>6} {'replied':>7} {'lag_p50':>8} {'lag_p95':>8} "
          f"{'cpu_ms':>8} {'front_ms':>8}", flush=True)
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; cpu_ms: CPU time "
          "per event of the target and its children; front_ms: of the process that answers "
          "Slack alone)", flush=True)
    floors: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="archops-slack-bench-") as tmp:
        for kind in [k.strip() for k in args.targets.split(",") if k.strip()]:
            for number, rate in enumerate(rates):
                slack = Slack()
                server = EmbeddedRedis(Path(tmp) / f"redis-{kind}-{rate}") if kind == "bot" else None
                if server is not None:
                    server.start()
                target = Target(kind, Path(tmp), slack.url, server.url if server else None)
                try:
                    await target.ready()
                    await warm_up(target, slack, f"{number}{kind[0]}")
                    result = await burst(target, slack, rate, duration, args.channels,
                                         f"{number}{kind[0]}")
                finally:
                    target.stop()
                    slack.stop()
                    if server is not None:
                        server.stop()
                if kind == "floor":
                    floors[rate] = result["ack_p99"]
                print(line(kind, rate, result, floors.get(rate)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
