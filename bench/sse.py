"""SSE at scale: memory per idle client and delivery latency, against baselines from the same run.

    .venv/bin/python bench/sse.py [--idle 5000] [--conversations 100] [--rate 20] [--seconds 20]

Everything runs on loopback, in separate processes so that no side measures itself: its own
redis-server, the web process (``archops web``, exactly as deployed), a publisher (a worker's
``EventLog.append``) and this process, whose clients are bare asyncio sockets speaking HTTP/1.1
and reading SSE as a browser's EventSource does. Prints:

1. idle: ``--idle`` clients, each on its own conversation, connected to one web process: the
   web process's RSS delta per client, next to the same figure for a bare aiohttp handler that
   only holds an SSE response open (the floor aiohttp itself sets). Goal: under 10 KiB.
2. delivery: ``--conversations`` conversations stream ``--rate`` events/s each for
   ``--seconds`` while the idle clients stay connected; p50/p99/max from the publisher's
   timestamp to the client having parsed the event, next to the same figures for a raw redis-py
   subscriber to the same Pub/Sub traffic (what Redis and the loop cost without the web hop).
   Goal: p99 under 150 ms. Also: events lost or duplicated (must be 0) and streams cut. The
   default 20 s window covers the web process's heartbeats (15 s) and registry refresh (20 s)
   for the idle clients, so their cost shows in the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.redis_client import make_redis  # noqa: E402
from core.redis_server import EmbeddedRedis, free_port  # noqa: E402

PREFIX = "benchsse"


def raise_fd_limit(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


# --- credentials ----------------------------------------------------------------------------
class Auth:
    """What the web API needs before a client may open a stream: THE ONE PLACE FOR CREDENTIALS.

    Where the tree has the access model (web.auth), the bench reads the installation's CLI token
    from the data folder the way `archops chat` does and sends it as a bearer token, and makes
    that principal the owner of the bench's conversations (the publisher writes their events
    straight to the event log, so nobody posted into them). Without web.auth it sends nothing.
    """

    def __init__(self, data_dir: Path, redis_url: str) -> None:
        self.data_dir, self.redis_url = data_dir, redis_url
        self.headers = ""
        try:
            from web.auth import read_cli_token
        except ImportError:
            self.enabled = False
            return
        self.enabled = True
        token = read_cli_token(data_dir)
        if token:
            self.headers = f"Authorization: Bearer {token}\r\n"

    async def own(self, conversations: list[str]) -> None:
        if not self.enabled:
            return
        from web.auth import LOCAL_PRINCIPAL, AccessStore

        redis = make_redis(self.redis_url, max_connections=64)
        store = AccessStore(redis, PREFIX)
        for start in range(0, len(conversations), 50):
            await asyncio.gather(*(store.claim(name, LOCAL_PRINCIPAL)
                                   for name in conversations[start : start + 50]))
        await redis.aclose()


# --- the client side: bare sockets ------------------------------------------------------------
class Client:
    __slots__ = ("reader", "writer", "conversation")

    def __init__(self, reader, writer, conversation: str) -> None:  # type: ignore[no-untyped-def]
        self.reader, self.writer, self.conversation = reader, writer, conversation


async def open_stream(port: int, conversation: str, client_id: str, headers: str) -> Client:
    for attempt in range(5):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**16)
            break
        except OSError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    writer.write(
        f"GET /api/conversations/{conversation}/events?client_id={client_id} HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAccept: text/event-stream\r\n{headers}\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status != 200:
        writer.close()
        raise RuntimeError(f"HTTP {status}")
    await reader.readuntil(b"retry: 1000\n\n")  # the stream is open
    return Client(reader, writer, conversation)


async def connect_many(port: int, n: int, prefix: str, auth: Auth | None,
                       parallel: int = 100) -> tuple[list[Client], int, float]:
    headers = auth.headers if auth else ""
    if auth:
        await auth.own([f"{prefix}-{i}" for i in range(n)])
    gate = asyncio.Semaphore(parallel)
    clients: list[Client] = []
    failed = 0

    async def one(i: int) -> None:
        nonlocal failed
        async with gate:
            try:
                clients.append(await open_stream(port, f"{prefix}-{i}", f"{prefix}-k{i}", headers))
            except (OSError, RuntimeError, asyncio.IncompleteReadError) as exc:
                failed += 1
                if failed == 1:
                    print(f"  first refusal: {exc!r}")

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return clients, failed, time.perf_counter() - t0


async def close_all(clients: list[Client]) -> None:
    for c in clients:
        c.writer.close()
    await asyncio.sleep(0.5)


async def wait_http(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if (await reader.read()).startswith(b"HTTP/1.1 200"):
                writer.close()
                return
            writer.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answers on port {port}")
        await asyncio.sleep(0.1)


async def settle(pid: int, seconds: float = 1.5) -> int:
    """RSS once it stopped moving (connections finish registering, buffers are freed)."""
    await asyncio.sleep(seconds)
    last = rss_kib(pid)
    for _ in range(10):
        await asyncio.sleep(0.3)
        now = rss_kib(pid)
        if abs(now - last) < 64:
            return now
        last = now
    return last


async def idle_memory(pid: int, port: int, n: int, label: str, tag: str, auth: Auth | None
                      ) -> tuple[list[Client], float]:
    warm, _, _ = await connect_many(port, 200, f"warm{tag}", auth)  # code paths, pools
    await close_all(warm)
    base = await settle(pid)
    clients, failed, took = await connect_many(port, n, f"idle{tag}", auth)
    loaded = await settle(pid)
    per = (loaded - base) * 1024 / max(1, len(clients))
    print(f"  {label:<34} {len(clients):>5} connected, {failed} refused, in {took:4.1f} s; "
          f"RSS {base / 1024:6.1f} -> {loaded / 1024:6.1f} MiB: {per / 1024:5.2f} KiB per client")
    return clients, per


async def read_events(client: Client, received: list[tuple[str, str, float]]) -> None:
    """Parse SSE blocks (chunked transfer framing stripped) and record (conversation, id, lag)."""
    buffer = b""
    while True:
        try:
            chunk = await client.reader.read(65536)
        except ConnectionError:
            return
        if not chunk:
            return
        now = time.time()
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            entry_id = data = None
            for line in block.split(b"\n"):  # chunked framing lines ("\r", "1a3\r") are skipped
                if line.startswith(b"id: "):
                    entry_id = line[4:].rstrip(b"\r").decode()
                elif line.startswith(b"data: "):
                    data = line[6:]
            if entry_id and data:
                ts = json.loads(data)["ts"]
                received.append((client.conversation, entry_id, (now - ts) * 1000))


# --- the publisher process ----------------------------------------------------------------------
async def publish(redis_url: str, conversations: int, rate: float, seconds: float,
                  prefix: str) -> None:
    from core.bus import EventLog, Keys
    from core.events import Event

    redis = make_redis(redis_url, max_connections=8)
    log = EventLog(redis, Keys(PREFIX))
    names = [f"{prefix}-{i}" for i in range(conversations)]
    tick = 1 / 200  # spread the events over the second, as independent producers do
    text = "step of the design: " + "x" * 80
    start = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        batch = []
        while sent < elapsed * conversations * rate:
            batch.append(log.append(Event(type="status", conversation_id=names[sent % conversations],
                                          request_id="r", text=text, ts=time.time())))
            sent += 1
        if batch:
            await asyncio.gather(*batch)
        await asyncio.sleep(tick)
    print(json.dumps({"sent": sent}), flush=True)
    await redis.aclose()


async def raw_subscriber(redis_url: str, instance: str, seconds: float
                         ) -> list[float]:
    """The baseline: redis-py subscribed to the same Pub/Sub traffic, no web hop."""
    from core.bus import Keys

    redis = make_redis(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(Keys(PREFIX).instance_channel(instance))
    lags: list[float] = []
    try:
        async with asyncio.timeout(seconds):
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    body = str(message["data"]).partition("\n")[2]
                    lags.append((time.time() - json.loads(body)["ts"]) * 1000)
    except TimeoutError:
        pass
    await pubsub.aclose()
    await redis.aclose()
    return lags


# --- the bare aiohttp baseline -----------------------------------------------------------------
def bare_server(port: int) -> None:
    from aiohttp import web

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"retry: 1000\n\n")
        await asyncio.get_running_loop().create_future()  # hold it open, do nothing
        return response

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/api/conversations/{conversation_id}/events", handler)
        app.router.add_get("/healthz", health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    run(main())


def run(coro) -> None:  # type: ignore[no-untyped-def]
    try:
        import uvloop

        uvloop.run(coro)
    except ImportError:
        asyncio.run(coro)


# --- orchestration -------------------------------------------------------------------------------
def spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


async def main(args: argparse.Namespace) -> None:
    limit = raise_fd_limit(args.idle + args.conversations + 2000)  # children inherit it
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis").start()
        port, bare_port = free_port(), free_port()
        env = {
            "ARCHOPS_REDIS_URL": redis.url, "ARCHOPS_REDIS_PREFIX": PREFIX,
            "ARCHOPS_DATA_DIR": str(Path(tmp) / "data"), "ARCHOPS_INSTANCE_ID": "bench",
            "ARCHOPS_LOG_LEVEL": "warning",
        }
        web = spawn(["-m", "cli.main", "web", "--port", str(port)], env)
        bare = spawn([__file__, "--bare-server", str(bare_port)])
        idle_clients: list[Client] = []
        try:
            await wait_http(port)
            await wait_http(bare_port)
            auth = Auth(Path(tmp) / "data", redis.url)
            print(f"SSE bench: {os.cpu_count()} cores, fd limit {limit}, redis-server on loopback, "
                  f"web = `archops web` (pid {web.pid}), clients = bare asyncio sockets, "
                  f"access model: {'CLI token' if auth.enabled else 'none in this tree'}; "
                  f"load average {load()}")
            print(f"1. {args.idle} idle clients, one conversation each")
            bare_clients, bare_per = await idle_memory(bare.pid, bare_port, args.idle,
                                                       "baseline: bare aiohttp handler", "b", None)
            await close_all(bare_clients)
            bare.terminate()
            idle_clients, per = await idle_memory(web.pid, port, args.idle, "archops web", "a",
                                              auth)
            verdict = "ok" if per < 10 * 1024 else "OVER"
            print(f"  => archops: {per / 1024:.2f} KiB per idle client (goal < 10 KiB: {verdict}); "
                  f"{(per - bare_per) / 1024:+.2f} KiB over bare aiohttp")

            n, rate = args.conversations, args.rate
            print(f"2. delivery: {n} conversations x {rate} events/s for {args.seconds:.0f} s, "
                  f"{len(idle_clients)} idle clients still connected")
            # baseline: the same publishing, a raw subscriber on the channel of an instance that
            # the registry routes to (one watcher registered by hand)
            base_lags = await baseline_latency(redis.url, n, rate, min(args.seconds, 5.0))
            print(f"  baseline: raw redis-py subscriber   p50 {pct(base_lags, .5):6.1f} ms  "
                  f"p99 {pct(base_lags, .99):6.1f} ms  max {max(base_lags or [0]):6.1f} ms "
                  f"({len(base_lags)} events)")
            active, failed, _ = await connect_many(port, n, "live", auth)
            received: list[tuple[str, str, float]] = []
            readers = [asyncio.create_task(read_events(c, received)) for c in active]
            cpu0, t0 = cpu_s(web.pid), time.monotonic()
            publisher = spawn([__file__, "--publish", redis.url, str(n), str(rate),
                               str(args.seconds), "live"])
            out, _ = await asyncio.to_thread(publisher.communicate, None, args.seconds + 30)
            web_cpu = (cpu_s(web.pid) - cpu0) / (time.monotonic() - t0)
            sent = json.loads(out.decode().strip().splitlines()[-1])["sent"]
            deadline = time.monotonic() + 5
            while len(received) < sent and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            for task in readers:
                task.cancel()
            lags = [lag for _, _, lag in received]
            unique = {(c, i) for c, i, _ in received}
            cut = sum(1 for c in active if c.reader.at_eof())
            verdict = "ok" if pct(lags, .99) < 150 else "OVER"
            print(f"  archops web (SSE, {len(active)} streams) p50 {pct(lags, .5):6.1f} ms  "
                  f"p99 {pct(lags, .99):6.1f} ms  max {max(lags or [0]):6.1f} ms "
                  f"({len(received)} events)")
            print(f"  => p99 {pct(lags, .99):.1f} ms (goal < 150 ms: {verdict}); sent {sent}, "
                  f"received {len(unique)} distinct, {len(received) - len(unique)} duplicates, "
                  f"{sent - len(unique)} missing, {failed} refused, {cut} streams ended")
            print(f"  web process CPU while streaming: {web_cpu:.0%} of one core; "
                  f"load average {load()} (the machine is shared: compare with the baseline)")
            await close_all(active)
        finally:
            for c in idle_clients:
                c.writer.close()
            for proc in (web, bare):
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
            redis.stop()


async def baseline_latency(redis_url: str, n: int, rate: float, seconds: float) -> list[float]:
    from core.bus import Keys

    keys = Keys(PREFIX)
    redis = make_redis(redis_url)
    expires = int((time.time() + 3600) * 1000)
    for i in range(n):  # route the baseline conversations to a pseudo instance "raw"
        await redis.set(keys.client(f"raw-{i}"), "raw", ex=3600)
        await redis.zadd(keys.watchers(f"base-{i}"), {f"raw-{i}": expires})
    await redis.aclose()
    subscriber = asyncio.create_task(raw_subscriber(redis_url, "raw", seconds + 3))
    await asyncio.sleep(0.3)
    publisher = spawn([__file__, "--publish", redis_url, str(n), str(rate), str(seconds), "base"])
    await asyncio.to_thread(publisher.communicate, None, seconds + 30)
    return await subscriber


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--publish", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        raise_fd_limit(args.idle + 2000)
        bare_server(args.bare_server)
    elif args.publish:
        url, n, rate, seconds, prefix = args.publish
        run(publish(url, int(n), float(rate), float(seconds), prefix))
    else:
        run(main(args))
