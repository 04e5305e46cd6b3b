"""Folding repeated resources into group nodes, so that a view stays under its node budget
(the rules: web.dot's docstring)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from web.clusters import Box
from web.kinds import REPEATED, kind_label, kind_of, look

GROUP = "group:"  # the node name of a folded group: "group:<scope>:<kind>"
MORE = ":more"  # an open group cut short: the rest of its members as one node
MAX_NODES = 300
REPEAT_MIN = 4
SHOWN_MIN = 10  # an open group cut short still shows this many members


@dataclass
class Fold:
    """Nodes of one kind (or one category) in one place, which may be drawn as one node."""

    id: str
    scope: str
    kind: str  # a kind, or "category:<name>"
    label: str
    members: list[str]
    copies: int  # the clusters of the scope it shows in (the AZs of a tier)
    parent: str | None = None  # the category fold around a kind fold
    collapsed: bool = False
    pinned: bool = False  # asked to stay open
    shown: int | None = None  # an open fold cut to its first N members

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "kind": self.kind, "count": len(self.members),
                "members": self.members, "collapsed": self.collapsed, "open": not self.collapsed,
                "shown": self.shown, "scope": self.scope}


@dataclass
class Folding:
    """Which nodes are drawn as which group, and how many nodes the view shows."""

    folds: dict[str, Fold]
    into: dict[str, str]  # node id -> the name it is drawn as (itself, a group, a "more")
    count: int


def fold(top: list[Box], expand: frozenset[str] = frozenset(),
         max_nodes: int | None = MAX_NODES) -> Folding:
    """Decide which repeated resources are drawn as groups (see the module docstring);
    ``max_nodes=None`` folds nothing (every resource its own node)."""
    scopes: dict[str, list[dict[str, Any]]] = {}
    copies: dict[str, int] = {}
    empty = 0
    for box in (b for root in top for b in root.walk()):
        copies[box.scope] = copies.get(box.scope, 0) + 1
        if box.copy is None:
            scopes.setdefault(box.scope, []).extend(box.nodes)
        if not box.nodes and not box.boxes:
            empty += 1  # drawn as a placeholder
    layout, folds = _sets(scopes, copies)
    for fid in expand:
        if fid.removesuffix(MORE) in folds:
            item = folds[fid.removesuffix(MORE)]
            item.pinned = True
            if item.parent:
                folds[item.parent].pinned = True

    def count() -> int:
        total = empty
        for scope, categories in layout.items():
            shown = 0
            for category, kinds in categories.items():
                cat = folds.get(f"{GROUP}{scope}:category-{category}")
                if cat is not None and cat.collapsed:
                    shown += 1
                    continue
                for kind, ids in kinds.items():
                    item = folds.get(f"{GROUP}{scope}:{kind}")
                    if item is not None and item.collapsed:
                        shown += 1
                    elif item is not None and item.shown is not None:
                        shown += item.shown + 1
                    else:
                        shown += len(ids)
            total += shown * copies[scope]
        return total

    kind_folds = sorted((f for f in folds.values() if not f.kind.startswith("category:")),
                        key=lambda f: (-(len(f.members) - 1) * f.copies, f.id))
    if max_nodes is None:
        return Folding(folds, {}, count())
    for item in kind_folds:  # what comes by the dozen is grouped anyway
        if not item.pinned and len(item.members) >= REPEAT_MIN and REPEATED.search(item.kind):
            item.collapsed = True
    total = count()
    for item in kind_folds:  # then the largest sets of one kind, while the view is too big
        if total <= max_nodes:
            break
        if not item.pinned and not item.collapsed:
            item.collapsed = True
            total = count()
    categories = [f for f in folds.values() if f.kind.startswith("category:")]
    while total > max_nodes:  # then whole categories of one place
        candidates = [f for f in categories if not f.pinned and not f.collapsed]
        if not candidates:
            break
        best = min(candidates, key=lambda f: (-_visible(f, folds) * f.copies, f.id))
        best.collapsed = True
        total = count()
    for item in sorted((f for f in kind_folds if f.pinned), key=lambda f: -len(f.members)):
        if total <= max_nodes:  # what was asked open is too big: its first members, the rest
            break
        over = math.ceil((total - max_nodes) / item.copies)
        item.shown = max(SHOWN_MIN, len(item.members) - over - 1)
        total = count()
    return Folding(folds, _names(folds), total)


Layout = dict[str, dict[str, dict[str, list[str]]]]  # scope -> category -> kind -> node ids


def _sets(scopes: dict[str, list[dict[str, Any]]], copies: dict[str, int]
          ) -> tuple[Layout, dict[str, Fold]]:
    """Every set that may fold: the nodes of one kind, and of one category, in one place."""
    folds: dict[str, Fold] = {}
    layout: Layout = {}
    for scope, nodes in scopes.items():
        layout[scope] = {}
        for node in nodes:
            kind = kind_of(node) + ("~removed" if node.get("removed") else "")
            category = look(kind_of(node))[2]
            layout[scope].setdefault(category, {}).setdefault(kind, []).append(node["id"])
        for category, kinds in layout[scope].items():
            members = [n for ids in kinds.values() for n in ids]
            cat_id = f"{GROUP}{scope}:category-{category}"
            if len(kinds) > 1 and len(members) > 1:
                folds[cat_id] = Fold(cat_id, scope, f"category:{category}",
                                     f"{len(members)} {category} resources", members,
                                     copies[scope])
            for kind, ids in kinds.items():
                if len(ids) < 2:
                    continue
                fid = f"{GROUP}{scope}:{kind}"
                base = kind.removesuffix("~removed")
                label = f"{kind_label(base)} × {len(ids)}" + (
                    " (removed)" if kind != base else "")
                folds[fid] = Fold(fid, scope, base, label, ids, copies[scope],
                                  parent=cat_id if cat_id in folds else None)
    return layout, folds


def _names(folds: dict[str, Fold]) -> dict[str, str]:
    """node id -> the group (or the group's "more") it is drawn as, for the folded ones."""
    into: dict[str, str] = {}
    for item in folds.values():
        if item.kind.startswith("category:"):
            continue
        cat = folds.get(item.parent or "")
        for index, node_id in enumerate(item.members):
            if cat is not None and cat.collapsed:
                into[node_id] = cat.id
            elif item.collapsed:
                into[node_id] = item.id
            elif item.shown is not None and index >= item.shown:
                into[node_id] = item.id + MORE
    for cat in folds.values():
        if cat.kind.startswith("category:") and cat.collapsed:
            for node_id in cat.members:
                into[node_id] = cat.id
    return into


def _visible(cat: Fold, folds: dict[str, Fold]) -> int:
    """How many nodes collapsing ``cat`` saves (the nodes it now shows, less one)."""
    kinds = [f for f in folds.values() if f.parent == cat.id]
    in_kinds = {n for f in kinds for n in f.members}
    shown = sum(1 if f.collapsed else len(f.members) for f in kinds)
    return shown + len([n for n in cat.members if n not in in_kinds]) - 1
