"""Wall time of the offline engine over the scenario corpus: p50/p95 of one request, per design.

Runs every corpus scenario through the real graph (AgentHandler, in-memory checkpointer), each
``--repeat`` times as the baseline (the design with Terraform's parser as the only check) and as
many times with the review (by default the full one: schema, references, the offline plan, the
deploy check, policy, checkov, cost), interleaved so both see the same machine. Prints p50/p95
of each design with and without the review, their ratio, and the same over all designs.

    .venv/bin/python bench/generate.py [--repeat N] [--checks all|parse,schema,...] [--only ID,ID]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langgraph.checkpoint.memory import MemorySaver  # noqa: E402

from agents.handler import AgentHandler  # noqa: E402
from core.envelope import Envelope  # noqa: E402
from core.settings import Settings  # noqa: E402

SCENARIOS = json.loads((ROOT / "tests" / "agents" / "corpus" / "scenarios.json").read_text())


class Sink:
    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope
        self.attempt = 1
        self._once: dict[str, Any] = {}

    async def emit(self, type: str, text: str | None = None, **data: Any) -> None:
        return None

    async def once(self, name: str, fn: Any) -> Any:
        if name not in self._once:
            self._once[name] = await fn()
        return self._once[name]


async def one(handler: AgentHandler, scenario: dict[str, Any], n: int) -> float:
    turns = scenario.get("turns") or [scenario["request"]]
    start = time.perf_counter()
    for turn in turns:
        if not turn.strip():
            continue
        env = Envelope(conversation_id=f"{scenario['id']}-{n}", source="cli", user="bench", text=turn, non_interactive=True)
        await handler(Sink(env))
    return time.perf_counter() - start


async def measure(scenarios: list[dict[str, Any]], checks: set[str] | None, repeat: int) -> dict[str, dict[str, list[float]]]:
    """scenario id -> {"baseline": seconds..., "review": seconds...}, runs interleaved."""
    baseline = AgentHandler(MemorySaver(), Settings(), review_checks={"parse"})
    reviewed = AgentHandler(MemorySaver(), Settings(), review_checks=checks)
    times: dict[str, dict[str, list[float]]] = {s["id"]: {"baseline": [], "review": []} for s in scenarios}
    for n in range(repeat):
        for scenario in scenarios:
            times[scenario["id"]]["baseline"].append(await one(baseline, scenario, n))
            times[scenario["id"]]["review"].append(await one(reviewed, scenario, n))
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def line(label: str, base: list[float], review: list[float]) -> str:
    return (f"{label:28s} baseline p50 {pct(base, 0.5) * 1000:8.1f} p95 {pct(base, 0.95) * 1000:8.1f} ms   "
            f"review p50 {pct(review, 0.5) * 1000:9.1f} p95 {pct(review, 0.95) * 1000:9.1f} ms   "
            f"x{pct(review, 0.5) / max(pct(base, 0.5), 1e-9):6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--checks", default="all", help="'all' (the full review) or a comma-separated list")
    parser.add_argument("--only", default="", help="scenario ids, comma-separated (default: every design)")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    scenarios = [s for s in SCENARIOS if "refused" not in s and "error" not in s and (not wanted or s["id"] in wanted)]
    checks = None if args.checks == "all" else set(args.checks.split(","))
    times = asyncio.run(measure(scenarios, checks, args.repeat))
    print(f"designs: {len(scenarios)} x {args.repeat}; review: {args.checks}; baseline: the parser only")
    for sid, runs in times.items():
        print(line(sid, runs["baseline"], runs["review"]))
    every_base = [t for runs in times.values() for t in runs["baseline"]]
    every_review = [t for runs in times.values() for t in runs["review"]]
    print(line("all designs", every_base, every_review))
    print(f"mean: baseline {statistics.mean(every_base) * 1000:.1f} ms, review {statistics.mean(every_review) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
