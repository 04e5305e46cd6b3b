"""Engines drive the graph's decisions. The offline engine is deterministic and needs no model.

An LLM engine plugs into the same methods later; the graph, the catalog and the validation loop
stay the same.
"""

from __future__ import annotations

from typing import Protocol

from agents import extractor, guard, planner
from agents.catalog import CATALOG, BuildContext, Fragment
from agents.requirements import Requirements
from agents.state import Plan


class Engine(Protocol):
    name: str

    def classify(self, text: str | None, *, has_design: bool, max_chars: int) -> guard.Verdict: ...

    def extract(self, text: str, current: Requirements | None) -> Requirements: ...

    def plan(self, req: Requirements) -> Plan: ...

    def build(self, blueprint_id: str, req: Requirements, present: frozenset[str]) -> Fragment: ...


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
