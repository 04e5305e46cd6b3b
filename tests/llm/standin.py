"""A local OpenAI-compatible chat completions server, for the model engine's tests and bench.

It answers as the real API does on the wire: ``POST /v1/chat/completions`` (and Azure's
``/openai/deployments/{name}/chat/completions?api-version=``) with a ``chat.completion`` object,
or with ``chat.completion.chunk`` server-sent events ending in ``data: [DONE]`` when the body
says ``stream: true`` (usage in a last chunk when ``stream_options.include_usage``); a
structured answer as message content (``response_format: json_schema``) or as a tool call
(``tools`` with ``tool_choice``); errors as ``{"error": {...}}`` with their status (401 without
the key, 400 for a body the API refuses, 429 with ``Retry-After``). ``GET /v1/models`` lists
the model.

What it answers is scripted per step (the schema's or tool's name): a queue of :class:`Reply`
per step, then a default answer. Every request is recorded (path, headers, body, time) so a test
can read what archops sent.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    """One answer: ``content`` (JSON text or plain text), or an error ``status``."""

    content: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""
    # seconds to wait before answering (longer than archops' timeout: a timeout)
    delay_s: float = 0.0
    # characters per streamed chunk
    chunk: int = 7

    @classmethod
    def json(cls, value: Any, **kw: Any) -> Reply:
        return cls(content=json.dumps(value), **kw)


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float
    step: str

    @property
    def prompt(self) -> str:
        """Every message's text, joined: what the model was shown."""
        return "\n".join(str(m.get("content") or "") for m in self.body.get("messages", []))


Answer = Callable[[str, dict[str, Any]], Reply]


def _step(body: dict[str, Any]) -> str:
    fmt = body.get("response_format") or {}
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return str((fmt.get("json_schema") or {}).get("name", ""))
    tools = body.get("tools") or []
    if tools:
        return str(tools[0].get("function", {}).get("name", ""))
    # a plain-text answer: the step archops names in its prompt (for scripting only)
    for message in body.get("messages") or []:
        found = re.match(r"Step: (\w+)", str(message.get("content") or ""))
        if found:
            return found.group(1)
    return ""


def _tokens(text: str) -> int:
    """About four characters a token, as the tokenizers of English text average."""
    return max(1, len(text) // 4)


class OpenAIStandIn:
    def __init__(self, answer: Answer | None = None, *, api_key: str = "sk-standin-key-0123456789",
                 model: str = "standin-model") -> None:
        self.answer = answer or (lambda step, body: Reply.json({}))
        self.api_key = api_key
        self.model = model
        self.script: dict[str, list[Reply]] = {}
        self.calls: list[Call] = []
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- life ----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def queue(self, step: str, *replies: Reply) -> None:
        """Answer the next requests of ``step`` with ``replies``, in order."""
        self.script.setdefault(step, []).extend(replies)

    def of(self, step: str) -> list[Call]:
        return [c for c in self.calls if c.step == step]

    async def start(self) -> OpenAIStandIn:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._azure)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def start_in_thread(self) -> OpenAIStandIn:
        """Serve from a thread of its own (for callers that block, such as ``archops doctor``)."""
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # -- the API -------------------------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, azure=False)) is not None:
            return denied
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "standin"}]})

    async def _azure(self, request: web.Request) -> web.StreamResponse:
        if "api-version" not in request.query:
            return _error(404, "Resource not found", "404")
        return await self._serve(request, azure=True)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, azure=False)

    def _auth(self, request: web.Request, *, azure: bool) -> web.Response | None:
        if azure:
            ok = request.headers.get("api-key") == self.api_key
        else:
            ok = request.headers.get("Authorization") == f"Bearer {self.api_key}"
        if not ok:
            return _error(401, "Incorrect API key provided.", "invalid_api_key", "invalid_request_error")
        return None

    async def _serve(self, request: web.Request, *, azure: bool) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.", None, "invalid_request_error")
        step = _step(body)
        self.calls.append(Call(request.path_qs, dict(request.headers), body, time.monotonic(), step))
        if (denied := self._auth(request, azure=azure)) is not None:
            return denied
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(400, "'messages' is a required property", None, "invalid_request_error")
        if not azure and not body.get("model"):
            return _error(400, "you must provide a model parameter", None, "invalid_request_error")
        queued = self.script.get(step) or []
        reply = queued.pop(0) if queued else self.answer(step, body)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            return _error(reply.status, reply.error or "error", None, "rate_limit_exceeded" if reply.status == 429 else "server_error", reply.headers)
        model = body.get("model") or request.match_info.get("deployment", self.model)
        prompt_tokens = _tokens(json.dumps(body.get("messages")))
        completion_tokens = _tokens(reply.content)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}
        as_tool = bool(body.get("tools"))
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": None if as_tool else reply.content}
            if as_tool:
                message["tool_calls"] = [{"id": "call_1", "type": "function", "function": {"name": step, "arguments": reply.content}}]
            return web.json_response({
                "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if as_tool else "stop"}],
                "usage": usage,
            })
        out = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await out.prepare(request)

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": int(time.time()), "model": model, "choices": choices, **extra}
            await out.write(f"data: {json.dumps(chunk)}\n\n".encode())

        text = reply.content
        pieces = [text[i:i + reply.chunk] for i in range(0, len(text), reply.chunk)] or [""]
        for n, piece in enumerate(pieces):
            if as_tool:
                call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
                if n == 0:
                    call.update(id="call_1", type="function")
                    call["function"]["name"] = step
                delta: dict[str, Any] = {"tool_calls": [call]}
            else:
                delta = {"content": piece}
            if n == 0:
                delta["role"] = "assistant"
            await send([{"index": 0, "delta": delta, "finish_reason": None}])
        await send([{"index": 0, "delta": {}, "finish_reason": "tool_calls" if as_tool else "stop"}])
        if (body.get("stream_options") or {}).get("include_usage"):
            await send([], usage=usage)
        await out.write(b"data: [DONE]\n\n")
        await out.write_eof()
        return out


def _error(status: int, message: str, code: str | None, kind: str = "invalid_request_error",
           headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "param": None, "code": code}},
                             status=status, headers=headers or {})
