"""A design's diagram as nested clusters, repeated resources folded into groups, as Graphviz DOT.

Two shapes of diagram arrive (both ``{"nodes", "edges", "groups"}``):

* a generated design's (``agents.combiner.build_diagram``): fixed groups ``global``,
  ``account``, ``region``, ``vpc`` and the subnet tiers ``public``/``private``/``data``, each
  tier "one per AZ";
* a scanned account's (``scanner.diagram.to_diagram``): groups with a ``kind`` and a
  ``parent`` (account ⊃ region ⊃ VPC ⊃ AZ ⊃ subnet), each node in its innermost group.

Both become a tree of :class:`Box` (clusters), laid out as AWS architects draw them::

    Global (edge)             CloudFront, WAF, Route 53, IAM: outside the account's regions
    Account                   CloudTrail, GuardDuty, Config, budgets
      Region                  S3, KMS, SNS, Lambda...: regional services, outside the VPC
        VPC                   the VPC itself, the internet gateway
          AZ 1 .. AZ n        one cluster per availability zone
            public / private / data subnets

A generated design's tier resource runs in every AZ (the module spreads it with ``local.azs``):
its node sits in AZ 1 and each other AZ shows a dashed copy (``<id>@az2``).

Large designs stay legible (:func:`web.folding.fold`): repeated resources of one kind in one
place (rules, alarms, route table associations...: ``web.kinds.REPEATED``) are drawn as one
group node from ``REPEAT_MIN`` of them; when the view would still show more than ``max_nodes`` nodes (per-AZ
copies counted), the largest sets of one kind are folded next, then whole categories of a
place. A group named in ``expand`` stays open (so does the category around it). Every cluster
and node carries an ``id`` (``cluster:...``, ``node:<name>``; groups are ``group:...``) so the
page finds them in the SVG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from web.clusters import TIERS, Box, tree
from web.folding import GROUP, MAX_NODES, MORE, Folding, fold
from web.kinds import KINDS, TIER_COLOURS, kind_label, kind_of, look

__all__ = ["COPY", "GROUP", "KINDS", "MAX_EDGES", "MAX_NODES", "TIERS", "Drawing", "build_dot",
           "draw", "quote"]

COPY = "@az"  # the node name of a per-AZ copy: "<address>@az2"
# Graphviz's crossing minimisation grows much faster than the edges: 300 edges between 300
# nodes in nested clusters lay out in ~0.4 s, 900 in ~5 s, 1,200 in minutes. Beyond this
# many, the edges of folded groups go first (the view says how many it left out).
MAX_EDGES = 400
# aligning the AZs (rank=same across clusters) needs Graphviz's newrank, which is slow on
# large graphs: only views this small get it
ALIGN_MAX_NODES = 150
# a cluster with more nodes than this lays them out as a grid (rows of about the square root
# of their number), not as one row as wide as all of them
ROW_MAX = 8


def quote(text: Any) -> str:
    """A DOT double-quoted string (escapes quotes, backslashes and line breaks)."""
    value = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + value.replace("\r", "").replace("\n", "\\n") + '"'


def attrs(**values: Any) -> str:
    return ", ".join(f"{name}={quote(value)}" for name, value in values.items()
                     if value is not None)


STYLES: dict[str, tuple[str, str]] = {
    "global": ("rounded,dashed", "#8e6cc2"), "account": ("rounded", "#9a9a9a"),
    "region": ("rounded", "#3b7dd8"), "vpc": ("rounded", "#2e9e4a"),
    "az": ("rounded,dashed", "#5a9bd5"), "tier": ("rounded,filled", "#3b7dd8"),
    "subnet": ("rounded,filled", "#3b7dd8"),
}
STATE_COLOURS = {"added": "#067647", "changed": "#b54708", "removed": "#9a9a9a"}


@dataclass
class Drawing:
    """A diagram ready to lay out: the DOT text, how it was folded, the clusters it draws."""

    dot: str
    folding: Folding
    clusters: list[str]
    nodes: int  # nodes the view draws (copies, groups and placeholders counted)
    edges: int  # edges it draws
    edges_hidden: int  # edges left out (beyond MAX_EDGES)


def draw(diagram: dict[str, Any], *, region: str | None = None, azs: int = 2,
         change: dict[str, Any] | None = None, expand: frozenset[str] = frozenset(),
         max_nodes: int | None = MAX_NODES, max_edges: int | None = MAX_EDGES) -> Drawing:
    """The DOT graph of a diagram (see the module docstring); with ``change``
    (:func:`web.diagram.changes`) what was added or changed is outlined and what was removed
    is drawn as a ghost."""
    change = change or {}
    status = {**{i: "added" for i in change.get("added", [])},
              **{i: "changed" for i in change.get("changed", [])}}
    nodes = [n for n in diagram.get("nodes") or [] if isinstance(n, dict) and n.get("id")]
    for ghost in change.get("removed_nodes", []):
        if ghost.get("id"):
            status[ghost["id"]] = "removed"
            nodes.append({**ghost, "removed": True})
    top = tree(diagram, nodes, region=region, azs=azs)
    folding = fold(top, expand, max_nodes)
    writer = _Writer(folding, status)
    known = {n["id"] for n in nodes}
    pairs: dict[tuple[str, str], int] = {}  # drawn edge -> how many of its ends are groups
    for edge in diagram.get("edges") or []:
        source, target = edge.get("from"), edge.get("to")
        if source not in known or target not in known:
            continue
        pair = (folding.into.get(source, source), folding.into.get(target, target))
        if pair[0] != pair[1]:
            pairs[pair] = sum(end.startswith(GROUP) for end in pair)
    kept = sorted(pairs, key=lambda p: pairs[p])[:max_edges]  # stable: the design's order
    align = folding.count <= ALIGN_MAX_NODES and len(kept) <= 2 * ALIGN_MAX_NODES
    out = [
        "digraph design {",
        '  graph [rankdir=TB, compound=true, ' + ("newrank=true, " if align else "")
        + 'fontname="Helvetica", fontsize=12, nodesep=0.35, ranksep=0.5, pad=0.2, '
        'id="design"];',
        '  node [fontname="Helvetica", fontsize=11, style="filled", color="#555555", '
        'margin="0.12,0.06"];',
        '  edge [color="#7a7a7a", arrowsize=0.7];',
    ]
    for box in top:
        writer.box(box, "  ", out)
    # a generated design's tiers stack inside each AZ (public above private above data), the
    # AZs side by side
    chains: dict[int, list[Box]] = {}
    for box in (b for root in top for b in root.walk() if b.kind == "tier"):
        chains.setdefault(box.copy or 1, []).append(box)
    for chain in chains.values():  # the bottom of a tier above the top of the next
        for upper, lower in zip(chain, chain[1:], strict=False):
            out.append(f"  {quote(writer.last[upper.id])} -> {quote(writer.first[lower.id])} "
                       "[style=invis, weight=10];")
    if len(chains) > 1 and align:
        for level in zip(*([writer.first[b.id] for b in chain] for chain in chains.values()),
                         strict=False):
            out.append("  { rank=same; " + " ".join(quote(name) for name in level) + " }")
    for source, target in kept:
        out.append(f"  {quote(source)} -> {quote(target)} ["
                   + attrs(id=f"edge:{source}->{target}") + "];")
    out.append("}")
    clusters = [b.id for root in top for b in root.walk()]
    return Drawing("\n".join(out) + "\n", folding, clusters, folding.count, len(kept),
                   len(pairs) - len(kept))


def build_dot(diagram: dict[str, Any], **options: Any) -> str:
    """The DOT text alone (see :func:`draw`)."""
    return draw(diagram, **options).dot


class _Writer:
    def __init__(self, folding: Folding, status: dict[str, str]) -> None:
        self.folding = folding
        self.status = status
        self.first: dict[str, str] = {}  # cluster id -> the first node drawn in it
        self.last: dict[str, str] = {}  # cluster id -> the last (the bottom row's)

    def box(self, box: Box, indent: str, out: list[str]) -> None:
        style, colour = STYLES.get(box.kind, ("rounded", "#9a9a9a"))
        if box.tier:
            colour = TIER_COLOURS.get(box.tier, colour)
        klass = f"group group-{box.kind}" + (f" tier-{box.tier}" if box.tier else "")
        out.append(f"{indent}subgraph {quote('cluster_' + box.id.replace(':', '_'))} {{")
        out.append(f"{indent}  graph [" + attrs(
            id=f"cluster:{box.id}", label=box.label, style=style, color=colour,
            fillcolor="#fbfbfb" if "filled" in style else None, labeljust="l",
            **{"class": klass}) + "];")
        inner = indent + "  "
        seen: set[str] = set()
        names: list[str] = []
        for node in box.nodes:
            name = self.folding.into.get(node["id"], node["id"])
            if name in seen:
                continue
            seen.add(name)
            if name == node["id"]:
                out.append(inner + self.node(node, box.copy))
            else:
                out.append(inner + self.group(name, box.copy))
            names.append(self.named(name, box.copy))
            self.first.setdefault(box.id, self.named(name, box.copy))
        if len(names) > ROW_MAX:  # invisible edges stack each row under the one before
            cols = max(ROW_MAX, math.ceil(math.sqrt(len(names))))
            for upper, lower in zip(names, names[cols:], strict=False):
                out.append(f"{inner}{quote(upper)} -> {quote(lower)} [style=invis];")
        if not box.nodes and not box.boxes:  # an empty cluster is not drawn: show the place
            name = f"subnet:{box.tier}:az{box.copy or 1}" if box.tier else f"empty:{box.id}"
            out.append(inner + f"{quote(name)} [" + attrs(
                id=f"node:{name}", label=box.label.split(" (AZ")[0], shape="box",
                style="rounded,dashed", fontsize="9", color="#9a9a9a",
                **{"class": "subnet placeholder"}) + "];")
            self.first.setdefault(box.id, name)
            names.append(name)
        if names:
            self.last[box.id] = names[-1]
        for child in box.boxes:
            self.box(child, inner, out)
        out.append(f"{indent}}}")

    @staticmethod
    def named(name: str, copy: int | None) -> str:
        return name if copy is None else f"{name}{COPY}{copy}"

    def node(self, node: dict[str, Any], copy: int | None) -> str:
        kind = kind_of(node)
        shape, fill, category = look(kind)
        name = self.named(node["id"], copy)
        state = self.status.get(node["id"])
        label = str(node.get("label") or node["id"])
        return f"{quote(name)} [" + attrs(
            id=f"node:{name}", label=f"{label} (removed)" if state == "removed" else label,
            shape=shape, fillcolor="#ffffff" if state == "removed" else fill,
            tooltip=f"{label} ({node['id']})",
            **{"class": f"kind-{kind} cat-{category}" + (" copy" if copy else "")
               + (f" {state}" if state else "")},
            style="filled,dashed" if copy or state == "removed" else None,
            color=STATE_COLOURS.get(state or ""),
            penwidth="2.5" if state in ("added", "changed") else None,
            fontcolor="#7a7a7a" if state == "removed" else None,
        ) + "];"

    def group(self, name: str, copy: int | None) -> str:
        more = name.endswith(MORE)
        item = self.folding.folds[name.removesuffix(MORE)]
        states = {self.status.get(m) for m in item.members}
        state = (states.pop() if len(states) == 1 else "changed") if states - {None} else None
        if more:
            hidden = len(item.members) - (item.shown or 0)
            label = f"+{hidden} more {kind_label(item.kind)}"
        else:
            label = item.label
        kind = item.kind.removeprefix("category:")
        shape, fill, category = look(kind) if not item.kind.startswith("category:") else (
            "box", "#f4f4f4", kind)
        sample = ", ".join(item.members[:5]) + (", ..." if len(item.members) > 5 else "")
        full = self.named(name, copy)
        return f"{quote(full)} [" + attrs(
            id=f"node:{full}", label=label, shape=shape, fillcolor=fill, peripheries="2",
            tooltip=f"{label}: {sample}",
            **{"class": f"group-node cat-{category}" + (" more" if more else "")
               + (" copy" if copy else "") + (f" {state}" if state else "")},
            style="filled,dashed" if copy or state == "removed" else None,
            color=STATE_COLOURS.get(state or ""),
            penwidth="2.5" if state in ("added", "changed") else None,
        ) + "];"
