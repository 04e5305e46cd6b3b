"""Model calls and tokens per request over the agent corpus, and archops' own added latency.

Runs every founders' corpus conversation (tests/agents/corpus/founders.json) through the real
graph twice in the same run: with the offline engine (the baseline) and with the model engine
against the local OpenAI-compatible stand-in (tests/llm/standin.py, answering as a well-behaved
model; a request that names sign-up and login gets a Cognito user pool written by the "model").
Per request it prints the model calls, tokens in and out, and the time archops adds around the
model: the model engine's wall time minus the time spent waiting on the model, minus the
offline engine's wall time for the same request.

    .venv/bin/python bench/llm_calls.py [--limit N] [--repeat N] [--checks parse,schema,references]

With ``--repeat N`` each conversation runs N times per engine (a new conversation each time) and
the fastest run of each request counts, which keeps a busy machine's noise out of the difference.
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
from core.logging import configure_logging  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.llm import model  # noqa: E402
from tests.llm.standin import OpenAIStandIn, Reply  # noqa: E402

CORPUS = json.loads((ROOT / "tests" / "agents" / "corpus" / "founders.json").read_text())
COGNITO = '''```hcl
resource "aws_cognito_user_pool" "users" {
  name                     = "${local.name}-users"
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]

  password_policy {
    minimum_length = 12
  }
}
```'''


def bench_answer(step: str, body: dict[str, Any]) -> Reply:
    """The stand-in model: the default answers, and a user pool where sign-up is asked."""
    prompt = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
    if step == "plan" and '"auth"' in prompt:
        return Reply.json({"extras": [{"id": "users", "title": "Cognito user pool", "why": "sign-up and login",
                                       "covers": "auth", "resource_types": ["aws_cognito_user_pool"], "depends_on": []}]})
    if step in {"hcl", "hcl_repair"}:
        return Reply(content=COGNITO)
    return model.answer(step, body)


class Sink:
    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope
        self.attempt = 1
        self.last: dict[str, Any] = {}
        self._once: dict[str, Any] = {}

    async def emit(self, type: str, text: str | None = None, **data: Any) -> None:
        if type in {"done", "error", "question"}:
            self.last = data

    async def once(self, name: str, fn: Any) -> Any:
        if name not in self._once:
            self._once[name] = await fn()
        return self._once[name]


async def run(handler: AgentHandler, tag: str, scenario: dict[str, Any]) -> list[tuple[float, dict[str, Any]]]:
    """Each turn of a conversation: (wall seconds, the request's model accounting)."""
    out: list[tuple[float, dict[str, Any]]] = []
    for turn in scenario["turns"]:
        if not turn.strip():
            continue
        sink = Sink(Envelope(conversation_id=f"{tag}-{scenario['id']}", source="cli", user="bench", text=turn, non_interactive=True))
        started = time.perf_counter()
        await handler(sink)
        out.append((time.perf_counter() - started, sink.last.get("llm") or {}))
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def main(limit: int | None, checks: set[str], repeat: int) -> None:
    configure_logging("WARNING", "console")
    standin = await OpenAIStandIn(bench_answer).start()
    settings = Settings(openai_base_url=standin.base_url, openai_model="standin-model", openai_api_key=standin.api_key)
    offline = AgentHandler(MemorySaver(), Settings(openai_model=None, azure_openai_endpoint=None), review_checks=checks)
    modelled = AgentHandler(MemorySaver(), settings, review_checks=checks)
    scenarios = CORPUS[:limit] if limit else CORPUS
    await run(offline, "warm", scenarios[0])  # imports and first-use costs out of the figures
    await run(modelled, "warm", scenarios[0])
    rows = []
    for scenario in scenarios:
        bases = [await run(offline, f"off{n}", scenario) for n in range(repeat)]
        models = [await run(modelled, f"llm{n}", scenario) for n in range(repeat)]
        base = [min(runs, key=lambda r: r[0]) for runs in zip(*bases, strict=True)]
        with_model = [min(runs, key=lambda r: r[0] - float(r[1].get("model_ms", 0.0)) / 1000) for runs in zip(*models, strict=True)]
        for (t_off, _none), (t_llm, llm) in zip(base, with_model, strict=True):
            model_s = float(llm.get("model_ms", 0.0)) / 1000
            rows.append({"id": scenario["id"], "calls": int(llm.get("calls", 0)), "in": int(llm.get("tokens_in", 0)),
                         "out": int(llm.get("tokens_out", 0)), "offline": t_off, "llm": t_llm, "model": model_s,
                         "added": t_llm - model_s - t_off, "fallbacks": len(llm.get("fallbacks", []))})
    await standin.stop()
    print(f"{'request':28s} {'calls':>5s} {'tok in':>7s} {'tok out':>7s} {'offline ms':>10s} {'model ms':>9s} {'llm ms':>8s} {'added ms':>9s}")
    for r in rows:
        print(f"{r['id'][:28]:28s} {r['calls']:5d} {r['in']:7d} {r['out']:7d} {r['offline'] * 1000:10.1f} "
              f"{r['model'] * 1000:9.1f} {r['llm'] * 1000:8.1f} {r['added'] * 1000:9.1f}")
    n = len(rows)
    added = [r["added"] for r in rows]
    print(f"\nrequests: {n} in {len(scenarios)} conversations, fastest of {repeat} runs each; checks: {','.join(sorted(checks))}")
    print(f"model calls per request: mean {statistics.mean(r['calls'] for r in rows):.2f}, max {max(r['calls'] for r in rows)}; "
          f"fallbacks: {sum(r['fallbacks'] for r in rows)}")
    print(f"tokens per request: in mean {statistics.mean(r['in'] for r in rows):,.0f}, out mean {statistics.mean(r['out'] for r in rows):,.0f}")
    print(f"offline engine per request: p50 {pct([r['offline'] for r in rows], 0.5) * 1000:.1f} ms")
    print(f"model time per request (stand-in, client included): p50 {pct([r['model'] for r in rows], 0.5) * 1000:.1f} ms")
    print(f"archops' added latency around the model (model time excluded): p50 {pct(added, 0.5) * 1000:.1f} ms, "
          f"p95 {pct(added, 0.95) * 1000:.1f} ms, mean {statistics.mean(added) * 1000:.1f} ms")
    total_off = sum(r["offline"] for r in rows)
    print(f"ratio (model engine - model time) / offline engine, whole corpus: {(sum(r['llm'] - r['model'] for r in rows)) / total_off:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N conversations")
    parser.add_argument("--repeat", type=int, default=2, help="runs per engine; the fastest counts")
    parser.add_argument("--checks", default="parse,schema,references")
    args = parser.parse_args()
    asyncio.run(main(args.limit, set(args.checks.split(",")), max(1, args.repeat)))
