"""A scan's diagram.json (scanner.diagram) -> a Graphviz DOT graph the browser lays out.

The scan's graph is the design diagram's format (nodes with a ``kind`` and a ``group``, edges,
groups with a ``parent``), but its groups nest as the account does: account ⊃ region ⊃ VPC ⊃
availability zone ⊃ subnet, and IAM in a global group. Each group becomes a cluster inside its
parent's, each node sits in its group's cluster, drawn with the design diagram's shapes and
colours (:data:`web.diagram.KINDS`). Every cluster and node carries an ``id``
(``cluster:<group>``, ``node:<resource id>``) so the page finds them in the SVG.
"""

from __future__ import annotations

from typing import Any

from web.dot import quote
from web.kinds import DEFAULT_KIND, KINDS

# the scanner's resource kinds, as the design diagram names their shapes
SHAPE_OF = {
    "instance": "ec2", "lambda_function": "lambda", "db_instance": "rds", "db_cluster": "aurora",
    "cache_cluster": "redis", "replication_group": "redis", "s3_bucket": "s3", "load_balancer": "alb",
    "classic_load_balancer": "alb", "target_group": "asg", "internet_gateway": "igw", "nat_gateway": "nat",
    "iam_role": "secretsmanager", "hosted_zone": "route53",
}
STYLE = {  # group kind -> (style, colour)
    "account": ("rounded", "#9a9a9a"), "global": ("rounded,dashed", "#8e6cc2"),
    "region": ("rounded", "#3b7dd8"), "vpc": ("rounded", "#2e9e4a"), "az": ("rounded,dashed", "#5a9bd5"),
    "subnet": ("rounded,filled", "#7a7a7a"),
}
LABEL = {"region": "Region {}", "az": "AZ {}"}


def _attrs(**attrs: Any) -> str:
    return ", ".join(f"{name}={quote(value)}" for name, value in attrs.items() if value is not None)


def scan_dot(diagram: dict[str, Any]) -> str:
    """The DOT graph of a scan's diagram (see the module docstring)."""
    groups = {g["id"]: g for g in diagram.get("groups") or [] if g.get("id")}
    children: dict[str | None, list[str]] = {}
    for gid, g in groups.items():
        parent = g.get("parent") if g.get("parent") in groups else None
        children.setdefault(parent, []).append(gid)
    members: dict[str | None, list[dict[str, Any]]] = {}
    for node in diagram.get("nodes") or []:
        if node.get("id"):
            members.setdefault(node.get("group") if node.get("group") in groups else None, []).append(node)
    out = ["digraph scan {",
           '  graph [rankdir=LR, compound=true, fontname="Helvetica", fontsize=12, nodesep=0.3, ranksep=0.6, '
           'pad=0.2, id="scan"];',
           '  node [fontname="Helvetica", fontsize=10, style="filled", color="#555555", margin="0.1,0.05"];',
           '  edge [color="#7a7a7a", arrowsize=0.6, fontsize=8, fontname="Helvetica"];']

    def node_line(node: dict[str, Any], indent: str) -> str:
        shape, fill, category = KINDS.get(SHAPE_OF.get(str(node.get("kind")), ""), DEFAULT_KIND)
        return f"{indent}{quote(node['id'])} [" + _attrs(
            id=f"node:{node['id']}", label=node.get("label") or node["id"], shape=shape, fillcolor=fill,
            tooltip=f"{node.get('kind')} {node['id']}",
            **{"class": f"kind-{node.get('kind')} cat-{category}"}) + "];"

    def cluster(gid: str, indent: str) -> None:
        g = groups[gid]
        style, colour = STYLE.get(str(g.get("kind")), ("rounded", "#9a9a9a"))
        label = LABEL.get(str(g.get("kind")), "{}").format(g.get("label") or gid)
        out.append(f"{indent}subgraph {quote('cluster_' + gid)} {{")
        out.append(f"{indent}  graph [" + _attrs(
            id=f"cluster:{gid}", label=label, style=style, color=colour, labeljust="l",
            fillcolor="#fbfbfb" if "filled" in style else None,
            **{"class": f"group group-{g.get('kind')}"}) + "];")
        out.extend(node_line(n, indent + "  ") for n in members.get(gid, []))
        for child in children.get(gid, []):
            cluster(child, indent + "  ")
        out.append(f"{indent}}}")

    out.extend(node_line(n, "  ") for n in members.get(None, []))
    for top in children.get(None, []):
        cluster(top, "  ")
    known = {n["id"] for ns in members.values() for n in ns}
    for edge in diagram.get("edges") or []:
        a, b = edge.get("from"), edge.get("to")
        if a in known and b in known and a != b:
            out.append(f"  {quote(a)} -> {quote(b)} [" + _attrs(id=f"edge:{a}->{b}", label=edge.get("label")) + "];")
    out.append("}")
    return "\n".join(out) + "\n"


def scan_view(diagram: dict[str, Any]) -> dict[str, Any]:
    """What the scan's diagram page fetches: the DOT graph and each node's details."""
    groups = {g["id"]: g for g in diagram.get("groups") or [] if g.get("id")}
    nodes: dict[str, dict[str, Any]] = {}
    for node in diagram.get("nodes") or []:
        if not node.get("id"):
            continue
        where, gid = [], node.get("group")
        while gid in groups:
            where.append(str(groups[gid].get("label")))
            gid = groups[gid].get("parent")
        nodes[node["id"]] = {**node, "where": " / ".join(reversed(where)), "to": [], "from": []}
    for edge in diagram.get("edges") or []:
        a, b = edge.get("from"), edge.get("to")
        if a in nodes and b in nodes:
            nodes[a]["to"].append({"id": b, "label": edge.get("label")})
            nodes[b]["from"].append({"id": a, "label": edge.get("label")})
    return {"dot": scan_dot(diagram), "nodes": nodes,
            "counts": {"nodes": len(nodes), "edges": len(diagram.get("edges") or []), "groups": len(groups)}}
