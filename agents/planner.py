"""The resource planner: requirements -> blueprints with explicit dependencies, ordered in levels.

Which blueprints a design holds comes from the blueprints' own facts
(:class:`agents.catalog.base.Facts`), never from a list here: each says when the request calls
for it, what it brings along and whether it fits the rest of the design. Levels come from a
topological sort (graphlib): every blueprint of a level depends only on blueprints of earlier
levels, so the level executor can build one level concurrently.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from agents.catalog import CATALOG
from agents.requirements import Requirements
from agents.state import Plan, PlanItem
from core.errors import ValidationError


def choose(req: Requirements) -> set[str]:
    """Which blueprints the requirements call for, closed over their dependencies.

    What the request names (and may name) is in; then, until nothing changes, each blueprint the
    requirements and the chosen ones call for, what the chosen ones imply, and their
    dependencies. What the user removed (where a user may remove it) is never added, nor is what
    does not fit the rest (a WAF with nothing to guard, a load balancer with no servers, a
    certificate without a domain): the design grows again without them, so nothing stays only
    for their sake (the VPC of a load balancer that went).
    """
    named = {c for c in req.components if c in CATALOG and CATALOG[c].facts.direct and c not in req.removed}
    banned = {c for c in req.removed if c in CATALOG and CATALOG[c].facts.removable}
    while True:
        chosen = grow(req, named - banned, banned)
        unfit = {b for b in chosen if not CATALOG[b].facts.fits(req, frozenset(chosen)) or set(CATALOG[b].requires) & banned}
        if not unfit:
            return chosen
        banned |= unfit


def grow(req: Requirements, start: set[str], banned: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """``start`` and, until nothing changes, what the requirements and the chosen blueprints call
    for, what they imply, and their dependencies (never a ``banned`` one by choice)."""
    chosen = _close(set(start))
    while True:
        grown = set(chosen)
        grown |= {bid for bid, bp in CATALOG.items()
                  if bid not in grown and bid not in banned and bp.facts.wanted(req, frozenset(grown))}
        for bid in sorted(grown):
            grown |= {i for i in CATALOG[bid].facts.implies(req) if i in CATALOG and i not in banned}
        grown = _close(grown)
        if grown == chosen:
            return chosen
        chosen = grown


def fitting(req: Requirements, chosen: set[str]) -> bool:
    """Whether every blueprint of ``chosen`` fits the rest."""
    return all(CATALOG[b].facts.fits(req, frozenset(chosen)) for b in chosen)


def _close(chosen: set[str]) -> set[str]:
    todo = list(chosen)
    while todo:
        item = todo.pop()
        for dep in CATALOG[item].requires:
            if dep not in chosen:
                chosen.add(dep)
                todo.append(dep)
    return chosen


def plan(req: Requirements) -> Plan:
    """The resource plan: items with dependencies and ``levels`` in build order."""
    chosen = choose(req)
    graph: dict[str, set[str]] = {}
    for bid in sorted(chosen):
        bp = CATALOG[bid]
        graph[bid] = {d for d in (*bp.requires, *bp.after) if d in chosen and d != bid}
    levels = _levels(graph)
    items = [
        PlanItem(id=bid, title=CATALOG[bid].title, why=CATALOG[bid].why, file=CATALOG[bid].concern, depends_on=sorted(graph[bid]))
        for level in levels
        for bid in level
    ]
    return Plan(items=items, levels=levels)


def _levels(graph: dict[str, set[str]]) -> list[list[str]]:
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError as exc:
        raise ValidationError(f"the plan has a dependency cycle: {' -> '.join(exc.args[1])}") from exc
    levels: list[list[str]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        levels.append(ready)
        sorter.done(*ready)
    return levels
