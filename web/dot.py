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

Large designs stay legible (:func:`fold`): repeated resources of one kind in one place (rules,
alarms, route table associations...: :data:`REPEATED`) are drawn as one group node from
``REPEAT_MIN`` of them; when the view would still show more than ``max_nodes`` nodes (per-AZ
copies counted), the largest sets of one kind are folded next, then whole categories of a
place. A group named in ``expand`` stays open (so does the category around it). Every cluster
and node carries an ``id`` (``cluster:...``, ``node:<name>``; groups are ``group:...``) so the
page finds them in the SVG.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

TIERS = ("public", "private", "data")
COPY = "@az"  # the node name of a per-AZ copy: "<address>@az2"
GROUP = "group:"  # the node name of a folded group: "group:<scope>:<kind>"
MORE = ":more"  # an open group cut short: the rest of its members as one node
MAX_NODES = 300
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
REPEAT_MIN = 4
SHOWN_MIN = 10  # an open group cut short still shows this many members

# kind -> (shape, fill colour, category)
KINDS: dict[str, tuple[str, str, str]] = {
    "cloudfront": ("doubleoctagon", "#e8dcf7", "network"),
    "waf": ("octagon", "#fde2e1", "security"),
    "route53": ("invhouse", "#e8dcf7", "network"),
    "acm": ("note", "#fde2e1", "security"),
    "iam": ("house", "#fde2e1", "security"),
    "alb": ("hexagon", "#e8dcf7", "network"),
    "nlb": ("hexagon", "#e8dcf7", "network"),
    "target_group": ("folder", "#e8dcf7", "network"),
    "apigw": ("house", "#e8dcf7", "network"),
    "igw": ("invtrapezium", "#e8dcf7", "network"),
    "nat": ("trapezium", "#e8dcf7", "network"),
    "vpc": ("tab", "#e3f0e3", "network"),
    "subnet": ("rect", "#e3f0e3", "network"),
    "route_table": ("tab", "#e8dcf7", "network"),
    "route": ("rarrow", "#e8dcf7", "network"),
    "route_table_association": ("cds", "#e8dcf7", "network"),
    "security_group": ("octagon", "#fde2e1", "security"),
    "security_group_rule": ("rarrow", "#fde2e1", "security"),
    "ecs": ("box3d", "#fff1d6", "compute"),
    "asg": ("box3d", "#fff1d6", "compute"),
    "ec2": ("box3d", "#fff1d6", "compute"),
    "lambda": ("component", "#fff1d6", "compute"),
    "rds": ("cylinder", "#dbe8fb", "database"),
    "aurora": ("cylinder", "#dbe8fb", "database"),
    "redis": ("cylinder", "#dbe8fb", "database"),
    "dynamodb": ("cylinder", "#dbe8fb", "database"),
    "s3": ("folder", "#e3f0e3", "storage"),
    "backup": ("folder", "#e3f0e3", "storage"),
    "sqs": ("cds", "#fbe7f3", "messaging"),
    "sns": ("cds", "#fbe7f3", "messaging"),
    "kms": ("note", "#fde2e1", "security"),
    "secretsmanager": ("note", "#fde2e1", "security"),
    "cloudtrail": ("tab", "#eeeeee", "management"),
    "guardduty": ("tab", "#fde2e1", "security"),
    "config": ("tab", "#eeeeee", "management"),
    "budgets": ("tab", "#eeeeee", "management"),
    "alarm": ("egg", "#fff4e0", "management"),
    "log_group": ("note", "#eeeeee", "management"),
}
# the scanner's and Terraform's names for the same things
ALIASES = {
    "internet_gateway": "igw", "nat_gateway": "nat", "instance": "ec2",
    "lambda_function": "lambda", "db_instance": "rds", "db_cluster": "aurora",
    "rds_cluster": "aurora", "cache_cluster": "redis", "replication_group": "redis",
    "elasticache_replication_group": "redis", "s3_bucket": "s3", "load_balancer": "alb",
    "lb": "alb", "classic_load_balancer": "alb", "lb_target_group": "target_group",
    "iam_role": "iam", "iam_policy": "iam", "iam_role_policy_attachment": "iam",
    "cloudwatch_metric_alarm": "alarm", "cloudwatch_log_group": "log_group",
    "vpc_security_group_ingress_rule": "security_group_rule",
    "vpc_security_group_egress_rule": "security_group_rule",
    "route53_record": "route53", "route53_zone": "route53", "kms_key": "kms",
    "sqs_queue": "sqs", "sns_topic": "sns", "ecs_service": "ecs", "autoscaling_group": "asg",
    "wafv2_web_acl": "waf", "dynamodb_table": "dynamodb",
}
DEFAULT_KIND = ("box", "#f4f4f4", "other")
# kinds that come by the dozen: grouped from REPEAT_MIN even in a small view
REPEATED = re.compile(r"(^|_)(rule|alarm|route|association|attachment|record|subnet|eip|"
                      r"log_group|network_interface|listener_rule)s?$")
TIER_COLOURS = {"public": "#2e9e4a", "private": "#3b7dd8", "data": "#7a5cc2"}


def look(kind: str) -> tuple[str, str, str]:
    """(shape, fill, category) of a kind."""
    return KINDS.get(kind) or KINDS.get(ALIASES.get(kind, ""), DEFAULT_KIND)


def kind_of(node: dict[str, Any]) -> str:
    """What a node is: its ``kind``, else the resource type of its address (``aws_x.y`` -> x)."""
    kind = node.get("kind")
    if isinstance(kind, str) and kind:
        return kind
    address = str(node.get("id") or "").removeprefix("data.")
    return address.split(".", 1)[0].removeprefix("aws_") or "resource"


def kind_label(kind: str) -> str:
    return kind.replace("_", " ")


