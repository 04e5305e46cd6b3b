"""`archops web`: serve the chat API and the live event streams."""

from __future__ import annotations

import argparse

from cli import runtime
from core.settings import Settings
from core.tracing import setup_tracing, shutdown_tracing

HELP = "run the web app: chat API, live events (SSE), pages"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to bind (default ARCHOPS_WEB_HOST)")
    parser.add_argument("--port", type=int, help="port (default ARCHOPS_WEB_PORT)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from web.service import run_web

    settings.web_host = args.host or settings.web_host
    settings.web_port = args.port if args.port is not None else settings.web_port
    url, _ = runtime.redis_for(settings, embed=False)
    setup_tracing(settings)
    try:
        return runtime.run(runtime.with_metrics(settings, lambda stop: run_web(settings, url, stop)))
    finally:
        shutdown_tracing()
