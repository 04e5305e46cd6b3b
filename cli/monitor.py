"""`archops monitor`: watch projects' CloudWatch metrics and turn them into insights.

    archops monitor                          run the jobs (collect, detect, tell) until Ctrl-C
    archops monitor watch P [options]        watch a project (language, time zone, quiet hours...)
    archops monitor collect P                one collection and detection now, with what it cost
    archops monitor insights P [--json]      what the detectors found
    archops monitor act INSIGHT              submit the insight's change to the project's conversation
    archops monitor summary P                the weekly summary, as the digest would say it
    archops monitor cost P [--days N]        what collecting the project's metrics cost
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta

from cli import runtime
from core.settings import Settings
from core.tracing import setup_tracing, shutdown_tracing

HELP = "watch projects' CloudWatch metrics: collect, find insights, alert, digest, act"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    watch = sub.add_parser("watch", help="watch a project (created when regions are given)")
    watch.add_argument("project")
    watch.add_argument("--language", choices=["en", "ko"])
    watch.add_argument("--timezone", help="IANA time zone of quiet hours and the digest, e.g. Asia/Seoul")
    watch.add_argument("--quiet", help="quiet hours HH:MM-HH:MM ('' for none): alerts wait until they end")
    watch.add_argument("--inventory", help="an inventory.json written by archops scan (else the monitor scans)")
    watch.add_argument("--regions", help="comma-separated regions of the project")
    watch.add_argument("--role-arn", help="the project's role, assumed through STS")
    watch.add_argument("--slack-channel", help="the Slack channel alerts and digests go to")
    watch.add_argument("--off", action="store_true", help="stop watching (data and insights are kept)")
    for name, text in (("collect", "collect and detect now"), ("insights", "list the insights"),
                       ("summary", "print the weekly summary"), ("cost", "the cost of collection")):
        p = sub.add_parser(name, help=text)
        p.add_argument("project")
        if name == "insights":
            p.add_argument("--json", action="store_true")
            p.add_argument("--all", action="store_true", help="resolved ones too")
        if name == "cost":
            p.add_argument("--days", type=int, default=30)
    act = sub.add_parser("act", help="submit an insight's change request to the project's conversation")
    act.add_argument("insight")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from monitor import service

    action = args.action or "run"
    if action == "watch":
        regions = [r.strip() for r in (args.regions or "").split(",") if r.strip()]
        print(asyncio.run(service.watch(
            settings, args.project, language=args.language, timezone=args.timezone,
            quiet_hours=args.quiet, enabled=False if args.off else True, inventory_file=args.inventory,
            regions=regions or None, role_arn=args.role_arn, slack_channel=args.slack_channel)))
        return 0
    url, _ = runtime.redis_for(settings, embed=False)
    if action == "run":
        setup_tracing(settings)
        try:
            return runtime.run(runtime.with_metrics(settings, lambda stop: service.run_monitor(settings, url, stop)))
        finally:
            shutdown_tracing()
    return asyncio.run(_once(action, args, settings, url))


async def _once(action: str, args: argparse.Namespace, settings: Settings, url: str) -> int:
    from monitor.service import open_monitor

    async with open_monitor(settings, url) as monitor:
        if action == "collect":
            report = await monitor.collect(args.project)
            print(report.summary())
            if not report.skipped and not report.lost:
                found = await monitor.detect(args.project)
                print(f"insights: {len(found.findings)} ({found.counts}) from {found.datapoints} datapoints")
            return 3 if report.partial else 0
        if action == "insights":
            rows = await monitor.metrics.insights(args.project, status=None if args.all else ("open", "acted"))
            if args.json:
                print(json.dumps([_row(r) for r in rows], indent=2, ensure_ascii=False))
            else:
                language = (await monitor.metrics.watched(args.project)).language
                for r in rows:
                    effect = f" ({r.monthly_usd:+.2f} $/month)" if r.monthly_usd is not None else ""
                    print(f"{r.id} [{r.severity}] {r.title.get(language) or r.title['en']}{effect} ({r.status})")
                    print(f"    {r.recommendation.get(language) or r.recommendation['en']}")
                    if r.change_request:
                        print(f"    change: {r.change_request}  (archops monitor act {r.id})")
            return 0
        if action == "act":
            result, conversation = await monitor.act(args.insight, user="local", source="cli")
            state = "submitted" if result.accepted else "already submitted"
            print(f"{state}: request {result.request_id} in conversation {conversation}\n"
                  f"  follow it: archops chat --conversation {conversation}")
            return 0
        if action == "summary":
            print(await monitor.summary(args.project))
            return 0
        if action == "cost":
            cost = await monitor.metrics.cost(args.project, datetime.now(UTC) - timedelta(days=args.days))
            print(f"{args.project}: ${cost['usd']:.4f} over {args.days} days: {cost['metrics_requested']:,} "
                  f"metrics requested in {cost['calls']:,} GetMetricData calls ({cost['runs']} collections, "
                  f"{cost['datapoints']:,} datapoints; $0.01 per 1,000 metrics requested)")
            return 0
    print(f"archops monitor: unknown action {action}", file=sys.stderr)
    return 2


def _row(r) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {k: getattr(r, k) for k in (
        "id", "detector", "severity", "status", "region", "resource_kind", "resource_id", "metric",
        "title", "recommendation", "evidence", "change_request", "monthly_usd", "window_start",
        "window_end", "request_id", "conversation_id")}
