"""`archops up`: everything on embedded defaults, in one process.

Starts (or uses) Redis, migrates the database, runs a worker and the web app, and prints where to
go. Ctrl-C stops the web app, lets the worker finish what it holds, then stops Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys

from cli import runtime
from core.datadir import write_private
from core.logging import get_logger
from core.redis_server import without_password
from core.settings import Settings
from core.tracing import setup_tracing, shutdown_tracing

HELP = ("run archops on embedded defaults: Redis, database, a worker, the monitor and the web app "
        "(and the Slack edge when Slack is configured)")
log = get_logger("archops.up")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="web address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="web port (default 8080; 0 picks a free one)")
    parser.add_argument("--workers", type=int, default=1, help="worker loops in this process")


def state_file(settings: Settings):  # type: ignore[no-untyped-def]
    return settings.data_dir / "up.json"


async def serve(settings: Settings, redis_url: str, workers: int, stop: asyncio.Event) -> int:
    from agents.process import run_worker
    from monitor.service import run_monitor
    from web.service import run_web, sign_in_url

    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    web_stop, worker_stop = asyncio.Event(), asyncio.Event()
    web_task = asyncio.create_task(run_web(settings, redis_url, web_stop, ready))
    worker_tasks = [
        asyncio.create_task(run_worker(settings.model_copy(update={
            "instance_id": f"{settings.instance_id}-{i}"}), redis_url, worker_stop))
        for i in range(workers)
    ]
    done, _ = await asyncio.wait({web_task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if web_task in done:  # the web app could not start (port taken...)
        worker_stop.set()
        await asyncio.gather(*worker_tasks, return_exceptions=True)
        web_task.result()
        return 1
    url = ready.result()
    write_private(state_file(settings), json.dumps(
        {"url": url, "pid": os.getpid(), "redis": without_password(redis_url)}))
    sign_in = await sign_in_url(settings, redis_url, url)  # works once: opens a session
    repository = await default_repository(settings)
    print(f"archops is up: {url}\n  designs become pull requests: {repository}\n"
          f"  open the web chat (link works once):  {sign_in}\n"
          f"  chat from a terminal:  archops chat\n"
          f"  API: POST {url}/api/messages, events at {url}/api/conversations/ID/events\n"
          f"  data: {settings.data_dir}\n  Ctrl-C stops everything.", flush=True)
    # the monitor's jobs: idle until a project is watched (archops monitor watch)
    monitor_task = asyncio.create_task(run_monitor(settings, redis_url, worker_stop))
    everything = {web_task, *worker_tasks, monitor_task}
    if settings.slack_bot_token and settings.slack_signing_secret:
        from bot.service import run_bot
        from cli.slack_hooks import slack_hooks

        bot_ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        bot_task = asyncio.create_task(run_bot(settings, redis_url, web_stop, bot_ready,
                                               hooks=slack_hooks(settings, redis_url=redis_url)))
        everything.add(bot_task)  # a bot that fails to start stops everything below
        await asyncio.wait({bot_task, bot_ready}, return_when=asyncio.FIRST_COMPLETED)
        if bot_ready.done():
            print(f"  Slack events: {bot_ready.result()}", flush=True)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({stopping, *everything}, return_when=asyncio.FIRST_COMPLETED)
    print("stopping...", file=sys.stderr, flush=True)
    web_stop.set()
    worker_stop.set()
    results = await asyncio.gather(*everything, return_exceptions=True)
    stopping.cancel()
    with contextlib.suppress(FileNotFoundError):
        state_file(settings).unlink()
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:
        log.error("component failed", error=repr(failure))
    return 1 if failures else 0


async def default_repository(settings: Settings) -> str:
    """The default project (created on first start) and where its designs' branches go."""
    from core.codehost.hosts import Hosts
    from core.projects import Projects
    from core.store import Store

    store = await Store.open(settings.effective_database_url)
    try:
        hosts = Hosts(settings, store)
        project = await Projects(store, hosts).ensure_default()
    finally:
        await store.close()
    if project.github_repo:
        return f"{hosts.github_web}/{project.github_repo} (project {project.id})"
    return (f"git clone {hosts.local_path(project.id)}  (project {project.id}: a branch "
            f"archops/{project.id}/... per conversation)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    settings.web_host = args.host or settings.web_host
    settings.web_port = args.port if args.port is not None else settings.web_port
    runtime.private_data_dir(settings)
    redis_url, embedded = runtime.redis_for(settings, embed=True)
    if embedded:
        print(f"started redis-server {embedded.url} (AOF in {embedded.data_dir})", flush=True)
    setup_tracing(settings)
    try:
        return runtime.run(lambda stop: serve(settings, redis_url, args.workers, stop))
    finally:
        shutdown_tracing()
        if embedded:
            embedded.stop()
