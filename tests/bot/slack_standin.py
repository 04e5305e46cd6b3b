"""A local stand-in for the Slack Web API that answers like Slack on the wire and records calls.

It answers ``POST /api/<method>`` with ``{"ok": true, ...}`` JSON, ``{"ok": false, "error": ...}``
for what Slack refuses, and HTTP 429 with ``Retry-After`` when a test asks for rate limiting.
Messages are kept per channel (with their thread and metadata) so that ``conversations.replies``
and ``conversations.history`` answer from what was posted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER_ID = "UARCHOPS"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float


@dataclass
class SlackStandin:
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # method -> how many of its next calls answer 429, with this Retry-After
    rate_limit: dict[str, tuple[int, int]] = field(default_factory=dict)
    # method -> error code its next call answers with
    fail_next: dict[str, str] = field(default_factory=dict)
    # method -> seconds to wait after doing the work and before answering (a slow network)
    delay: dict[str, float] = field(default_factory=dict)
    # channel -> its members; a channel listed here refuses ephemerals to anyone else
    members: dict[str, set[str]] = field(default_factory=dict)
    # channel -> ephemeral messages (seen by one user only: never in history or replies)
    ephemeral: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Socket Mode: envelopes to send to the connected app, and the acks it sent back
    outbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    acks: list[dict[str, Any]] = field(default_factory=list)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)
        app.router.add_get("/socket", self._socket)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/api/"
        return self.url

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def of(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The calls of ``method`` once there are at least ``count`` of them."""
        deadline = time.monotonic() + timeout
        while len(self.of(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{method}: {len(self.of(method))} calls, wanted {count}: "
                                     f"{[c.method for c in self.calls]}")
            await asyncio.sleep(0.02)
        return self.of(method)

    async def _args(self, request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        args: dict[str, Any] = {}
        for key, value in form.items():
            text = str(value)
            args[key] = json.loads(text) if key in {"blocks", "metadata"} and text else text
        return args

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        token_kind = "Bearer xapp-" if method == "apps.connections.open" else "Bearer xoxb-"
        if not request.headers.get("Authorization", "").startswith(token_kind):
            return web.json_response({"ok": False, "error": "not_authed"})
        limited = self.rate_limit.get(method)
        if limited and limited[0] > 0:
            self.rate_limit[method] = (limited[0] - 1, limited[1])
            self.calls.append(Call(f"{method}:429", args, time.monotonic()))
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(limited[1])})
        self.calls.append(Call(method, args, time.monotonic()))
        if method in self.fail_next:
            return web.json_response({"ok": False, "error": self.fail_next.pop(method)})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        answer = handler(args)
        if method in self.delay:
            await asyncio.sleep(self.delay[method])
        if "error" in answer:
            return web.json_response({"ok": False, **answer})
        return web.json_response({"ok": True, **answer})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's Socket Mode server: hello, then envelopes; the app acks each envelope id."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "standin"}, "connection_info": {"app_id": "A1"}})

        async def send() -> None:
            while True:
                await ws.send_json(await self.outbox.get())

        sender = asyncio.create_task(send())
        try:
            async for message in ws:
                if message.type.name == "TEXT":
                    self.acks.append(json.loads(message.data))
        finally:
            sender.cancel()
        return ws

    # -- methods ---------------------------------------------------------------------------
    def _apps_connections_open(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.url.replace("http://", "ws://").replace("/api/", "/socket")}

    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://example.slack.com/", "team": "Example", "user": "archops",
                "team_id": "T0ARCH", "user_id": BOT_USER_ID, "bot_id": "BARCHOPS"}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args["channel"])
        ts = f"{1700000000 + next(self._ts)}.000100"
        message = {"type": "message", "ts": ts, "text": args.get("text", ""),
                   "blocks": args.get("blocks") or [], "bot_id": "BARCHOPS"}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        self.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args["channel"]), str(args["ts"])
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                message.update(text=args.get("text", ""), blocks=args.get("blocks") or [])
                return {"channel": channel, "ts": ts, "text": message["text"]}
        return {"error": "message_not_found"}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        """As Slack: channel and user required, text (or blocks/attachments) required, the user
        must be in the channel; the message is shown to that user only and never listed."""
        channel, user = str(args.get("channel") or ""), str(args.get("user") or "")
        if not channel:
            return {"error": "channel_not_found"}
        if not user:
            return {"error": "user_not_found"}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"error": "no_text"}
        if len(str(args.get("text") or "")) > 40_000:
            return {"error": "msg_too_long"}
        if channel in self.members and user not in self.members[channel]:
            return {"error": "user_not_in_channel"}
        ts = f"{1700000000 + next(self._ts)}.000200"
        note = {"type": "message", "ts": ts, "user": user, "text": args.get("text", ""),
                "blocks": args.get("blocks") or [], "bot_id": "BARCHOPS"}
        if args.get("thread_ts"):
            note["thread_ts"] = args["thread_ts"]
        self.ephemeral.setdefault(channel, []).append(note)
        return {"message_ts": ts}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        root = str(args["ts"])
        found = [m for m in self.messages.get(str(args["channel"]), [])
                 if m["ts"] == root or m.get("thread_ts") == root]
        return {"messages": [self._with_metadata(m, args) for m in found], "has_more": False}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        found = [m for m in self.messages.get(str(args["channel"]), []) if not m.get("thread_ts")]
        return {"messages": [self._with_metadata(m, args) for m in reversed(found)],
                "has_more": False}

    @staticmethod
    def _with_metadata(message: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        """Slack returns metadata only when asked with include_all_metadata."""
        if str(args.get("include_all_metadata")).lower() in {"true", "1"}:
            return message
        return {k: v for k, v in message.items() if k != "metadata"}
