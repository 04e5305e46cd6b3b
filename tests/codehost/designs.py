"""Designs and changes the code-host tests deliver (plain data, shared with the crash process)."""

from __future__ import annotations

from core.codehost import body as pr_body
from core.codehost.body import Design
from core.codehost.delivery import Change
from core.codehost.naming import branch_name

VPC = """resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}
"""
BUCKET = """resource "aws_s3_bucket" "logs" {
  bucket_prefix = "logs-"
}
"""
CACHE = """resource "aws_elasticache_cluster" "cache" {
  cluster_id = "cache"
  engine     = "redis"
  node_type  = "cache.t4g.micro"
  num_cache_nodes = 1
}
"""


def module(version: int) -> dict[str, str]:
    """Version 1: a VPC and a log bucket; version 2 adds a cache and changes the README."""
    files = {"network.tf": VPC, "logging.tf": BUCKET,
             "README.md": f"# shop\n\nVersion {version} of the design.\n"}
    if version >= 2:
        files["cache.tf"] = CACHE
    return files


ASKED = ["A web shop with a VPC and a log bucket", "add a Redis cache"]


def design(conversation: str, version: int, project: str = "shop", **kw: object) -> Design:
    fields: dict[str, object] = dict(
        conversation_id=conversation, project_id=project, version=version,
        asked=ASKED[:version], files=module(version),
        decisions={"workload": "web", "environment": "dev"},
        assumed={"region": "eu-west-1"},
        blueprints=[("VPC", "private subnets"), ("Log bucket", "access logs")],
        plan_line=f"Plan: {3 if version == 1 else 4} to add, 0 to change, 0 to destroy.",
        findings=[{"check_id": "ARCHOPS_DB_DELETION_PROTECTION", "severity": "medium",
                   "pillar": "reliability", "address": "aws_db_instance.main",
                   "message": "the database can be deleted by one apply",
                   "skip_reason": "dev environment: the stack can be torn down"}],
        not_built=[("a CDN", "no domain was given")],
        monthly_usd=20.0 + 12.5 * (version - 1),
        previous_monthly_usd=20.0 if version > 1 else None, region="eu-west-1",
        environment="dev",
        links={"slack": "https://app.slack.com/client/T1/C1/thread/C1-1700000000.000100",
               "stream": f"http://archops.test/c/{conversation}?cap=x",
               "diagram": f"http://archops.test/c/{conversation}/diagram?cap=x"},
    )
    fields.update(kw)
    return Design(**fields)  # type: ignore[arg-type]


def change(conversation: str, request: str, version: int, *, project: str = "shop",
           path: str = "infra", d: Design | None = None) -> Change:
    d = d or design(conversation, version, project)

    def body(delta, commit, previous):  # type: ignore[no-untyped-def]
        return pr_body.render(d, delta, commit, previous, full_report=d.links.get("stream"))

    return Change(conversation, request, version, branch_name(project, ASKED[0], conversation),
                  path, d.files, pr_body.commit_message(d, ASKED[version - 1]), pr_body.title(d),
                  pr_body.labels(d), body)
