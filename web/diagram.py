"""A design's diagram artifact -> a Graphviz DOT graph the browser lays out (WebAssembly).

The worker's module artifact carries the diagram as data (``agents.combiner.build_diagram``):
nodes with a ``kind`` and a ``group``, edges from references between blueprints, and nested
groups (global, account ⊃ region ⊃ VPC ⊃ subnet tiers "one per AZ"). Here the groups become
clusters laid out as AWS architects draw them:

    Global (edge)             CloudFront, WAF, Route 53: outside the account's region
    Account                   CloudTrail, GuardDuty, Config, budgets
      region                  S3, KMS, SNS, Lambda...: regional services, outside the VPC
        VPC                   the VPC itself, the internet gateway
          AZ 1 .. AZ n        one cluster per availability zone the module spreads over
            public / private / data subnets

A resource of a subnet tier runs in every AZ (the module spreads it with ``local.azs``): its
node sits in AZ 1 and each other AZ shows a dashed copy that points back at it. Every
cluster and node carries an ``id`` (``cluster:...``, ``node:<address>``) so the page finds
them in the SVG, and :func:`node_details` gives what clicking a node shows.
"""

from __future__ import annotations

import re
from typing import Any

TIERS = ("public", "private", "data")
COPY = "@az"  # node id of a per-AZ copy: "<address>@az2"

# kind -> (shape, fill colour, category)
KINDS: dict[str, tuple[str, str, str]] = {
    "cloudfront": ("doubleoctagon", "#e8dcf7", "network"),
    "waf": ("octagon", "#fde2e1", "security"),
    "route53": ("invhouse", "#e8dcf7", "network"),
    "acm": ("note", "#fde2e1", "security"),
    "alb": ("hexagon", "#e8dcf7", "network"),
    "nlb": ("hexagon", "#e8dcf7", "network"),
    "apigw": ("house", "#e8dcf7", "network"),
    "igw": ("invtrapezium", "#e8dcf7", "network"),
    "nat": ("trapezium", "#e8dcf7", "network"),
    "vpc": ("tab", "#e3f0e3", "network"),
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
}
DEFAULT_KIND = ("box", "#f4f4f4", "other")
_SLICE = re.compile(r"slice\(\s*data\.aws_availability_zones\.[A-Za-z0-9_]+\.names\s*,\s*0\s*,\s*(\d+)\s*\)")


def quote(text: Any) -> str:
    """A DOT double-quoted string (escapes quotes, backslashes and line breaks)."""
    value = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + value.replace("\r", "").replace("\n", "\\n") + '"'


def _attrs(**attrs: Any) -> str:
    return ", ".join(f"{name}={quote(value)}" for name, value in attrs.items() if value is not None)


def az_count(files: dict[str, str] | None, default: int = 2) -> int:
    """How many AZs the module spreads over: the ``slice(...names, 0, N)`` of its locals."""
    for text in (files or {}).values():
        if isinstance(text, str) and (match := _SLICE.search(text)):
            return max(1, min(6, int(match.group(1))))
    return default


def latest_module(events: list[Any], version: int | None = None) -> dict[str, Any] | None:
    """The data of the conversation's last module artifact (or of ``version``)."""
    found = None
    for event in events:
        if event.type != "artifact" or event.data.get("kind") != "module":
            continue
        if version is None or event.data.get("version") == version:
            found = event.data
    return found


def module_by_version(events: list[Any]) -> dict[int, dict[str, Any]]:
    """Each design version's module artifact (the last one emitted for a version)."""
    out: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.type == "artifact" and event.data.get("kind") == "module":
            version = event.data.get("version")
            if isinstance(version, int):
                out[version] = event.data
    return out