def quote(text: Any) -> str:
    """A DOT double-quoted string (escapes quotes, backslashes and line breaks)."""
    value = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + value.replace("\r", "").replace("\n", "\\n") + '"'


def attrs(**values: Any) -> str:
    return ", ".join(f"{name}={quote(value)}" for name, value in values.items()
                     if value is not None)


# -- the tree of clusters -------------------------------------------------------------------
@dataclass
class Box:
    """One cluster: its nodes and the clusters inside it."""

    id: str
    label: str
    kind: str  # global | account | region | vpc | az | tier | subnet | other
    scope: str = ""  # where its nodes are counted (the AZ copies of a tier share one)
    copy: int | None = None  # AZ number of a tier cluster that repeats AZ 1's nodes
    tier: str | None = None
    boxes: list[Box] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.scope = self.scope or self.id

    def walk(self) -> list[Box]:
        return [self, *(inner for box in self.boxes for inner in box.walk())]


def is_scanned(diagram: dict[str, Any]) -> bool:
    """A scanned account's diagram: its groups say their kind and parent."""
    return any(isinstance(g, dict) and g.get("kind") for g in diagram.get("groups") or [])


def tree(diagram: dict[str, Any], nodes: list[dict[str, Any]], *, region: str | None = None,
         azs: int = 2) -> list[Box]:
    """The top-level clusters of ``diagram`` holding ``nodes`` (its own and removed ghosts)."""
    if is_scanned(diagram):
        return _scanned_tree(diagram, nodes)
    return _designed_tree(diagram, nodes, region=region, azs=azs)


def _designed_tree(diagram: dict[str, Any], nodes: list[dict[str, Any]], *,
                   region: str | None, azs: int) -> list[Box]:
    groups = {g["id"]: g for g in diagram.get("groups") or [] if g.get("id")}
    has_vpc = "vpc" in groups
    tiers = [t for t in TIERS if t in groups] if has_vpc else []
    place: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        group = node.get("group") or "region"
        if group in TIERS and group not in tiers or group == "vpc" and not has_vpc:
            group = "region"
        if group not in {"global", "account", "region", "vpc", *TIERS}:
            group = "region"
        place.setdefault(group, []).append(node)
    region_label = (groups.get("region") or {}).get("label") or region or "region"
    top: list[Box] = []
    if place.get("global"):
        top.append(Box("global", str((groups.get("global") or {}).get("label")
                                     or "Global (edge)"), "global", nodes=place["global"]))
    account = Box("account", str((groups.get("account") or {}).get("label") or "Account"),
                  "account", nodes=place.get("account", []))
    region_box = Box("region", f"Region {region_label}", "region",
                     nodes=place.get("region", []))
    account.boxes.append(region_box)
    if has_vpc:
        vpc = Box("vpc", "VPC", "vpc", nodes=place.get("vpc", []))
        region_box.boxes.append(vpc)
        for az in range(1, azs + 1):
            zone = Box(f"az{az}", f"Availability zone {az}", "az")
            for tier in tiers:
                label = str((groups.get(tier) or {}).get("label") or f"{tier} subnets")
                zone.boxes.append(Box(
                    f"az{az}:{tier}", f"{label.replace(' subnets', ' subnet')} (AZ {az})", "tier",
                    scope=f"tier-{tier}", copy=None if az == 1 else az, tier=tier,
                    nodes=place.get(tier, [])))
            vpc.boxes.append(zone)
    top.append(account)
    return top


def _scanned_tree(diagram: dict[str, Any], nodes: list[dict[str, Any]]) -> list[Box]:
    boxes: dict[str, Box] = {}
    parents: dict[str, str | None] = {}
    for group in diagram.get("groups") or []:
        gid = group.get("id")
        if not gid or gid in boxes:
            continue
        kind = str(group.get("kind") or "other")
        label = str(group.get("label") or gid)
        boxes[gid] = Box(gid, f"Region {label}" if kind == "region" else label, kind)
        parents[gid] = group.get("parent")
    fallback = next((b for b in boxes.values() if b.kind == "region"), None) or next(
        (b for b in boxes.values() if b.kind == "account"), None)
    if fallback is None:
        fallback = boxes.setdefault("account", Box("account", "Account", "account"))
        parents["account"] = None
    for node in nodes:
        boxes.get(str(node.get("group")), fallback).nodes.append(node)
    top: list[Box] = []
    for gid, box in boxes.items():
        parent = parents.get(gid)
        if parent in boxes and parent != gid:
            boxes[parent].boxes.append(box)
        else:
            top.append(box)
    return top


# -- folding repeated resources --------------------------------------------------------------
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
    folds: dict[str, Fold] = {}
    # scope -> category -> kind -> node ids
    layout: dict[str, dict[str, dict[str, list[str]]]] = {}
    for scope, nodes in scopes.items():
        layout[scope] = {}
        for node in nodes:
            kind = kind_of(node) + ("~removed" if node.get("removed") else "")
            category = look(kind_of(node))[2]
            layout[scope].setdefault(category, {}).setdefault(kind, []).append(
                node["id"])
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
    for cat in categories:
        if cat.collapsed:
            for node_id in cat.members:
                into[node_id] = cat.id
    return Folding(folds, into, total)


def _visible(cat: Fold, folds: dict[str, Fold]) -> int:
    """How many nodes collapsing ``cat`` saves (the nodes it now shows, less one)."""
    kinds = [f for f in folds.values() if f.parent == cat.id]
    in_kinds = {n for f in kinds for n in f.members}
    shown = sum(1 if f.collapsed else len(f.members) for f in kinds)
    return shown + len([n for n in cat.members if n not in in_kinds]) - 1


# -- DOT ---------------------------------------------------------------------------------------
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
