"""One trace from the web submit, through the stream, to the worker and the events it emits."""

from __future__ import annotations

import asyncio

from aiohttp import ClientSession

from agents.process import RecordingHandler
from core.bus import EventLog, Worker
from core.settings import Settings
from core.store import Store
from core.tracing import setup_tracing, shutdown_tracing
from tests.tracing.zipkin_standin import ZipkinStandIn


async def test_submit_worker_and_events_share_one_trace(redis, keys, make_server, tmp_path,
                                                        cli_headers):
    zipkin = await ZipkinStandIn().start()
    store = await Store.open(f"sqlite:///{tmp_path / 'archops.sqlite3'}")
    stop = asyncio.Event()
    try:
        setup_tracing(Settings(zipkin_endpoint=zipkin.endpoint, instance_id="t"))
        server = await make_server("web-a")

        async def agent(ctx):
            await ctx.emit("done", "ok")

        events = EventLog(redis, keys)
        worker = Worker(redis, keys, RecordingHandler(store, agent), events, lease_ttl_ms=1000)
        running = asyncio.create_task(worker.run(stop))
        async with ClientSession(headers=cli_headers) as session:
            async with session.post(str(server.make_url("/api/messages")),
                                    json={"conversation_id": "c-t", "text": "hello"}) as resp:
                request_id = (await resp.json())["request_id"]
        async with asyncio.timeout(10):
            while not (done := [e for e in await events.read("c-t") if e.type == "done"]):
                await asyncio.sleep(0.05)
        stop.set()
        await running
        await asyncio.to_thread(shutdown_tracing)
        spans = {s["name"]: s for s in await zipkin.wait_for(2)}
        submit, work = spans["web.submit"], spans["worker.request"]
        assert submit["traceId"] == work["traceId"] == done[0].trace_id
        assert work["parentId"] == submit["id"]
        assert work["tags"]["request_id"] == request_id
        recorded = await store.get_request(request_id)
        assert recorded.status == "done" and recorded.trace_id == submit["traceId"]
    finally:
        stop.set()
        await asyncio.to_thread(shutdown_tracing)
        await store.close()
        await zipkin.stop()
