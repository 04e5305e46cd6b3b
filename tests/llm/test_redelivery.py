"""Effect once includes model calls: a request delivered again (its worker failed mid-request)
replays the recorded answers through the bus' record, so it pays for no call twice, answers the
same and repeats no event. Against a real redis-server and the real ingress worker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agents.handler import AgentHandler
from core.bus import EventLog, Keys, Submitter, Worker
from core.envelope import Envelope
from core.offload import in_thread
from tests.llm.conftest import FAST_CHECKS, llm_settings

pytestmark = pytest.mark.serial  # lease timings: run alone, after the parallel part

REQUEST = "a SaaS web app with Postgres for app.acme.io in eu-west-1, production"


async def test_a_redelivered_request_makes_its_model_calls_once(standin, redis, prefix, tmp_path: Path) -> None:
    keys = Keys(prefix, partitions=2)
    submitter = Submitter(redis, keys)
    await submitter.ensure_groups()
    events = EventLog(redis, keys)
    calls_at_crash: list[int] = []

    async def dies_once(fn: Any, *args: Any) -> Any:
        """The worker's CPU pool, which fails the first time (after the model steps)."""
        if not calls_at_crash:
            calls_at_crash.append(len(standin.calls))
            raise RuntimeError("the worker's pool died mid-request")
        return await in_thread(fn, *args)

    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "state.sqlite3")) as saver:
        agent = AgentHandler(saver, llm_settings(standin), review_checks=FAST_CHECKS, offload=dies_once)
        worker = Worker(redis, keys, agent, events, lease_ttl_ms=1000, retry_backoff_s=0.05, max_deliveries=3)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            env = Envelope(conversation_id="rd-1", source="cli", user="u1", text=REQUEST, non_interactive=True)
            accepted = await submitter.submit(env)
            async with asyncio.timeout(60):
                while not any(e.type == "done" for e in await events.read("rd-1")):
                    await asyncio.sleep(0.1)
        finally:
            stop.set()
            await running
    stream = await events.read("rd-1")
    record = await redis.hgetall(keys.request(accepted.request_id))
    # delivered twice (a delivery cut short by a lost lease, the worker being slow, is forgiven)
    assert int(record["attempts"]) - int(record.get("forgiven") or 0) == 2
    assert calls_at_crash and calls_at_crash[0] >= 3  # route, extract, questions/params were answered
    # the second delivery sent nothing more to the model: every answer came from the record
    assert len(standin.calls) == calls_at_crash[0]
    assert sum(1 for f in record if f.startswith("fx:llm:")) == calls_at_crash[0]
    # one reply, no event twice, and the reply says what the model calls cost (paid once)
    kinds = [e.type for e in stream if e.type != "token"]
    assert kinds.count("done") == 1 and kinds.count("artifact") == 2
    statuses = [e.text for e in stream if e.type == "status"]
    assert len(statuses) == len(set(statuses))
    done = next(e for e in stream if e.type == "done")
    assert done.data["llm"]["calls"] == calls_at_crash[0] and done.data["llm"]["replayed"] == calls_at_crash[0]
    # the tokens the model streamed were streamed once
    streamed = "".join(e.text or "" for e in stream if e.type == "token")
    assert streamed.count('"route"') == 1
