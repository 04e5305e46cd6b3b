"""A diagram's groups as a tree of clusters (region ⊃ VPC ⊃ AZ ⊃ subnet tier; see web.dot)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TIERS = ("public", "private", "data")


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
