"""Delivery: from "design ready" to "pull request open", and the API calls each delivery makes.

    .venv/bin/python bench/delivery.py [--rounds 3] [--skip-paced]

A real design (the offline workflow's web app with PostgreSQL, and a follow-up adding a Redis
cache) is delivered three ways per run, each to a fresh repository: the first delivery (a new
branch, a commit, the pull request), the follow-up (a commit on the branch, the body updated)
and an unchanged version (no commit). Against the GitHub stand-in, which runs in a process of
its own as GitHub would be another machine, the real PyGithub adapter runs:

* with no pacing (what the code and the stand-in cost),
* with archops' pacing (0.75 s between content-creating requests: GitHub's documented 80 a
  minute; no pause between reads),
* with PyGithub's default pacing (0.25 s between requests, 1 s between writes), the baseline;

and the local adapter against a bare repository. Prints the median time of each step, the
calls (reads + writes) per delivery, and the ratio of archops' pacing to PyGithub's defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.codehost import body as pr_body  # noqa: E402
from core.codehost.body import Design  # noqa: E402
from core.codehost.delivery import Change, deliver  # noqa: E402
from core.codehost.github import host_for  # noqa: E402
from core.codehost.local import LocalHost  # noqa: E402
from core.codehost.naming import branch_name  # noqa: E402

SERVER = """
import sys, json
from tests.codehost.github_standin import GitHubStandIn
s = GitHubStandIn().start()
print(json.dumps({"url": s.url, "token": s.add_token()}), flush=True)
for line in sys.stdin:
    s.add_repo(line.strip())
    print("ok", flush=True)
"""


async def designs() -> list[tuple[dict[str, str], dict[str, Any]]]:
    """Two versions of a real design: the workflow's module and report, then the follow-up's."""
    from langgraph.checkpoint.memory import InMemorySaver

    from agents.handler import AgentHandler
    from core.envelope import Envelope
    from core.settings import Settings

    class Ctx:
        def __init__(self, env: Envelope) -> None:
            self.envelope, self.attempt, self.events = env, 1, []

        async def emit(self, type: str, text: str | None = None, **data: Any) -> None:
            self.events.append((type, data))

        async def once(self, name: str, fn: Any, *, reconcile: Any = None) -> Any:
            return await fn()

        async def notice(self, key: str, text: str, **data: Any) -> None:
            pass

    handler = AgentHandler(InMemorySaver(), Settings(), review_checks={"parse", "cost"})
    out = []
    for text in ("a web app with Postgres for app.acme.io", "add a Redis cache"):
        ctx = Ctx(Envelope(conversation_id="bench", source="cli", user="local", text=text,
                           non_interactive=True))
        await handler(ctx)  # type: ignore[arg-type]
        module = next(d for t, d in ctx.events if t == "artifact" and d.get("kind") == "module")
        out.append((module["files"], module))
    return out


def change(version: int, files: dict[str, str], module: dict[str, Any], conversation: str,
           request: str) -> Change:
    d = Design(conversation, "bench", version, ["a web app with Postgres for app.acme.io",
                                                "add a Redis cache"][:version], files,
               assumed=module.get("assumed") or {}, findings=module.get("findings") or [],
               monthly_usd=(module.get("cost") or {}).get("monthly_total"),
               links={"stream": f"http://archops.test/c/{conversation}"})
    return Change(conversation, request, version, branch_name("bench", d.asked[0], conversation),
                  "infra", files, pr_body.commit_message(d, d.asked[-1]), pr_body.title(d),
                  pr_body.labels(d), lambda delta, commit, prev: pr_body.render(d, delta, commit, prev))


def run_once(make_host: Any, versions: list[tuple[dict[str, str], dict[str, Any]]],
             conversation: str) -> list[tuple[float, int, int]]:
    """(seconds, reads, writes) of the first delivery, the follow-up and an unchanged one."""
    steps = [(1, "r1"), (2, "r2"), (2, "r3")]
    out = []
    for version, request in steps:
        files, module = versions[version - 1]
        host = make_host()
        start = time.perf_counter()
        result = deliver(host, change(version, files, module, conversation, request))
        out.append((time.perf_counter() - start, host.calls.reads, host.calls.writes))
        assert result.action == ("opened", "updated", "unchanged")[len(out) - 1], result
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-paced", action="store_true",
                        help="only the unpaced and local rows (the paced ones take ~1 min)")
    args = parser.parse_args()
    versions = asyncio.run(designs())
    size = sum(len(t) for t in versions[0][0].values())
    print(f"design: {len(versions[0][0])} files ({size / 1024:.0f} KB), follow-up adds "
          f"{len(set(versions[1][0]) - set(versions[0][0]))} and changes "
          f"{sum(1 for k in versions[0][0] if versions[1][0].get(k) != versions[0][0][k])} files")
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    assert server.stdin and server.stdout
    info = json.loads(server.stdout.readline())
    counter = iter(range(10**6))

    def github(write: float, read: float) -> Any:
        def make() -> Any:
            return host_for(repo, token=info["token"], api_url=info["url"],
                            write_interval_s=write, read_interval_s=read)
        return make

    rows: list[tuple[str, list[list[tuple[float, int, int]]]]] = []
    variants: list[tuple[str, float, float]] = [("GitHub, no pacing", 0.0, 0.0)]
    if not args.skip_paced:
        variants += [("GitHub, archops pacing (0.75 s/write)", 0.75, 0.0),
                     ("GitHub, PyGithub defaults (baseline)", 1.0, 0.25)]
    try:
        for label, write, read in variants:
            results = []
            for _ in range(args.rounds if write == 0 else 1):
                repo = f"acme/bench-{next(counter)}"
                server.stdin.write(repo + "\n")
                server.stdin.flush()
                server.stdout.readline()
                results.append(run_once(github(write, read), versions, f"bench-{repo}"))
            rows.append((label, results))
        with tempfile.TemporaryDirectory() as tmp:
            results = []
            for i in range(args.rounds):
                bare = LocalHost.ensure(Path(tmp) / f"r{i}.git", "bench")
                results.append(run_once(lambda bare=bare: LocalHost(bare.path, "bench"),
                                        versions, f"bench-local-{i}"))
            rows.append(("local bare repository", results))
    finally:
        server.stdin.close()
        server.terminate()
        server.wait(10)
    print(f"{'adapter':<40} {'first':>8} {'follow-up':>10} {'unchanged':>10}   calls per "
          "delivery (reads+writes): first / follow-up / unchanged")
    medians: dict[str, float] = {}
    for label, results in rows:
        times = [statistics.median(r[i][0] for r in results) for i in range(3)]
        calls = [f"{results[0][i][1]}+{results[0][i][2]}" for i in range(3)]
        medians[label] = times[0]
        print(f"{label:<40} {times[0]:>7.2f}s {times[1]:>9.2f}s {times[2]:>9.2f}s   "
              f"{' / '.join(calls)}")
    if not args.skip_paced:
        ours = medians["GitHub, archops pacing (0.75 s/write)"]
        base = medians["GitHub, PyGithub defaults (baseline)"]
        print(f"design ready -> pull request open with archops' pacing: {ours:.2f} s, "
              f"{ours / base:.2f}x PyGithub's defaults ({base:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
