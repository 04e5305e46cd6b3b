"""A design's module artifact -> what the diagram page draws: the DOT graph (:mod:`web.dot`),
each node's details (attributes, findings, cost), the groups repeated resources are folded
into, and what a version changed against the one before.

The worker's module artifact carries the diagram as data (``agents.combiner.build_diagram``):
nodes with a ``kind`` and a ``group``, edges from references between blueprints, and nested
groups. :func:`diagram_view` is what ``GET /api/conversations/{id}/diagram`` answers, and
``/c/{id}/diagram.svg`` lays out the same DOT on the server (:mod:`web.render`).
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import ValidationError
from web.dot import COPY, GROUP, KINDS, MAX_EDGES, MAX_NODES, TIERS, build_dot, draw

__all__ = ["COPY", "GROUP", "KINDS", "MAX_NODES", "TIERS", "az_count", "build_dot", "changes",
           "diagram_view", "latest_module", "module_by_version", "module_versions",
           "node_details", "parse_expand"]

_SLICE = re.compile(r"slice\(\s*data\.aws_availability_zones\.[A-Za-z0-9_]+\.names\s*,\s*0\s*,\s*(\d+)\s*\)")
MAX_EXPAND = 100
_GROUP_ID = re.compile(r"group:[A-Za-z0-9_.:@~-]{1,300}", re.ASCII)


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
    by_type: dict[str, list[str]] = {}
    for node_id in details:
        by_type.setdefault(node_id.split(".")[0], []).append(node_id)
    for item in (module.get("cost") or {}).get("items") or []:
        address = item.get("address")
        node_id = address if address in details else None
        if node_id is None:  # a resource of the same blueprint: same type prefix and file unknown
            same = by_type.get(str(address or "").split(".")[0], [])
            node_id = same[0] if len(same) == 1 else None
        if node_id:
            details[node_id]["cost"].append({
                "address": address, "monthly_usd": item.get("monthly_usd"),
                "detail": item.get("detail"),
            })
    return details


def parse_expand(value: str | None) -> frozenset[str]:
    """The groups a view keeps open (``?expand=group:a,group:b``); ValidationError if malformed."""
    if not value:
        return frozenset()
    ids = [part for part in value.split(",") if part]
    if len(ids) > MAX_EXPAND or not all(_GROUP_ID.fullmatch(part) for part in ids):
        raise ValidationError(f"expand must be up to {MAX_EXPAND} group ids (group:...), "
                              "separated by commas")
    return frozenset(ids)


def diagram_view(module: dict[str, Any], versions: list[int],
                 previous: dict[str, Any] | None = None, *,
                 expand: frozenset[str] = frozenset(),
                 max_nodes: int | None = MAX_NODES) -> dict[str, Any]:
    """What the diagram page fetches: the DOT graph, the nodes' details, the clusters, the
    groups repeated resources are folded into (``expand`` keeps some open), and what changed
    since ``previous`` (the version before)."""
    diagram = module.get("diagram") or {"nodes": [], "edges": [], "groups": []}
    change = changes(previous, module)
    cost = module.get("cost") or {}
    azs = az_count(module.get("files"))
    drawing = draw(diagram, region=cost.get("region"), azs=azs, change=change, expand=expand,
                   max_nodes=max_nodes, max_edges=None if max_nodes is None else MAX_EDGES)
    nodes = {**{n["id"]: {**n, "findings": [], "cost": [], "removed": True}
                for n in change.get("removed_nodes", [])}, **node_details(module)}
    groups = {}
    for fid, item in drawing.folding.folds.items():
        members = [nodes[m] for m in item.members if m in nodes]
        groups[fid] = {
            **item.summary(),
            "monthly_usd": round(sum(c.get("monthly_usd") or 0 for n in members
                                     for c in n["cost"]), 2),
            "findings": sum(1 for n in members for f in n["findings"] if not f["skip_reason"]),
        }
    return {
        "version": module.get("version"),
        "versions": versions,
        "azs": azs,
        "dot": drawing.dot,
        "nodes": nodes,
        "groups": groups,
        "expanded": sorted(fid for fid in expand if fid in groups),
        "node_count": drawing.nodes,
        "max_nodes": max_nodes,
        "changes": {k: v for k, v in change.items() if k != "removed_nodes"},
        "edges": diagram.get("edges") or [],
        "clusters": drawing.clusters,
        "monthly_total": cost.get("monthly_total"),
    }
