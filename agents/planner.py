"""The resource planner: requirements -> blueprints with explicit dependencies, ordered in levels.

Levels come from a topological sort (graphlib): every blueprint of a level depends only on
blueprints of earlier levels, so the level executor can build one level concurrently.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import Any

from agents.catalog import CATALOG
from agents.requirements import Requirements
from core.errors import ValidationError

DIRECT = {"vpc", "alb", "ecs", "asg", "ec2", "lambda", "apigw", "redis", "dynamodb", "s3", "site", "cloudfront",
          "waf", "route53", "kms", "secrets", "cloudtrail", "guardduty", "config", "alarms", "budget", "backup", "sqs", "sns"}


def _workload(req: Requirements, chosen: set[str]) -> None:
    kind = req.workload
    if kind == "static_site":
        chosen |= {"site", "cloudfront"}
    elif kind == "web_app":
        chosen |= {"vpc", "alb", req.compute if req.compute in {"ecs", "asg", "ec2"} else "ecs"}
        if req.compute == "lambda":
            chosen -= {"vpc", "alb", "ecs"}
            chosen |= {"lambda", "apigw"}
    elif kind == "api":
        if req.compute in {"ecs", "asg", "ec2"}:
            chosen |= {"vpc", "alb", req.compute}
        else:
            chosen |= {"lambda", "apigw"}
    elif kind == "worker":
        chosen |= {"sqs", req.compute if req.compute in {"ecs", "asg", "ec2", "lambda"} else "lambda"}
        if req.compute in {"ecs", "asg", "ec2"}:
            chosen.add("vpc")
    elif kind == "data_pipeline":
        chosen |= {"s3", "lambda"}
    if req.compute and kind == "custom":
        chosen.add(req.compute)


def choose(req: Requirements) -> set[str]:
    """Which blueprints the requirements call for (before dependency closure)."""
    chosen: set[str] = {"kms", "alarms", "budget", "logs_bucket"}
    _workload(req, chosen)
    chosen |= {c for c in req.components if c in DIRECT and c not in req.removed}
    if req.database or req.wants_database:
        chosen.add("aurora" if (req.database or "").startswith("aurora") else "rds")
        chosen.add("vpc")
    if "alb" in chosen and not req.domain and req.load_balancer != "network":
        chosen.add("cloudfront")  # HTTPS at the edge when there is no domain for a certificate
    if chosen & {"ecs", "asg", "ec2", "redis", "rds", "aurora"}:
        chosen.add("vpc")
    if req.production or req.compliance:
        chosen |= {"cloudtrail", "guardduty", "config", "waf"} if chosen & {"alb", "cloudfront"} else {"cloudtrail", "guardduty", "config"}
        if chosen & {"rds", "aurora", "dynamodb"}:
            chosen.add("backup")
    if req.domain and chosen & {"alb", "cloudfront"}:
        chosen |= {"acm", "route53"}
    if "apigw" in chosen:
        chosen.add("lambda")
    if req.load_balancer == "network" and "cloudfront" not in chosen:
        chosen.discard("waf")  # WAF guards HTTP; a network load balancer carries TCP
    if "waf" in chosen and not chosen & {"alb", "cloudfront"}:
        chosen.discard("waf")
    if "route53" in chosen and not req.domain:
        chosen.discard("route53")
    chosen -= {c for c in req.removed if c in {"redis", "sqs", "sns", "s3", "dynamodb", "cloudfront", "waf", "backup", "secrets"}}
    return _close(chosen)


def _close(chosen: set[str]) -> set[str]:
    todo = list(chosen)
    while todo:
        item = todo.pop()
        for dep in CATALOG[item].requires:
            if dep not in chosen:
                chosen.add(dep)
                todo.append(dep)
    return chosen


def plan(req: Requirements) -> dict[str, Any]:
    """The resource plan: items with dependencies and ``levels`` in build order."""
    chosen = choose(req)
    graph: dict[str, set[str]] = {}
    for bid in sorted(chosen):
        bp = CATALOG[bid]
        graph[bid] = {d for d in (*bp.requires, *bp.after) if d in chosen and d != bid}
    levels = _levels(graph)
    items = [
        {"id": bid, "title": CATALOG[bid].title, "why": CATALOG[bid].why, "file": CATALOG[bid].concern, "depends_on": sorted(graph[bid])}
        for level in levels
        for bid in level
    ]
    return {"items": items, "levels": levels}


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
