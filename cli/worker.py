"""`archops worker`: consume chat requests from Redis and run the agent workflow."""

from __future__ import annotations

import argparse

from cli import runtime
from core.settings import Settings
from core.tracing import setup_tracing, shutdown_tracing

HELP = "run a worker: takes requests from Redis and runs the agent workflow"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, help="conversations processed at once")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agents.process import run_worker

    if args.concurrency:
        settings.worker_concurrency = args.concurrency
    url, _ = runtime.redis_for(settings, embed=False)
    setup_tracing(settings)
    try:
        return runtime.run(lambda stop: run_worker(settings, url, stop))
    finally:
        shutdown_tracing()
