"""What a request spent on the model: calls, tokens in and out, model time, fallbacks.

One :class:`Usage` per request. It is put on the request's trace span (``llm.*`` attributes),
into the data of the request's last event (``data["llm"]``: the conversation record), and is
readable while the request runs through :func:`request_usage`, so that whatever reports on the
request (a pull request's body) can print :meth:`Usage.footer`.

Calls replayed from the request's record on a redelivery count as spent (they were paid for
once) but not as made: ``calls`` is what the request cost, ``calls_made`` what this delivery
sent.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from core import metrics

_CURRENT: ContextVar[Usage | None] = ContextVar("archops_llm_usage", default=None)


@dataclass(frozen=True)
class CallRecord:
    """One HTTP request to the model (an answer, or a failure that was retried or gave up)."""

    step: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    status: str = "ok"  # ok | rate_limited | server | timeout | connection | auth | bad_request

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "model": self.model, "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out, "latency_ms": round(self.latency_ms, 1),
                "status": self.status}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallRecord:
        return cls(str(data.get("step", "")), str(data.get("model", "")), int(data.get("tokens_in", 0)),
                   int(data.get("tokens_out", 0)), float(data.get("latency_ms", 0.0)), str(data.get("status", "ok")))


@dataclass
class Usage:
    model: str
    prompt_version: str
    records: list[CallRecord] = field(default_factory=list)
    replayed: int = 0  # records of this request replayed, not sent again
    fallbacks: list[tuple[str, str]] = field(default_factory=list)  # (step, why)

    def add(self, records: list[CallRecord], *, replayed: bool) -> None:
        self.records.extend(records)
        if replayed:
            self.replayed += len(records)
            return
        for record in records:  # what was really sent: the process's metrics
            metrics.MODEL_SECONDS.labels(model=record.model).observe(record.latency_ms / 1000)
            metrics.MODEL_TOKENS.labels(model=record.model, direction="in").inc(record.tokens_in)
            metrics.MODEL_TOKENS.labels(model=record.model, direction="out").inc(record.tokens_out)

    @property
    def calls(self) -> int:
        return len(self.records)

    @property
    def calls_made(self) -> int:
        return len(self.records) - self.replayed

    @property
    def tokens_in(self) -> int:
        return sum(r.tokens_in for r in self.records)

    @property
    def tokens_out(self) -> int:
        return sum(r.tokens_out for r in self.records)

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def model_ms(self) -> float:
        """Time spent waiting on the model (every call, retries included)."""
        return sum(r.latency_ms for r in self.records)

    def summary(self) -> dict[str, Any]:
        """The request's accounting as plain data (an event's ``data["llm"]``)."""
        steps: dict[str, int] = {}
        for r in self.records:
            steps[r.step] = steps.get(r.step, 0) + 1
        return {
            "engine": "llm",
            "model": self.model,
            "prompt_version": self.prompt_version,
            "calls": self.calls,
            "replayed": self.replayed,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "model_ms": round(self.model_ms, 1),
            "steps": steps,
            "fallbacks": [{"step": s, "why": w} for s, w in self.fallbacks],
        }

    def attributes(self) -> dict[str, str | int | float]:
        """Trace span attributes of the request."""
        return {
            "llm.model": self.model,
            "llm.prompt_version": self.prompt_version,
            "llm.calls": self.calls,
            "llm.calls_made": self.calls_made,
            "llm.tokens_in": self.tokens_in,
            "llm.tokens_out": self.tokens_out,
            "llm.latency_ms": round(self.model_ms, 1),
            "llm.fallbacks": len(self.fallbacks),
        }

    def footer(self) -> str:
        return footer(self.summary())


def footer(summary: dict[str, Any] | None) -> str:
    """One Markdown line for a pull request's footer from :meth:`Usage.summary` (or an event's
    ``data["llm"]``); the offline engine's line when there is none."""
    if not summary or not summary.get("calls"):
        return "Designed by archops' offline engine (rules and the Well-Architected catalog); no model was called."
    line = (f"Model: `{summary['model']}`, {summary['calls']} call{'s' if summary['calls'] != 1 else ''}, "
            f"{summary['tokens_in']:,} tokens in / {summary['tokens_out']:,} out, "
            f"{summary['model_ms'] / 1000:.1f} s of model time (prompts v{summary.get('prompt_version', '?')})")
    falls = summary.get("fallbacks") or []
    if falls:
        line += "; the offline engine answered " + ", ".join(sorted({f["step"] for f in falls}))
    return line + "."


def request_usage() -> Usage | None:
    """The usage of the request being handled in this task (None: the offline engine)."""
    return _CURRENT.get()


def set_request_usage(usage: Usage | None) -> Any:
    return _CURRENT.set(usage)


def reset_request_usage(token: Any) -> None:
    _CURRENT.reset(token)
