"""The model client: langchain-openai's ChatOpenAI or AzureChatOpenAI, streamed, with archops'
own timeouts and retries.

    client = ModelClient.from_settings(settings)
    reply, calls = await client.complete(messages, name="route", schema={...}, on_text=emit)

* Every answer is streamed (``stream=true``, usage in the last chunk); ``on_text`` receives the
  text as it arrives: message content, or the arguments of the forced tool call when structured
  answers are asked for as tools (``ARCHOPS_OPENAI_OUTPUT=tools``).
* A call has one deadline from connect to last token (``openai_timeout_s``).
* A 429, a 5xx, a timeout or a dropped connection is retried up to ``openai_max_retries``
  times with exponential backoff and jitter; a ``Retry-After`` (or ``retry-after-ms``) header
  is honoured, capped at ``openai_retry_max_s``. Other 4xx (a bad key, a refused request) are
  not retried. The SDK's own retries are off so that each HTTP request is counted.
* What fails for good raises :class:`ModelError` with its kind; the engine then falls back to
  the offline engine for that step.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import openai
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage

from agents.llm.accounting import CallRecord
from core.logging import get_logger
from core.settings import Settings

log = get_logger(__name__)
OnText = Callable[[str], Awaitable[None]]
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class ModelError(Exception):
    """The model could not answer: ``kind`` is rate_limited, server, timeout, connection,
    auth or bad_request."""

    def __init__(self, kind: str, message: str, calls: list[CallRecord] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        # every HTTP request made before giving up (they are accounted for too)
        self.calls = list(calls or [])


@dataclass(frozen=True)
class Reply:
    text: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: float


def build_chat(settings: Settings) -> tuple[BaseChatModel, str]:
    """The LangChain chat model the settings describe, and the model's name for accounting."""
    from langchain_openai import AzureChatOpenAI, ChatOpenAI

    key = settings.openai_api_key
    common: dict[str, Any] = {
        "timeout": settings.openai_timeout_s,
        "max_retries": 0,
        "stream_usage": True,
        "max_tokens": settings.openai_max_output_tokens,
    }
    if settings.openai_temperature is not None:
        common["temperature"] = settings.openai_temperature
    if settings.llm_kind == "azure":
        deployment = str(settings.azure_openai_deployment)
        chat: BaseChatModel = AzureChatOpenAI(
            azure_endpoint=settings.azure_openai_endpoint,
            azure_deployment=deployment,
            api_version=settings.azure_openai_api_version,
            api_key=key,
            model=settings.openai_model or deployment,
            **common,
        )
        return chat, settings.openai_model or deployment
    model = str(settings.openai_model)
    chat = ChatOpenAI(
        model=model,
        base_url=settings.openai_base_url,
        # a local server (vLLM, Ollama) may need no key; the SDK insists on one
        api_key=key if key is not None else "unused",  # type: ignore[arg-type]
        use_responses_api=False,
        **common,
    )
    return chat, model


