"""The monitor's composition root: settings -> Redis, the store, AWS clients -> the jobs.

Nothing else in monitor/ builds a client. ``run_monitor`` is what `archops monitor` and the job
inside `archops up` run: an apscheduler ``AsyncIOScheduler`` with

- one collection job per watched project, every ``ARCHOPS_MONITOR_INTERVAL_S`` with up to
  ``ARCHOPS_MONITOR_JITTER_S`` of random delay (and a random first turn within the jitter),
  so that many projects, and many monitor instances, do not call AWS at the same moment; each
  run collects, detects when ``ARCHOPS_MONITOR_DETECT_INTERVAL_S`` has passed, then tells
  (alerts now, the digest when due); several instances may run: the project's lock lets one
  collect at a time, the others skip that turn;
- a job that follows the list of watched projects (added, removed, switched off) every minute;
- the rollup (5-minute points to hourly, retention) once a day.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from core.bus import Submitter, bus_from_settings
from core.changes import request_change
from core.envelope import Source
from core.errors import ArchopsError, ValidationError
from core.logging import get_logger
from core.notify import Notice, Notices
from core.redis_client import make_redis
from core.settings import Settings
from core.store import Store
from core.store.metrics_store import MetricsStore
from monitor.analyze import Detection, detect
from monitor.collector import Collector, CollectorConfig, Report
from monitor.lock import ProjectLock
from monitor.notices import send_alerts, send_digest, week_of
from monitor.summary import Narrator, build_summary
from scanner.models import Inventory

log = get_logger("archops.monitor")


@dataclass
class Monitor:
    settings: Settings
    redis: aioredis.Redis
    store: Store
    metrics: MetricsStore
    collector: Collector
    notices: Notices
    submitter: Submitter
    session: Any = None  # a boto3 Session (None: the SDK's default chain)
    narrator: Narrator | None = None

    # -- AWS ------------------------------------------------------------------------------
    def _session(self, role_arn: str | None) -> Any:
        import boto3

        session = self.session or boto3.Session()
        if role_arn:
            from scanner.inventory import assume_role

            session = assume_role(session, role_arn, self.settings.aws_endpoint_url)
        return session

    def clients(self, role_arn: str | None) -> Any:
        """region -> a CloudWatch client of the project's role (retries are ours, not the SDK's)."""
        from botocore.config import Config

        session = self._session(role_arn)
        config = Config(retries={"total_max_attempts": 1}, max_pool_connections=16,
                        connect_timeout=10, read_timeout=60)
        cache: dict[str, Any] = {}

        def client_for(region: str) -> Any:
            if region not in cache:
                kwargs: dict[str, Any] = {"region_name": region, "config": config}
                if self.settings.aws_endpoint_url:
                    kwargs["endpoint_url"] = self.settings.aws_endpoint_url
                cache[region] = session.client("cloudwatch", **kwargs)
            return cache[region]

        return client_for

    async def inventory(self, project_id: str, *, refresh: bool | None = None) -> Inventory:
        """What the project has, as the scanner read it; read again when it is older than
        ``ARCHOPS_MONITOR_INVENTORY_REFRESH_S`` (or never read)."""
        watched = await self.metrics.watched(project_id)
        age = (datetime.now(UTC) - watched.inventory_at).total_seconds() if watched.inventory_at else None
        stale = age is None or age > self.settings.monitor_inventory_refresh_s
        if watched.inventory is not None and not (refresh if refresh is not None else stale):
            return Inventory.model_validate(watched.inventory)
        project = await self.store.get_project(project_id)
        if not project.aws_regions:
            if watched.inventory is not None:
                return Inventory.model_validate(watched.inventory)
            raise ValidationError(f"project {project_id!r} has no AWS region to scan",
                                  hint="bind its regions, or give an inventory: archops monitor watch "
                                       f"{project_id} --inventory inventory.json")
        from scanner.inventory import Scanner

        scanner = Scanner(project.aws_regions, session=self._session(None), role_arn=project.aws_role_arn,
                          endpoint_url=self.settings.aws_endpoint_url)
        inventory = await asyncio.to_thread(scanner.scan)
        if inventory.partial and watched.inventory is not None:
            # part of the account could not be read: keep watching what was known (and try again
            # after the refresh interval) rather than forget what could not be seen this time
            log.warning("inventory partly unreadable; keeping the previous one", project_id=project_id,
                        missing=[m.text for m in inventory.missing][:5])
            await self.metrics.set_inventory(project_id, watched.inventory)
            return Inventory.model_validate(watched.inventory)
        await self.metrics.set_inventory(project_id, json.loads(inventory.model_dump_json()))
        return inventory

    # -- the steps of a project's turn ---------------------------------------------------------
    async def collect(self, project_id: str) -> Report:
        inventory = await self.inventory(project_id)
        project = await self.store.get_project(project_id)
        return await self.collector.collect(project_id, inventory, self.clients(project.aws_role_arn))

    async def detect(self, project_id: str, now: int | None = None) -> Detection:
        return await detect(self.metrics, project_id, await self.inventory(project_id), now)

    async def tell(self, project_id: str, now: datetime | None = None) -> list[Notice]:
        s = self.settings
        out = []
        alert = await send_alerts(self.store, self.metrics, self.notices, project_id, now=now,
                                  public_url=s.public_url)
        if alert:
            out.append(alert)
        digest = await send_digest(self.store, self.metrics, self.notices, project_id, now=now,
                                   weekday=s.monitor_digest_weekday, hour=s.monitor_digest_hour,
                                   public_url=s.public_url, narrator=self.narrator)
        if digest:
            out.append(digest)
        return out

    async def turn(self, project_id: str) -> None:
        """One scheduled turn of a project: collect, detect when due, tell. Never raises."""
        try:
            report = await self.collect(project_id)
            if report.skipped:
                return
            watched = await self.metrics.watched(project_id)
            due = watched.last_detect_at is None or (
                datetime.now(UTC) - watched.last_detect_at).total_seconds() >= self.settings.monitor_detect_interval_s
            if due and not report.lost:
                await self.detect(project_id)
            await self.tell(project_id)
        except ArchopsError as exc:
            log.warning("monitor turn failed", project_id=project_id, error=str(exc))
        except Exception:
            log.exception("monitor turn crashed", project_id=project_id)

    async def rollup(self) -> dict[str, int]:
        s = self.settings
        counts = await self.metrics.rollup(int(time.time()), s.monitor_raw_retention_days * 86400,
                                           s.monitor_hourly_retention_days * 86400)
        log.info("rolled up", **counts)
        return counts

    async def act(self, insight_id: str, *, user: str, source: Source) -> tuple[Any, str]:
        await self.submitter.ensure_groups()
        return await request_change(self.metrics, self.submitter, insight_id, user=user, source=source)

    async def summary(self, project_id: str) -> str:
        return await build_summary(await week_of(self.store, self.metrics, project_id, datetime.now(UTC)),
                                   self.narrator)

    # -- the scheduler ---------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        s = self.settings
        scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                                 "misfire_grace_time": s.monitor_interval_s})
        scheduled: set[str] = set()

        async def follow_projects() -> None:
            try:
                wanted = {w.project_id for w in await self.metrics.list_watched()}
            except ArchopsError as exc:
                log.warning("cannot list watched projects", error=str(exc))
                return
            for project_id in wanted - scheduled:
                # a random first turn within the jitter: instances and projects start spread out
                first = datetime.now(UTC) + timedelta(
                    seconds=random.uniform(0, min(s.monitor_interval_s, s.monitor_jitter_s)))
                scheduler.add_job(self.turn, IntervalTrigger(seconds=s.monitor_interval_s,
                                                             jitter=s.monitor_jitter_s, start_date=first),
                                  args=[project_id], id=f"collect:{project_id}", next_run_time=first)
                scheduled.add(project_id)
                log.info("watching", project_id=project_id)
            for project_id in scheduled - wanted:
                with contextlib.suppress(Exception):
                    scheduler.remove_job(f"collect:{project_id}")
                scheduled.discard(project_id)

        scheduler.add_job(follow_projects, IntervalTrigger(seconds=60), id="projects",
                          next_run_time=datetime.now(UTC))
        scheduler.add_job(self.rollup, CronTrigger(hour=3, minute=17, jitter=600), id="rollup")
        scheduler.start()
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)


@contextlib.asynccontextmanager
async def open_monitor(settings: Settings, redis_url: str, *, session: Any = None) -> AsyncIterator[Monitor]:
    redis = make_redis(redis_url, retries=5)
    store = await Store.open(settings.effective_database_url)
    try:
        metrics = MetricsStore(store)
        lock = ProjectLock(redis, settings.redis_prefix, settings.monitor_lock_ttl_ms)
        config = CollectorConfig(period=settings.monitor_period_s, backfill_s=settings.monitor_backfill_h * 3600,
                                 settle_s=settings.monitor_settle_s)
        collector = Collector(metrics, lock, instance_id=f"{settings.instance_id}-monitor", config=config)
        bus = bus_from_settings(redis, settings)
        yield Monitor(settings, redis, store, metrics, collector, Notices(redis, settings.redis_prefix),
                      bus.submitter, session=session)
    finally:
        await store.close()
        await redis.aclose()


async def run_monitor(settings: Settings, redis_url: str, stop: asyncio.Event) -> None:
    """Run the monitor's jobs until ``stop`` is set (`archops monitor`, and inside `archops up`)."""
    async with open_monitor(settings, redis_url) as monitor:
        await monitor.run(stop)


