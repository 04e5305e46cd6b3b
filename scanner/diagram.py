"""The inventory as the graph the web app draws: the agent's format (agents/combiner.build_diagram).

    {"nodes":  [{"id", "label", "kind", "group", "parent"}],
     "edges":  [{"from", "to", "label"?}],
     "groups": [{"id", "label", "parent", "kind"}]}

Groups nest account ⊃ region ⊃ VPC ⊃ AZ ⊃ subnet (IAM sits in a "global" group; a default VPC
shows only when something runs in it); each node's
``group`` (and ``parent``, the same) is the innermost group that holds it: a resource in one subnet
sits in that subnet, one spread across a VPC's subnets (a load balancer, a function) in the VPC.
Edges say what talks to what: a hosted zone to the load balancers its alias records name, a
load balancer to its target groups, a target group to its
targets, compute to the IAM role it runs as, a cluster member to its cluster, and one resource to
another when a security group rule lets the first's group reach the second's.
"""

from __future__ import annotations

from typing import Any

from scanner.models import GLOBAL, Inventory, Resource

NODE_KINDS = ("internet_gateway", "nat_gateway", "instance", "lambda_function", "db_instance",
              "db_cluster", "cache_cluster", "replication_group", "s3_bucket", "load_balancer",
              "target_group", "classic_load_balancer", "iam_role", "hosted_zone")
MAX_RULE_EDGES = 500


def to_diagram(inventory: Inventory) -> dict[str, Any]:
    by_id = {r.id: r for r in inventory.resources}
    subnets = {r.id: r for r in inventory.of("subnet")}
    groups: dict[str, dict[str, Any]] = {}
    used: set[str] = set()

    def group(gid: str, label: str, parent: str | None, kind: str) -> str:
        groups.setdefault(gid, {"id": gid, "label": label, "parent": parent, "kind": kind})
        return gid

    group("account", "Account", None, "account")
    group("global", "Global (IAM)", "account", "global")
    for region in inventory.regions:
        group(f"region:{region}", region, "account", "region")
    for vpc in inventory.of("vpc"):
        cidr = vpc.attrs.get("cidr_block")
        group(f"vpc:{vpc.id}", f"{vpc.label} ({cidr})" if cidr and vpc.label != vpc.id else vpc.label,
              f"region:{vpc.region}", "vpc")
    for sub in subnets.values():
        az = sub.availability_zone or "?"
        if sub.vpc_id and f"vpc:{sub.vpc_id}" in groups:
            group(f"az:{sub.vpc_id}:{az}", az, f"vpc:{sub.vpc_id}", "az")
            group(f"subnet:{sub.id}", f"{sub.label} ({sub.attrs.get('cidr_block')})", f"az:{sub.vpc_id}:{az}", "subnet")

    def where(r: Resource) -> str:
        if r.region == GLOBAL:
            return "global"
        candidates = list(r.subnet_ids)
        if not candidates and r.parent and r.parent in by_id:  # DB and cache subnet groups
            candidates = list(by_id[r.parent].subnet_ids)
        if r.availability_zone and len(candidates) > 1:
            in_az = [s for s in candidates if s in subnets and subnets[s].availability_zone == r.availability_zone]
            candidates = in_az[:1] or candidates
        if len(candidates) == 1 and f"subnet:{candidates[0]}" in groups:
            return f"subnet:{candidates[0]}"
        if r.vpc_id and f"vpc:{r.vpc_id}" in groups:
            return f"vpc:{r.vpc_id}"
        return f"region:{r.region}"

    nodes: list[dict[str, Any]] = []
    node_ids: set[str] = set()
    for r in inventory.resources:
        if r.kind not in NODE_KINDS:
            continue
        home = where(r)
        nodes.append({"id": r.id, "label": r.label, "kind": r.kind, "group": home, "parent": home,
                      "region": r.region})
        node_ids.add(r.id)
        used.add(home)

    edges: dict[tuple[str, str], str | None] = {}

    def edge(a: str | None, b: str | None, label: str | None = None) -> None:
        if a and b and a != b and a in node_ids and b in node_ids:
            edges.setdefault((a, b), label)

    for r in inventory.resources:
        if r.kind in ("load_balancer", "target_group", "classic_load_balancer"):
            for t in r.targets:
                edge(r.id, t)
        if r.kind in ("lambda_function", "instance") and r.role_arn:
            role = r.role_arn.rsplit("/", 1)[-1]
            edge(r.id, role, "runs as")
        if r.kind == "db_instance" and r.attrs.get("cluster_identifier"):
            edge(r.id, r.attrs["cluster_identifier"], "member")
        if r.kind == "dns_record" and r.parent:
            for t in r.targets:  # an alias record: the zone sends that name to a load balancer
                edge(r.parent, t, r.attrs.get("name"))
        if r.kind == "nat_gateway":
            igws = [g.id for g in inventory.of("internet_gateway") if g.vpc_id == r.vpc_id]
            for g in igws:
                edge(r.id, g)
    # security group rules: who may reach whom
    members: dict[str, list[str]] = {}
    for r in inventory.resources:
        if r.id in node_ids:
            for sg in r.security_group_ids:
                members.setdefault(sg, []).append(r.id)
    count = 0
    for rule in inventory.of("security_group_rule"):
        source = rule.attrs.get("referenced_security_group_id")
        if rule.attrs.get("egress") or not source:
            continue
        port = rule.attrs.get("from_port")
        for a in members.get(source, []):
            for b in members.get(rule.parent or "", []):
                if count < MAX_RULE_EDGES:
                    edge(a, b, f"{rule.attrs.get('ip_protocol')}/{port}")
                    count += 1
    # keep every group of the VPCs the account made (an empty subnet is worth seeing), and of the
    # default VPCs only what holds something
    keep: set[str] = set()
    own = {f"vpc:{v.id}" for v in inventory.of("vpc") if not v.aws_default}
    for gid, grp in groups.items():
        if grp["kind"] in ("az", "subnet"):
            up = grp["parent"] if grp["kind"] == "az" else groups[grp["parent"]]["parent"]
            if up in own:
                used.add(gid)
    used |= own
    for gid in used:
        while gid:
            keep.add(gid)
            gid = groups[gid]["parent"]
    return {
        "nodes": nodes,
        "edges": [{"from": a, "to": b, **({"label": label} if label else {})} for (a, b), label in sorted(edges.items())],
        "groups": [g for g in groups.values() if g["id"] in keep],
    }
