"""OpenTelemetry for archops: spans exported to Zipkin, trace context carried in messages.

One trace follows a request from its submitter (Slack, web, CLI) through the ingress stream
to the worker and the events it emits. The submitter puts :func:`inject_context` into the
envelope's ``trace``; the worker opens its span with ``span(..., parent=extract_context(...))``.
With no ``ARCHOPS_ZIPKIN_ENDPOINT`` nothing is exported, but context still flows, so the ids
in logs stay joined up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    format_span_id,
    format_trace_id,
)

from core.errors import ConfigurationError
from core.settings import Settings

_INSTRUMENTATION = "archops"
_provider: TracerProvider | None = None


def setup_tracing(settings: Settings) -> TracerProvider | None:
    """Export spans to ``settings.zipkin_endpoint``; return None (exporting nothing) when unset.

    Call once in a process's composition root; a second call replaces the first provider.
    """
    global _provider
    endpoint = settings.zipkin_endpoint
    if not endpoint:
        return None
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"ARCHOPS_ZIPKIN_ENDPOINT {endpoint!r} is not an http(s) URL",
            hint="e.g. http://zipkin:9411/api/v2/spans",
        )
    shutdown_tracing()
    resource = Resource.create(
        {SERVICE_NAME: settings.service_name, SERVICE_INSTANCE_ID: settings.instance_id}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(ZipkinExporter(endpoint=endpoint, timeout=5)))
    _provider = provider
    # the global provider can be set once per process; later providers serve archops' spans
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)
    return provider


def shutdown_tracing() -> None:
    """Flush spans still in the batch and stop exporting (blocking: call off the event loop)."""
    global _provider
    if _provider is not None:
        provider, _provider = _provider, None
        provider.shutdown()


def _tracer() -> trace.Tracer:
    source = _provider or trace.get_tracer_provider()
    return source.get_tracer(_INSTRUMENTATION)


@contextmanager
def span(
    name: str,
    *,
    parent: Context | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    **attrs: Any,
) -> Iterator[Span]:
    """A span around a block (current for its duration); an exception marks it failed.

    ``parent`` is a context from :func:`extract_context`; without it the span continues the
    current one. Attributes that are None are left out; others become str unless already
    a str, bool, int or float.
    """
    attributes = {
        key: value if isinstance(value, str | bool | int | float) else str(value)
        for key, value in attrs.items()
        if value is not None
    }
    with _tracer().start_as_current_span(
        name, context=parent, kind=kind, attributes=attributes
    ) as current:
        yield current


def inject_context() -> dict[str, str]:
    """The current trace context as message fields (W3C ``traceparent``, ``tracestate``)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(carrier: Mapping[Any, Any] | None) -> Context:
    """The trace context inside message fields; keys and values may be str or bytes.

    Redis returns bytes unless told to decode, and the propagator silently starts a new
    trace on bytes; decoding here keeps the trace whole whichever client read the entry.
    """
    decoded: dict[str, str] = {}
    for key, value in (carrier or {}).items():
        k = key.decode("utf-8", "replace") if isinstance(key, bytes | bytearray) else str(key)
        if isinstance(value, bytes | bytearray):
            decoded[k.lower()] = value.decode("utf-8", "replace")
        elif isinstance(value, str):
            decoded[k.lower()] = value
    return propagate.extract(decoded)


def event_context(trace_id: str | None, span_id: str | None) -> Context | None:
    """The context of the span that emitted an event (its hex ids), to continue its trace
    where the event is delivered (the web stream, the Slack reply); None when it has none."""
    try:
        tid, sid = int(trace_id or "", 16), int(span_id or "", 16)
    except ValueError:
        return None
    if not tid or not sid:
        return None
    parent = SpanContext(tid, sid, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(parent))


@contextmanager
def following(event: Any, name: str, **attrs: Any) -> Iterator[Span | None]:
    """A span continuing the trace of ``event`` (anything with ``trace_id`` and ``span_id``),
    or nothing when the event carries no trace."""
    parent = event_context(getattr(event, "trace_id", None), getattr(event, "span_id", None))
    if parent is None:
        yield None
        return
    with span(name, parent=parent, **attrs) as current:
        yield current


def current_trace_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the current span, for binding into log lines."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format_trace_id(context.trace_id), format_span_id(context.span_id)