async def watch(settings: Settings, project_id: str, *, language: str | None = None,
                timezone: str | None = None, quiet_hours: str | None = None,
                enabled: bool | None = None, inventory_file: str | None = None,
                regions: list[str] | None = None, role_arn: str | None = None,
                slack_channel: str | None = None) -> str:
    """Watch a project (what `archops monitor watch` does; the project is created, or its
    regions, role and channel set, when given); the line it prints."""
    store = await Store.open(settings.effective_database_url)
    try:
        metrics = MetricsStore(store)
        if regions or role_arn or slack_channel:
            await store.upsert_project(project_id, aws_regions=regions or None, aws_role_arn=role_arn,
                                       slack_channel=slack_channel)
        await store.get_project(project_id)
        row = await metrics.watch(project_id, language=language, timezone=timezone,
                                  quiet_hours=quiet_hours, enabled=enabled)
        if inventory_file:
            try:
                data = json.loads(await asyncio.to_thread(Path(inventory_file).read_text))
                inventory = Inventory.model_validate(data)
            except (OSError, ValueError) as exc:
                raise ValidationError(f"{inventory_file} is not an inventory.json: {str(exc)[:200]}",
                                      hint="archops scan --out DIR writes DIR/inventory.json") from exc
            await metrics.set_inventory(project_id, json.loads(inventory.model_dump_json()))
        state = "watched" if row.enabled else "not watched (switched off)"
        return (f"{project_id}: {state}; language {row.language}, time zone {row.timezone}, "
                f"quiet hours {row.quiet_hours or 'none'}")
    finally:
        await store.close()