def changes(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    """What a version added, changed or removed against the one before, per diagram node.

    A node changed when its label, kind or group did, or when the file of its blueprint did
    and no other blueprint writes that file (a shared file would mark them all)."""
    out: dict[str, Any] = {"against": None, "added": [], "changed": [], "removed": []}
    if not previous:
        return out
    out["against"] = previous.get("version")
    before = {n["id"]: n for n in (previous.get("diagram") or {}).get("nodes") or []}
    after = {n["id"]: n for n in (current.get("diagram") or {}).get("nodes") or []}
    files_by_blueprint = {item.get("id"): item.get("file")
                          for item in (current.get("plan") or {}).get("items", [])}
    writers: dict[str, set[str]] = {}
    for blueprint, file in files_by_blueprint.items():
        writers.setdefault(file, set()).add(blueprint)
    old_files, new_files = previous.get("files") or {}, current.get("files") or {}
    for node_id, node in after.items():
        if node_id not in before:
            out["added"].append(node_id)
            continue
        old = before[node_id]
        file = files_by_blueprint.get(node.get("blueprint"))
        if any(old.get(k) != node.get(k) for k in ("label", "kind", "group")) or (
            file and len(writers.get(file, ())) == 1 and old_files.get(file) != new_files.get(file)
        ):
            out["changed"].append(node_id)
    out["removed"] = [node_id for node_id in before if node_id not in after]
    out["removed_nodes"] = [before[node_id] for node_id in out["removed"]]
    return out


def module_versions(events: list[Any]) -> list[int]:
    out = []
    for event in events:
        if event.type == "artifact" and event.data.get("kind") == "module":
            version = event.data.get("version")
            if isinstance(version, int) and version not in out:
                out.append(version)
    return out


def build_dot(diagram: dict[str, Any], *, region: str | None = None, azs: int = 2,
              change: dict[str, Any] | None = None) -> str:
    """The DOT graph of a design's diagram artifact (see the module docstring for the layout);
    with ``change`` (:func:`changes`), what was added or changed is outlined and what was
    removed is drawn as a ghost."""
    nodes: list[dict[str, Any]] = [n for n in diagram.get("nodes") or [] if n.get("id")]
    change = change or {}
    status = {**{i: "added" for i in change.get("added", [])},
              **{i: "changed" for i in change.get("changed", [])},
              **{n["id"]: "removed" for n in change.get("removed_nodes", [])}}
    nodes += [n for n in change.get("removed_nodes", []) if n.get("id")]
    groups = {g["id"]: g for g in diagram.get("groups") or [] if g.get("id")}
    region_label = (groups.get("region") or {}).get("label") or region or "region"
    has_vpc = "vpc" in groups
    tiers = [t for t in TIERS if t in groups] if has_vpc else []
    by_group: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        group = node.get("group") or "region"
        if group in TIERS and not has_vpc:
            group = "region"
        if group not in {"global", "account", "region", "vpc", *TIERS}:
            group = "region"
        by_group.setdefault(group, []).append(node)

    out = [
        "digraph design {",
        '  graph [rankdir=TB, compound=true, newrank=true, fontname="Helvetica", fontsize=12, '
        'nodesep=0.35, ranksep=0.5, pad=0.2, id="design"];',
        '  node [fontname="Helvetica", fontsize=11, style="filled", color="#555555", '
        'margin="0.12,0.06"];',
        '  edge [color="#7a7a7a", arrowsize=0.7];',
    ]

    def node_line(node: dict[str, Any], indent: str, copy_of: int | None = None) -> str:
        shape, fill, category = KINDS.get(str(node.get("kind")), DEFAULT_KIND)
        name = node["id"] if copy_of is None else f"{node['id']}{COPY}{copy_of}"
        state = status.get(node["id"])
        label = node.get("label") or node["id"]
        attrs = _attrs(
            id=f"node:{name}", label=f"{label} (removed)" if state == "removed" else label,
            shape=shape, fillcolor="#ffffff" if state == "removed" else fill,
            tooltip=f"{label} ({node['id']})",
            **{"class": f"kind-{node.get('kind')} cat-{category}" + (" copy" if copy_of else "")
               + (f" {state}" if state else "")},
            style="filled,dashed" if copy_of or state == "removed" else None,
            color={"added": "#067647", "changed": "#b54708", "removed": "#9a9a9a"}.get(state),
            penwidth="2.5" if state in ("added", "changed") else None,
            fontcolor="#7a7a7a" if state == "removed" else None,
        )
        return f"{indent}{quote(name)} [{attrs}];"

    def cluster(cid: str, label: str, indent: str, style: str, color: str, body: list[str]) -> None:
        out.append(f"{indent}subgraph {quote('cluster_' + cid)} {{")
        out.append(f"{indent}  graph [" + _attrs(id=f"cluster:{cid}", label=label, style=style,
                                                  color=color, labeljust="l",
                                                  **{"class": f"group group-{cid}"}) + "];")
        out.extend(body)
        out.append(f"{indent}}}")

    if by_group.get("global"):
        cluster("global", str((groups.get("global") or {}).get("label") or "Global (edge)"), "  ",
                "rounded,dashed", "#8e6cc2", [node_line(n, "    ") for n in by_group["global"]])

    out.append(f"  subgraph {quote('cluster_account')} {{")
    out.append("    graph [" + _attrs(id="cluster:account", label=(groups.get("account") or {}).get("label")
                                  or "Account", style="rounded", color="#9a9a9a", labeljust="l",
                                  **{"class": "group group-account"}) + "];")
    out.extend(node_line(n, "    ") for n in by_group.get("account", []))
    out.append(f"    subgraph {quote('cluster_region')} {{")
    out.append("      graph [" + _attrs(id="cluster:region", label=f"Region {region_label}",
                                  style="rounded", color="#3b7dd8", labeljust="l",
                                  **{"class": "group group-region"}) + "];")
    out.extend(node_line(n, "      ") for n in by_group.get("region", []))
    if has_vpc:
        out.append(f"      subgraph {quote('cluster_vpc')} {{")
        out.append("        graph [" + _attrs(id="cluster:vpc", label="VPC", style="rounded",
                                      color="#2e9e4a", labeljust="l",
                                      **{"class": "group group-vpc"}) + "];")
        out.extend(node_line(n, "        ") for n in by_group.get("vpc", []))
        anchors: dict[int, list[str]] = {}  # per AZ, one node per tier, top to bottom
        for az in range(1, azs + 1):
            body: list[str] = []
            for tier in tiers:
                members = by_group.get(tier, [])
                lines = [node_line(n, "            ", None if az == 1 else az) for n in members]
                anchors.setdefault(az, []).append(
                    (members[0]["id"] if az == 1 else f"{members[0]['id']}{COPY}{az}")
                    if members else f"subnet:{tier}:az{az}")
                if not members:  # an empty cluster is not drawn: show the subnet itself
                    lines = [f"            {quote(f'subnet:{tier}:az{az}')} [" + _attrs(
                        id=f"subnet:{tier}:az{az}", label=f"{tier} subnet", shape="box",
                        style="rounded,dashed", fontsize="9", color="#9a9a9a",
                        **{"class": "subnet"}) + "];"]
                tier_label = str((groups.get(tier) or {}).get("label") or f"{tier} subnets")
                tier_label = tier_label.replace(" subnets", " subnet")
                colour = {"public": "#2e9e4a", "private": "#3b7dd8", "data": "#7a5cc2"}[tier]
                body.append(f"          subgraph {quote(f'cluster_az{az}_{tier}')} {{")
                body.append("            graph [" + _attrs(
                    id=f"cluster:az{az}:{tier}", label=f"{tier_label} (AZ {az})",
                    style="rounded,filled", fillcolor="#fbfbfb", color=colour, labeljust="l",
                    **{"class": f"group group-tier tier-{tier}"}) + "];")
                body.extend(lines)
                body.append("          }")
            out.append(f"        subgraph {quote(f'cluster_az{az}')} {{")
            out.append("          graph [" + _attrs(id=f"cluster:az{az}", label=f"Availability zone {az}",
                                            style="rounded,dashed", color="#5a9bd5",
                                            labeljust="l", **{"class": "group group-az"})
                       + "];")
            out.extend(body)
            out.append("        }")
        out.append("      }")
    out.append("    }")
    out.append("  }")
    if has_vpc:
        # tiers stack inside each AZ (public above private above data), AZs side by side
        for chain in anchors.values():
            for upper, lower in zip(chain, chain[1:], strict=False):
                out.append(f"  {quote(upper)} -> {quote(lower)} [style=invis, weight=10];")
        for level in zip(*anchors.values(), strict=False):
            out.append("  { rank=same; " + " ".join(quote(name) for name in level) + " }")
    known = {n["id"] for n in nodes}
    for edge in diagram.get("edges") or []:
        source, target = edge.get("from"), edge.get("to")
        if source in known and target in known and source != target:
            out.append(f"  {quote(source)} -> {quote(target)} [" + _attrs(
                id=f"edge:{source}->{target}") + "];")
    out.append("}")
    return "\n".join(out) + "\n"


def node_details(module: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What clicking a node shows: its attributes, the blueprint's reason, findings and cost.

    A finding or cost line names a resource address; it belongs to the node of that address,
    else to the one node of the blueprint that writes the finding's file."""
    diagram = module.get("diagram") or {}
    plan_items = {item.get("id"): item for item in (module.get("plan") or {}).get("items", [])}
    details: dict[str, dict[str, Any]] = {}
    by_file: dict[str, list[str]] = {}
    for node in diagram.get("nodes") or []:
        item = plan_items.get(node.get("blueprint")) or {}
        details[node["id"]] = {
            "id": node["id"], "label": node.get("label"), "kind": node.get("kind"),
            "group": node.get("group"), "blueprint": node.get("blueprint"),
            "title": item.get("title"), "why": item.get("why"), "file": item.get("file"),
            "findings": [], "cost": [],
        }
        if item.get("file"):
            by_file.setdefault(item["file"], []).append(node["id"])

    def owner(address: str | None, file: str | None) -> str | None:
        if address in details:
            return address
        candidates = by_file.get(file or "", [])
        return candidates[0] if len(set(candidates)) == 1 else None

    for finding in module.get("findings") or []:
        node_id = owner(finding.get("address"), finding.get("file"))
        if node_id:
            details[node_id]["findings"].append({
                key: finding.get(key) for key in
                ("check_id", "severity", "pillar", "address", "message", "skip_reason")
            })
    for item in (module.get("cost") or {}).get("items") or []:
        address = item.get("address")
        node_id = address if address in details else None
        if node_id is None:  # a resource of the same blueprint: same type prefix and file unknown
            prefix = str(address or "").split(".")[0]
            same = [n for n in details if n.split(".")[0] == prefix]
            node_id = same[0] if len(same) == 1 else None
        if node_id:
            details[node_id]["cost"].append({
                "address": address, "monthly_usd": item.get("monthly_usd"),
                "detail": item.get("detail"),
            })
    return details


def diagram_view(module: dict[str, Any], versions: list[int],
                 previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the diagram page fetches: the DOT graph, the nodes' details, the clusters, and
    what changed since ``previous`` (the version before)."""
    diagram = module.get("diagram") or {"nodes": [], "edges": [], "groups": []}
    change = changes(previous, module)
    cost = module.get("cost") or {}
    azs = az_count(module.get("files"))
    groups = {g.get("id") for g in diagram.get("groups") or []}
    clusters = ["account", "region"]
    if any(n.get("group") == "global" for n in diagram.get("nodes") or []):
        clusters.insert(0, "global")
    if "vpc" in groups:
        clusters.append("vpc")
        for az in range(1, azs + 1):
            clusters.append(f"az{az}")
            clusters += [f"az{az}:{tier}" for tier in TIERS if tier in groups]
    return {
        "version": module.get("version"),
        "versions": versions,
        "azs": azs,
        "dot": build_dot(diagram, region=cost.get("region"), azs=azs, change=change),
        "nodes": {**{n["id"]: {**n, "findings": [], "cost": [], "removed": True}
                     for n in change.get("removed_nodes", [])}, **node_details(module)},
        "changes": {k: v for k, v in change.items() if k != "removed_nodes"},
        "edges": diagram.get("edges") or [],
        "clusters": clusters,
        "monthly_total": cost.get("monthly_total"),
    }
