"""`archops doctor` names the engine and makes one cheap call; the request's trace span carries
the model accounting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core import tracing
from tests.agents.conftest import Recorder, text
from tests.doctor.test_doctor import _checks, _doctor
from tests.llm import model
from tests.llm.conftest import llm_settings
from tests.llm.standin import OpenAIStandIn


@pytest.fixture
def threaded_standin() -> Iterator[OpenAIStandIn]:
    server = OpenAIStandIn(model.answer).start_in_thread()
    yield server
    server.stop_thread()


def test_doctor_says_the_offline_engine_answers_when_no_model_is_set(env: pytest.MonkeyPatch) -> None:
    code, out = _doctor("--json")
    llm = _checks(out)["llm"]
    assert code == 0 and llm["status"] == "ok" and "the offline engine" in llm["detail"]
    assert llm["data"]["engine"] == "offline"


def test_doctor_tests_the_model_endpoint_with_one_cheap_call(env: pytest.MonkeyPatch, threaded_standin: OpenAIStandIn) -> None:
    env.setenv("ARCHOPS_OPENAI_BASE_URL", threaded_standin.base_url)
    env.setenv("ARCHOPS_OPENAI_MODEL", "standin-model")
    env.setenv("ARCHOPS_OPENAI_API_KEY", threaded_standin.api_key)
    code, out = _doctor("--json")
    llm = _checks(out)["llm"]
    assert llm["status"] == "ok" and "engine: llm" in llm["detail"] and "standin-model" in llm["detail"]
    (call,) = threaded_standin.calls
    assert call.body["max_tokens"] == 1 and call.body["model"] == "standin-model"
    assert threaded_standin.api_key not in out
    # a wrong key: the endpoint's own answer, and still no key in sight
    env.setenv("ARCHOPS_OPENAI_API_KEY", "sk-doctor-wrong-key-0123456789")
    _code, out = _doctor("--json")
    llm = _checks(out)["llm"]
    assert llm["status"] == "error" and "401" in llm["detail"] and "Incorrect API key" in llm["detail"]
    assert "sk-doctor-wrong-key-0123456789" not in out


def test_doctor_tests_an_azure_deployment(env: pytest.MonkeyPatch, threaded_standin: OpenAIStandIn) -> None:
    env.setenv("ARCHOPS_AZURE_OPENAI_ENDPOINT", threaded_standin.azure_endpoint)
    env.setenv("ARCHOPS_AZURE_OPENAI_DEPLOYMENT", "archops-gpt")
    env.setenv("ARCHOPS_OPENAI_API_KEY", threaded_standin.api_key)
    _code, out = _doctor("--json")
    llm = _checks(out)["llm"]
    assert llm["status"] == "ok" and "Azure OpenAI deployment archops-gpt" in llm["detail"]
    assert threaded_standin.calls[0].path.startswith("/openai/deployments/archops-gpt/chat/completions?api-version=")


def test_doctor_refuses_an_endpoint_without_a_model(env: pytest.MonkeyPatch, threaded_standin: OpenAIStandIn) -> None:
    env.setenv("ARCHOPS_OPENAI_BASE_URL", threaded_standin.base_url)
    _code, out = _doctor("--json")
    llm = _checks(out)["llm"]
    assert llm["status"] == "error" and "ARCHOPS_OPENAI_MODEL" in llm["fix"] and threaded_standin.calls == []


async def test_the_request_span_carries_calls_tokens_latency_and_model(standin, make_handler, monkeypatch) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_provider", provider)
    async with make_handler(llm_settings(standin)) as handler:
        ctx = Recorder(text("tr-1", "a static website for acme.io in dev", non_interactive=True))
        with tracing.span("worker.request", request_id=ctx.envelope.request_id):
            await handler(ctx)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    request = spans["worker.request"].attributes or {}
    llm = ctx.last[2]["llm"]
    assert request["llm.calls"] == llm["calls"] == len(standin.calls)
    assert request["llm.tokens_in"] == llm["tokens_in"] > 0 and request["llm.tokens_out"] == llm["tokens_out"] > 0
    assert request["llm.model"] == "standin-model" and request["llm.latency_ms"] > 0
    calls = [s for s in exporter.get_finished_spans() if s.name == "llm.call"]
    assert len(calls) == len(standin.calls)
    assert all(s.parent is not None and s.context.trace_id == spans["worker.request"].context.trace_id for s in calls)
    assert {(s.attributes or {})["step"] for s in calls} >= {"route", "extract"}
