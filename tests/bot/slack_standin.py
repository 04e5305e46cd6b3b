"""A local stand-in for the Slack Web API that answers like Slack on the wire and records calls.

It answers ``POST /api/<method>`` with ``{"ok": true, ...}`` JSON, ``{"ok": false, "error": ...}``
for what Slack refuses, and HTTP 429 with ``Retry-After`` when a test asks for rate limiting (per
method, or per channel as Slack limits message writes). Messages are kept per channel (with
their thread and metadata) so that ``conversations.replies`` and ``conversations.history``
answer from what was posted. Blocks and views are checked against Block Kit's limits
(:mod:`tests.bot.blockkit_rules`) and refused with ``invalid_blocks`` as Slack does. Modals
(``views.open``/``update``/``push``), App Home (``views.publish``), unfurls (``chat.unfurl``)
and the external file upload flow (``files.getUploadURLExternal``, the upload URL itself,
``files.completeUploadExternal``, ``files.list``) answer as Slack's do.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.bot.blockkit_rules import block_problems, view_problems

BOT_USER_ID = "UARCHOPS"
JSON_FIELDS = {"blocks", "metadata", "view", "unfurls", "files", "attachments"}
# methods that write into a channel: a per-channel rate limit applies to them
CHANNEL_WRITES = {"chat.postMessage", "chat.update", "files.completeUploadExternal"}


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
    # channel -> how many of its next writes answer 429, with this Retry-After (seconds)
    channel_rate_limit: dict[str, tuple[int, float]] = field(default_factory=dict)
    # method -> error code its next call answers with
    fail_next: dict[str, str] = field(default_factory=dict)
    # channel -> error code every write there answers with (channel_not_found, not_in_channel...)
    refuse_channel: dict[str, str] = field(default_factory=dict)
    # method -> seconds to wait after doing the work and before answering (a slow network)
    delay: dict[str, float] = field(default_factory=dict)
    # channel -> its members; a channel listed here refuses ephemerals to anyone else
    members: dict[str, set[str]] = field(default_factory=dict)
    # channel -> ephemeral messages (seen by one user only: never in history or replies)
    ephemeral: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # modals by view id; App Home views by user; unfurls as posted; uploaded files by id
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    home: dict[str, dict[str, Any]] = field(default_factory=dict)
    unfurls: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Socket Mode: envelopes to send to the connected app, and the acks it sent back
    outbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    acks: list[dict[str, Any]] = field(default_factory=list)
    # Block Kit refusals (what was sent, what Slack would say): a test asserts there are none
    refused_blocks: list[tuple[str, list[str]]] = field(default_factory=list)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)
        app.router.add_post("/upload/{file_id}", self._upload)
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

    def cards(self, channel: str) -> list[dict[str, Any]]:
        """archops' cards in ``channel`` (messages it posted with its card metadata)."""
        return [m for m in self.messages.get(channel, [])
                if (m.get("metadata") or {}).get("event_type") == "archops_card"]

    def dm(self, user: str) -> list[dict[str, Any]]:
        return self.messages.get(f"D{user}", [])

    async def _args(self, request: web.Request) -> dict[str, Any]:
        """The call's arguments, from the query string and the body (slack_sdk sends some
        methods' arguments as query parameters of a POST)."""
        fields: dict[str, Any] = dict(request.query)
        if request.method != "GET":
            if request.content_type == "application/json":
                return {**fields, **dict(await request.json())}
            fields.update((await request.post()).items())
        return {key: json.loads(str(value)) if key in JSON_FIELDS and str(value) else str(value)
                for key, value in fields.items()}

    def _limited(self, method: str, args: dict[str, Any]) -> tuple[bool, float]:
        limited = self.rate_limit.get(method)
        if limited and limited[0] > 0:
            self.rate_limit[method] = (limited[0] - 1, limited[1])
            return True, limited[1]
        channel = str(args.get("channel") or args.get("channel_id") or "")
        by_channel = self.channel_rate_limit.get(channel)
        if method in CHANNEL_WRITES and by_channel and by_channel[0] > 0:
            self.channel_rate_limit[channel] = (by_channel[0] - 1, by_channel[1])
            return True, by_channel[1]
        return False, 0

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        token_kind = "Bearer xapp-" if method == "apps.connections.open" else "Bearer xoxb-"
        if not request.headers.get("Authorization", "").startswith(token_kind):
            return web.json_response({"ok": False, "error": "not_authed"})
        limited, retry_after = self._limited(method, args)
        if limited:
            self.calls.append(Call(f"{method}:429", args, time.monotonic()))
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": f"{retry_after:g}"})
        self.calls.append(Call(method, args, time.monotonic()))
        if method in self.fail_next:
            return web.json_response({"ok": False, "error": self.fail_next.pop(method)})
        channel = str(args.get("channel") or args.get("channel_id") or "")
        if method in CHANNEL_WRITES and channel in self.refuse_channel:
            return web.json_response({"ok": False, "error": self.refuse_channel[channel]})
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

    # -- checks as Slack's -----------------------------------------------------------------
    def _blocks_refused(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        if len(str(args.get("text") or "")) > 40_000:
            return {"error": "msg_too_long"}
        if "blocks" not in args or args["blocks"] in (None, ""):
            return None
        problems = block_problems(args["blocks"])
        if problems:
            self.refused_blocks.append((method, problems))
            return {"error": "invalid_blocks", "errors": problems[:10]}
        return None

    def _view_refused(self, method: str, view: Any) -> dict[str, Any] | None:
        problems = view_problems(view)
        if problems:
            self.refused_blocks.append((method, problems))
            return {"error": "invalid_arguments", "response_metadata": {"messages": problems[:10]}}
        return None

    # -- methods ---------------------------------------------------------------------------
    def _apps_connections_open(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.url.replace("http://", "ws://").replace("/api/", "/socket")}

    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://example.slack.com/", "team": "Example", "user": "archops",
                "team_id": "T0ARCH", "user_id": BOT_USER_ID, "bot_id": "BARCHOPS"}

    def _next_ts(self, suffix: str = "000100") -> str:
        return f"{1700000000 + next(self._ts)}.{suffix}"

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        refused = self._blocks_refused("chat.postMessage", args)
        if refused:
            return refused
        channel = str(args.get("channel") or "")
        if not channel:
            return {"error": "channel_not_found"}
        if channel.startswith(("U", "W")):  # a user id: the app's direct message with them
            channel = f"D{channel}"
        ts = self._next_ts()
        message = {"type": "message", "ts": ts, "text": args.get("text", ""),
                   "blocks": args.get("blocks") or [], "bot_id": "BARCHOPS"}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        self.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        refused = self._blocks_refused("chat.update", args)
        if refused:
            return refused
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
        ts = self._next_ts("000200")
        note = {"type": "message", "ts": ts, "user": user, "text": args.get("text", ""),
                "blocks": args.get("blocks") or [], "bot_id": "BARCHOPS"}
        if args.get("thread_ts"):
            note["thread_ts"] = args["thread_ts"]
        self.ephemeral.setdefault(channel, []).append(note)
        return {"message_ts": ts}

    def _chat_unfurl(self, args: dict[str, Any]) -> dict[str, Any]:
        unfurls = args.get("unfurls")
        if not isinstance(unfurls, dict) or not unfurls:
            return {"error": "invalid_unfurls"}
        if not ((args.get("channel") and args.get("ts")) or (args.get("unfurl_id") and args.get("source"))):
            return {"error": "invalid_arguments"}
        for unfurl in unfurls.values():
            problems = block_problems((unfurl or {}).get("blocks") or [], "attachment")
            if problems:
                self.refused_blocks.append(("chat.unfurl", problems))
                return {"error": "invalid_unfurls"}
        self.unfurls.append(args)
        return {}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"error": "invalid_trigger_id"}
        view = args.get("view")
        refused = self._view_refused("views.open", view)
        if refused:
            return refused
        view_id = f"V{next(self._ids):06d}"
        self.views[view_id] = {**view, "id": view_id}
        return {"view": self.views[view_id]}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id") or "")
        if view_id not in self.views:
            return {"error": "not_found"}
        refused = self._view_refused("views.update", args.get("view"))
        if refused:
            return refused
        self.views[view_id] = {**args["view"], "id": view_id}
        return {"view": self.views[view_id]}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._views_open(args)

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id") or "")
        if not user:
            return {"error": "invalid_arguments"}
        view = args.get("view")
        refused = self._view_refused("views.publish", view)
        if refused:
            return refused
        if view.get("type") != "home":
            return {"error": "invalid_arguments"}
        self.home[user] = {**view, "id": f"VH{user}"}
        return {"view": self.home[user]}

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(args.get("length") or 0)
        except ValueError:
            return {"error": "invalid_arguments"}
        if not args.get("filename") or length <= 0:
            return {"error": "invalid_arguments"}
        file_id = f"F{next(self._ids):06d}"
        self.files[file_id] = {"id": file_id, "name": args["filename"], "length": length,
                               "content": None}
        base = self.url.removesuffix("/api/")
        return {"upload_url": f"{base}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: the file's bytes, as the length announced."""
        file = self.files.get(request.match_info["file_id"])
        data = await request.read()
        if file is None:
            return web.Response(status=404, text="not found")
        if len(data) != file["length"]:
            return web.Response(status=400, text="length mismatch")
        file["content"] = data
        return web.Response(text=f"OK - {len(data)}")

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        listed = args.get("files")
        if not isinstance(listed, list) or not listed:
            return {"error": "invalid_arguments"}
        done = []
        for item in listed:
            file = self.files.get(str(item.get("id")))
            if file is None or file["content"] is None:
                return {"error": "file_not_found"}
            file.update(title=item.get("title") or file["name"],
                        permalink=f"https://example.slack.com/files/{BOT_USER_ID}/{file['id']}/{file['name']}",
                        channels=[args["channel_id"]] if args.get("channel_id") else [],
                        size=len(file["content"]), created=int(time.time()))
            done.append({k: v for k, v in file.items() if k != "content"})
        channel = str(args.get("channel_id") or "")
        if channel:
            message = {"type": "message", "ts": self._next_ts(), "text": args.get("initial_comment") or "",
                       "files": done, "bot_id": "BARCHOPS", "upload": True}
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            self.messages.setdefault(channel, []).append(message)
        return {"files": done}

    def _files_list(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        found = [{k: v for k, v in f.items() if k != "content"} for f in self.files.values()
                 if f.get("permalink") and (not channel or channel in f.get("channels", []))]
        return {"files": found, "paging": {"count": len(found), "total": len(found), "page": 1,
                                           "pages": 1}}

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
