"""What `/archops scan`, `tags` and `metrics` call in Slack: the scanner and the monitor.

The Slack edge depends on no other part (bot/hooks.py holds the ports); the command line knows
them all, so it fills the ports here: a scan is :func:`scanner.service.scan_to_dir` as
`archops scan` runs it, a tag plan is :func:`scanner.tags.plan_tags` as `archops tags plan` makes
it, both in a thread (boto3 blocks) and with the AWS endpoint of the settings; the metrics are
the monitor's summary of the channel's project (``archops monitor summary``), given the Redis
the monitor uses.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bot.hooks import Hooks, ScanReport, Scope, TagReport
from core.errors import NotFound
from core.settings import Settings


def slack_hooks(settings: Settings, *, redis_url: str | None = None, review: bool = True) -> Hooks:
    endpoint = settings.aws_endpoint_url

    def scan(scope: Scope) -> ScanReport:
        from scanner.service import scan_to_dir, summary

        with tempfile.TemporaryDirectory(prefix="archops-scan-") as out:
            result = scan_to_dir(scope.regions, out, review=review, endpoint_url=endpoint,
                                 role_arn=scope.role_arn)
            files = {p.name: p.read_text(encoding="utf-8") for p in Path(out).iterdir()
                     if p.is_file()}
        return ScanReport(summary(result), files, result.passed, result.inventory.partial)

    def tags(scope: Scope, key: str, value: str) -> TagReport:
        from scanner.inventory import Scanner
        from scanner.tags import plan_tags

        inventory = Scanner(scope.regions, endpoint_url=endpoint, role_arn=scope.role_arn).scan()
        plan = plan_tags(inventory, key, value)
        lines = [f"{len(plan.changes)} resource(s) to tag {key}={value} "
                 f"({plan.already} carry it already)"]
        lines += [f"  {c.kind:<18} {c.id:<40} {c.region:<12} {c.reason}" for c in plan.changes]
        if inventory.partial:
            lines.append("PARTIAL scan: " + "; ".join(m.text for m in inventory.missing))
        return TagReport("\n".join(lines), len(plan.changes), plan.model_dump_json(indent=2))

    async def scan_async(scope: Scope) -> ScanReport:
        return await asyncio.to_thread(scan, scope)

    async def tags_async(scope: Scope, key: str, value: str) -> TagReport:
        return await asyncio.to_thread(tags, scope, key, value)

    async def metrics(scope: Scope) -> str:
        from monitor.service import open_monitor

        if not scope.project_id:
            raise NotFound("this channel is not bound to a project, so no account is watched",
                           hint="`/archops project bind`, then `archops monitor watch PROJECT`")
        assert redis_url is not None
        async with open_monitor(settings, redis_url) as monitor:
            return await monitor.summary(scope.project_id)

    return Hooks(scan=scan_async, tags=tags_async, metrics=metrics if redis_url else None)
