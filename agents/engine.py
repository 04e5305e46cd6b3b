"""Engines drive the graph's decisions. The offline engine is deterministic and needs no model.

The model engine (agents.llm) implements the same methods, as coroutines where it asks the
model (the graph awaits what is awaitable); the graph, the catalog and the review stay the same.
:func:`engine_from_settings` picks the model engine when one is configured.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from agents import extractor, guard, planner
from agents.catalog import CATALOG, BuildContext, Fragment
from agents.requirements import Requirements
from agents.state import Plan


class Engine(Protocol):
    name: str

    def classify(self, text: str | None, *, has_design: bool, max_chars: int) -> guard.Verdict | Awaitable[guard.Verdict]: ...

    def extract(self, text: str, current: Requirements | None) -> Requirements | Awaitable[Requirements]: ...

    # the plan, or (the model engine) an awaitable of it as data
    def plan(self, req: Requirements) -> Plan | Awaitable[dict[str, Any]]: ...

    # a fragment, or (a model-written part) an awaitable of its rendered script
    def build(self, blueprint_id: str, req: Requirements, present: frozenset[str]) -> Fragment | Awaitable[dict[str, Any]]: ...


def engine_from_settings(settings: Any) -> Engine:
    """The model engine when a model is configured (``Settings.llm_kind``), else the offline one."""
    if getattr(settings, "llm_kind", None):
        from agents.llm import LLMEngine

        return LLMEngine.from_settings(settings)
    return OfflineEngine()


class OfflineEngine:
    """Rules, a requirement extractor and the blueprint catalog."""

    name = "offline"

    def classify(self, text: str | None, *, has_design: bool, max_chars: int) -> guard.Verdict:
        return guard.classify(text, has_design=has_design, max_chars=max_chars)

    def extract(self, text: str, current: Requirements | None) -> Requirements:
        return extractor.extract(text, current)

    def plan(self, req: Requirements) -> Plan:
        return planner.plan(req)

    def build(self, blueprint_id: str, req: Requirements, present: frozenset[str]) -> Fragment:
        """A blueprint's fragment: its environment and region variations are its own."""
        return CATALOG[blueprint_id].fragment(BuildContext(req, present))
