"""`archops bot`: serve Slack's Events API and interactivity endpoint, and post the answers."""

from __future__ import annotations

import argparse

from cli import runtime
from core.settings import Settings
from core.tracing import setup_tracing, shutdown_tracing

HELP = "run the Slack bot: Events API + interactivity on /slack/events, replies in threads"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to bind (default ARCHOPS_BOT_HOST)")
    parser.add_argument("--port", type=int, help="port (default ARCHOPS_BOT_PORT)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service import require_slack, run_bot
    from cli.slack_hooks import slack_hooks

    require_slack(settings)  # fail at once, before touching Redis
    settings.bot_host = args.host or settings.bot_host
    settings.bot_port = args.port if args.port is not None else settings.bot_port
    url, _ = runtime.redis_for(settings, embed=False)
    setup_tracing(settings)
    try:
        return runtime.run(runtime.with_metrics(
            settings,
            lambda stop: run_bot(settings, url, stop, hooks=slack_hooks(settings, redis_url=url))))
    finally:
        shutdown_tracing()
