"""One trace from submitter to worker, as Zipkin receives it."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import ConfigurationError
from core.settings import Settings
from core.tracing import (
    current_trace_ids,
    extract_context,
    inject_context,
    setup_tracing,
    shutdown_tracing,
    span,
)
from tests.tracing.zipkin_standin import ZipkinStandIn


@pytest.fixture
async def zipkin():
    standin = await ZipkinStandIn().start()
    yield standin
    await asyncio.to_thread(shutdown_tracing)  # the exporter posts from its own thread
    await standin.stop()


def _settings(**kw) -> Settings:
    return Settings(service_name="archops-test", instance_id="test-1", **kw)


async def test_a_trace_spans_submitter_and_worker(zipkin: ZipkinStandIn) -> None:
    assert setup_tracing(_settings(zipkin_endpoint=zipkin.endpoint)) is not None

    with span("chat.submit", conversation_id="conv-1", attempts=None) as submit:
        fields = inject_context()  # what the submitter puts into the stream entry
        trace_id, span_id = current_trace_ids()
    assert fields["traceparent"].split("-")[1:3] == [trace_id, span_id]

    # the worker reads the entry as bytes (decode_responses=False)
    as_read = {k.encode(): v.encode() for k, v in fields.items()}
    with span("worker.handle", parent=extract_context(as_read), partition=3):
        assert current_trace_ids()[0] == trace_id
    assert submit.get_span_context().trace_id == int(trace_id, 16)

    await asyncio.to_thread(shutdown_tracing)
    spans = {s["name"]: s for s in await zipkin.wait_for(2)}
    assert set(spans) == {"chat.submit", "worker.handle"}
    assert spans["chat.submit"]["traceId"] == spans["worker.handle"]["traceId"] == trace_id
    assert spans["worker.handle"]["parentId"] == spans["chat.submit"]["id"] == span_id
    assert "parentId" not in spans["chat.submit"]
    assert spans["worker.handle"]["tags"]["partition"] == "3"
    assert spans["chat.submit"]["tags"]["conversation_id"] == "conv-1"
    assert "attempts" not in spans["chat.submit"]["tags"]
    assert spans["chat.submit"]["localEndpoint"]["serviceName"] == "archops-test"


async def test_a_failing_block_is_exported_as_an_error(zipkin: ZipkinStandIn) -> None:
    setup_tracing(_settings(zipkin_endpoint=zipkin.endpoint))
    with pytest.raises(RuntimeError), span("terraform.validate"):
        raise RuntimeError("provider schema missing")
    await asyncio.to_thread(shutdown_tracing)
    (exported,) = await zipkin.wait_for(1)
    assert exported["tags"]["otel.status_code"] == "ERROR"
    assert "provider schema missing" in exported["tags"]["error"]


async def test_without_an_endpoint_nothing_is_exported_but_context_still_flows() -> None:
    assert setup_tracing(_settings(zipkin_endpoint=None)) is None
    assert current_trace_ids() is None
    incoming = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    with span("worker.handle", parent=extract_context(incoming)):
        assert current_trace_ids()[0] == "0af7651916cd43dd8448eb211c80319c"
        assert inject_context()["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")


def test_a_missing_or_garbled_carrier_starts_a_new_trace() -> None:
    for carrier in (None, {}, {b"traceparent": b"garbage"}, {"traceparent": 7}):
        with span("worker.handle", parent=extract_context(carrier)):
            ids = current_trace_ids()
            assert ids is None or ids[0] != "0af7651916cd43dd8448eb211c80319c"


def test_an_endpoint_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not an http"):
        setup_tracing(_settings(zipkin_endpoint="zipkin:9411"))


async def test_an_unreachable_collector_does_not_break_the_work() -> None:
    setup_tracing(_settings(zipkin_endpoint="http://127.0.0.1:1/api/v2/spans"))
    with span("chat.submit"):
        pass
    await asyncio.to_thread(shutdown_tracing)  # logs the failed export, raises nothing


async def test_an_edge_delivering_an_event_continues_the_trace_that_emitted_it(
    zipkin: ZipkinStandIn,
) -> None:
    from core.events import Event
    from core.tracing import following

    setup_tracing(_settings(zipkin_endpoint=zipkin.endpoint))
    with span("worker.request"):
        trace_id, span_id = current_trace_ids()
        event = Event(type="done", conversation_id="c", trace_id=trace_id, span_id=span_id)
    with following(event, "web.stream.deliver", client="k1") as delivered:
        assert delivered is not None
    with following(Event(type="done", conversation_id="c"), "web.stream.deliver") as nothing:
        assert nothing is None  # an event without a trace starts none
    await asyncio.to_thread(shutdown_tracing)
    spans = {s["name"]: s for s in await zipkin.wait_for(2)}
    assert spans["web.stream.deliver"]["traceId"] == trace_id
    assert spans["web.stream.deliver"]["parentId"] == span_id
