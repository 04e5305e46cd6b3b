"""Wall time of the offline engine over the scenario corpus: p50/p95 of one request.

Runs every corpus scenario through the real graph (AgentHandler, in-memory checkpointer) and
prints p50/p95 for the design alone (Terraform's parser as the only check) and for the design
with the schema and reference review, plus the ratio between them (same run, same machine).

    .venv/bin/python bench/generate.py [--repeat N] [--checks parse,schema,references]
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


async def measure(checks: set[str], repeat: int) -> list[float]:
    handler = AgentHandler(MemorySaver(), Settings(), review_checks=checks)
    times: list[float] = []
    for n in range(repeat):
        for scenario in SCENARIOS:
            times.append(await one(handler, scenario, n))
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--checks", default="parse,schema,references")
    args = parser.parse_args()
    baseline = asyncio.run(measure({"parse"}, args.repeat))
    reviewed = asyncio.run(measure(set(args.checks.split(",")), args.repeat))
    print(f"scenarios: {len(SCENARIOS)} x {args.repeat}")
    for label, values in (("design + parser", baseline), (f"design + review ({args.checks})", reviewed)):
        print(f"{label:45s} p50 {pct(values, 0.5) * 1000:8.1f} ms   p95 {pct(values, 0.95) * 1000:8.1f} ms   mean {statistics.mean(values) * 1000:8.1f} ms")
    print(f"ratio review/baseline p50: {pct(reviewed, 0.5) / pct(baseline, 0.5):.2f}x")


if __name__ == "__main__":
    main()
