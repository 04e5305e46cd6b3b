"""Module artifacts for the card tests: real ones from the offline workflow, and small ones.

``real_designs`` runs archops' own graph (the offline engine, Terraform's parser as the review)
for a design and a change of it, once per test session, and keeps the events it emitted: the
module artifacts (files, diagram, plan, findings, cost, not built), the summaries.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

ASK = "a SaaS web app with Postgres and a Redis cache in eu-west-1"
CHANGE = "add an S3 bucket for uploads and remove the cache"


async def _generate(db: Path) -> dict[str, Any]:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from agents.handler import AgentHandler
    from core.settings import Settings
    from tests.agents.conftest import Recorder, text

    async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
        handler = AgentHandler(saver, Settings(_env_file=None), review_checks={"parse", "policy", "cost"})
        first = Recorder(text("c-real", ASK, non_interactive=True))
        await handler(first)
        second = Recorder(text("c-real", CHANGE))
        await handler(second)
    return {"first": first.events, "second": second.events}


@pytest.fixture(scope="session")
def real_designs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """{"first": [(type, text, data)...], "second": [...]} of a design and its change."""
    return asyncio.run(_generate(tmp_path_factory.mktemp("designs") / "checkpoints.sqlite3"))


def module_of(events: list[tuple[str, str | None, dict[str, Any]]]) -> dict[str, Any]:
    return next(d for t, _x, d in events if t == "artifact" and d.get("kind") == "module")


def done_of(events: list[tuple[str, str | None, dict[str, Any]]]) -> str:
    return next(x or "" for t, x, _d in events if t == "done")


def small_module(version: int = 1, *, cache: bool = True) -> dict[str, Any]:
    """A module artifact shaped as the worker emits it, with a few resources."""
    nodes = [{"id": "aws_vpc.main", "label": "VPC", "kind": "vpc", "group": "vpc", "blueprint": "vpc"},
             {"id": "aws_db_instance.main", "label": "RDS PostgreSQL", "kind": "rds",
              "group": "data", "blueprint": "rds"}]
    items = [{"address": "aws_db_instance.main", "resource_type": "aws_db_instance",
              "monthly_usd": 109.45, "detail": "db.t4g.medium x2"}]
    if cache:
        nodes.append({"id": "aws_elasticache_replication_group.main", "label": "ElastiCache Redis",
                      "kind": "redis", "group": "data", "blueprint": "redis"})
        items.append({"address": "aws_elasticache_replication_group.main",
                      "resource_type": "aws_elasticache_replication_group", "monthly_usd": 51.39,
                      "detail": "2 x cache.t4g.small"})
    return {
        "kind": "module", "version": version,
        "files": {"variables.tf": 'variable "environment" {\n  type    = string\n  default = "staging"\n}\n',
                  "main.tf": 'resource "aws_vpc" "main" {}\n', "README.md": "# app\n"},
        "diagram": {"nodes": nodes, "edges": [], "groups": []},
        "plan": {"items": [{"id": n["blueprint"], "title": n["label"], "file": "main.tf"} for n in nodes],
                 "levels": [[n["blueprint"] for n in nodes]]},
        "findings": [
            {"check_id": "rds_multi_az", "severity": "high", "pillar": "reliability",
             "address": "aws_db_instance.main", "message": "The database runs in one AZ only"},
            {"check_id": "s3_logging", "severity": "low", "pillar": "security",
             "address": "aws_s3_bucket.logs", "message": "Access logging is off",
             "skip_reason": "the log bucket cannot log to itself"},
        ],
        "repairs": [],
        "cost": {"region": "eu-west-1", "currency": "USD", "items": items,
                 "monthly_total": round(sum(i["monthly_usd"] for i in items), 2)},
        "assumed": {"environment": "staging"},
        "not_built": [{"what": "a Kafka cluster", "why": "no blueprint for Amazon MSK yet"}],
        "language": "en",
    }