class ModelClient:
    def __init__(
        self,
        chat: BaseChatModel,
        model: str,
        *,
        output: str = "json_schema",
        timeout_s: float = 60.0,
        max_retries: int = 3,
        retry_max_s: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.chat = chat
        self.model = model
        self.output = output
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.retry_max_s = retry_max_s
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelClient:
        chat, model = build_chat(settings)
        return cls(chat, model, output=settings.openai_output, timeout_s=settings.openai_timeout_s,
                   max_retries=settings.openai_max_retries, retry_max_s=settings.openai_retry_max_s)

    async def complete(
        self,
        messages: list[BaseMessage],
        *,
        name: str,
        schema: dict[str, Any] | None = None,
        on_text: OnText | None = None,
    ) -> tuple[Reply, list[CallRecord]]:
        """One answer (retried as the module says); every HTTP request made, as records."""
        calls: list[CallRecord] = []
        for attempt in range(self.max_retries + 1):
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout_s):
                    reply = await self._stream(messages, name, schema, on_text, started)
            except ModelError as exc:
                calls.append(CallRecord(name, self.model, latency_ms=_ms(started), status=exc.kind))
                raise ModelError(exc.kind, str(exc), calls) from exc
            except TimeoutError:
                calls.append(CallRecord(name, self.model, latency_ms=_ms(started), status="timeout"))
                error = ModelError("timeout", f"no complete answer within {self.timeout_s:g} s")
                wait = self._backoff(attempt, None)
            except openai.APIStatusError as exc:
                kind = _status_kind(exc.status_code)
                calls.append(CallRecord(name, self.model, latency_ms=_ms(started), status=kind))
                error = ModelError(kind, f"the model endpoint answered {exc.status_code}: {_message(exc)}")
                if exc.status_code not in RETRYABLE_STATUS:
                    error.calls = calls
                    raise error from exc
                wait = self._backoff(attempt, exc.response.headers if exc.response is not None else None)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection"
                calls.append(CallRecord(name, self.model, latency_ms=_ms(started), status=kind))
                error = ModelError(kind, f"the model endpoint could not be reached: {exc}")
                wait = self._backoff(attempt, None)
            else:
                calls.append(CallRecord(name, reply.model, reply.tokens_in, reply.tokens_out, reply.latency_ms))
                return reply, calls
            if attempt == self.max_retries:
                error.calls = calls
                raise error
            log.info("model_retry", step=name, kind=error.kind, wait_s=round(wait, 2), attempt=attempt + 1)
            await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _stream(
        self,
        messages: list[BaseMessage],
        name: str,
        schema: dict[str, Any] | None,
        on_text: OnText | None,
        started: float,
    ) -> Reply:
        runnable: Any = self.chat
        kwargs: dict[str, Any] = {}
        tools = schema is not None and self.output == "tools"
        if schema is not None and tools:
            runnable = self.chat.bind_tools(  # type: ignore[call-arg]
                [{"type": "function", "function": {"name": name, "description": schema.get("description", name), "parameters": schema}}],
                tool_choice={"type": "function", "function": {"name": name}},  # type: ignore[arg-type]
            )
        elif schema is not None:
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}}
        total: AIMessageChunk | None = None
        async for chunk in runnable.astream(messages, **kwargs):
            if not isinstance(chunk, AIMessageChunk):
                continue
            piece = "".join(str(c.get("args") or "") for c in chunk.tool_call_chunks) if tools else _text(chunk)
            if piece and on_text is not None:
                await on_text(piece)
            total = chunk if total is None else total + chunk
        if total is None:
            raise ModelError("server", "the model endpoint sent no answer")
        text = "".join(str(c.get("args") or "") for c in total.tool_call_chunks) if tools else _text(total)
        usage: dict[str, Any] = dict(total.usage_metadata or {})
        model = str((total.response_metadata or {}).get("model_name") or self.model)
        return Reply(text, model, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)), _ms(started))

    def _backoff(self, attempt: int, headers: Any) -> float:
        """Seconds to wait before the next try: the server's Retry-After when it says, else
        exponential backoff with full jitter; never more than ``retry_max_s``."""
        told = retry_after(headers)
        if told is not None:
            return min(told, self.retry_max_s)
        return min(self.retry_max_s, random.uniform(0, 0.5 * 2 ** attempt))  # noqa: S311 - jitter


def retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        if when is None:
            return None
        return max(0.0, when.timestamp() - time.time())


def _text(chunk: AIMessageChunk) -> str:
    content = chunk.content
    if isinstance(content, str):
        return content
    return "".join(str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content)


def _status_kind(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth"
    if status >= 500 or status in (408, 409):
        return "server"
    return "bad_request"


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body) if isinstance(body, dict) else {}
    text = inner.get("message") if isinstance(inner, dict) else None
    return str(text or exc.message)[:300]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
