"""`archops chat`: a terminal client for a running `archops up` (or `archops web`).

It goes through the same pipeline as Slack and the web page: POST the message, follow the
conversation's SSE events, answer questions by number. With a MESSAGE it sends that one message,
prints the conversation until archops is done or asks something, and exits (for scripts; with
``--non-interactive`` archops takes its defaults instead of asking).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from core.errors import Forbidden, ServiceUnavailable, ValidationError
from core.settings import Settings
from web.auth import read_cli_token
from web.sse import parse_sse

HELP = "chat with archops from the terminal (needs `archops up` running)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("message", nargs="?", help="send this one message, print the answer, exit")
    parser.add_argument("--url", help="archops web URL (default: the running `archops up`)")
    parser.add_argument("--conversation", help="continue this conversation id")
    parser.add_argument("--answer", metavar="CHOICE",
                        help="answer the question archops asked last in --conversation "
                             "(its number, value or label), then go on as with a MESSAGE")
    parser.add_argument("--non-interactive", action="store_true",
                        help="never ask: archops takes the default of every question")
    parser.add_argument("--out", type=Path, help="write produced files (Terraform) into DIR")
    parser.add_argument("--json", action="store_true", help="print raw events as JSON lines")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait per message")
    parser.add_argument("--sign-in", action="store_true",
                        help="print a new one-time link that opens the web chat, and exit")


def base_url(args: argparse.Namespace, settings: Settings) -> str:
    if args.url:
        return args.url.rstrip("/")
    state = settings.data_dir / "up.json"
    if state.exists():
        try:
            return str(json.loads(state.read_text())["url"]).rstrip("/")
        except (ValueError, KeyError):
            pass
    return f"http://{settings.web_host}:{settings.web_port}"


class Printer:
    """Renders events for a person: a spinner while work runs, questions as numbered choices."""

    def __init__(self, out: TextIO, as_json: bool, files_dir: Path | None,
                 base_url: str = "") -> None:
        self.out = out
        self.base_url = base_url.rstrip("/")
        self.as_json = as_json
        self.files_dir = files_dir
        self.tty = out.isatty()
        self.spinner = itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
        self.status = ""
        self.streaming = False

    def _clear(self) -> None:
        if self.tty and self.status:
            self.out.write("\r\033[K")

    def tick(self) -> None:
        if self.tty and self.status and not self.streaming:
            self.out.write(f"\r\033[K{next(self.spinner)} {self.status}")
            self.out.flush()

    def show(self, event: dict[str, Any]) -> None:
        if self.as_json:
            print(json.dumps(event), file=self.out, flush=True)
            return
        kind, text, data = event["type"], event.get("text") or "", event.get("data") or {}
        if kind == "token":
            self._clear()
            self.streaming = True
            self.out.write(text)
        else:
            if self.streaming:
                self.out.write("\n")
                self.streaming = False
            self._clear()
            if kind == "status":
                self.status = text
                if not self.tty:
                    print(f"... {text}", file=self.out)
            elif kind == "artifact":
                self._artifact(text, data)
            elif kind == "question":
                self._question(data.get("question") or {}, text)
            elif kind == "error":
                print(f"error: {text}", file=self.out)
            elif kind == "done":
                print(text or "done.", file=self.out)
        self.out.flush()

    def _artifact(self, text: str, data: dict[str, Any]) -> None:
        if data.get("kind") == "pull_request":
            self._pull_request(text, data)
            return
        files = data.get("files") or {}
        print(text or f"artifact: {', '.join(sorted(files)) or data.get('kind', '')}", file=self.out)
        if files and self.files_dir:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            root = self.files_dir.resolve()
            for name, content in files.items():
                target = (root / name).resolve()
                if root not in target.parents:
                    print(f"  skipped unsafe path {name!r}", file=self.out)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content)
            print(f"  wrote {len(files)} file(s) to {self.files_dir}", file=self.out)
        elif files:
            for name in sorted(files):
                print(f"  {name}", file=self.out)

    def _pull_request(self, text: str, data: dict[str, Any]) -> None:
        """The design's pull request: its link (made absolute), or why it could not be opened."""
        if data.get("action") == "failed":
            hint = f" ({data['hint']})" if data.get("hint") else ""
            print(f"pull request: not opened: {data.get('error')}{hint}", file=self.out)
            return
        url = str(data.get("url") or "")
        if url.startswith("/") and self.base_url:
            url = self.base_url + url
        print(f"pull request #{data.get('number')} ({data.get('action')}): {url}", file=self.out)
        if data.get("host") == "local" and data.get("repository"):
            print(f"  git clone --branch {data.get('branch')} {data['repository']}", file=self.out)

    def _question(self, question: dict[str, Any], text: str) -> None:
        print(f"? {question.get('prompt') or text}", file=self.out)
        for number, choice in enumerate(question.get("choices") or [], 1):
            mark = f" {_recommended(question)}" if choice.get("value") == question.get("default") else ""
            detail = f" — {choice['detail']}" if choice.get("detail") else ""
            print(f"  {number}. {choice.get('label')}{mark}{detail}", file=self.out)


def _recommended(question: dict[str, Any]) -> str:
    """"(recommended)" in the question's language."""
    from agents.messages import t
    from agents.text import language

    return t("cli.recommended", language(question.get("prompt")))


def choose(question: dict[str, Any], line: str) -> str | None:
    """A typed answer -> the choice's value ('' takes the default); None when not understood."""
    choices = question.get("choices") or []
    line = line.strip()
    if not line:
        return question.get("default")
    if line.isdigit() and 1 <= int(line) <= len(choices):
        return str(choices[int(line) - 1]["value"])
    for choice in choices:
        if line.lower() in (str(choice["value"]).lower(), str(choice["label"]).lower()):
            return str(choice["value"])
    return line if question.get("free_text") else None


_TOKEN_HINT = ("archops chat sends the CLI token from the data folder (cli.token) that "
               "`archops up` created; run it as the same user, with the same ARCHOPS_DATA_DIR")


def _refusal(data: Any, status: int) -> str:
    error = data.get("error", {}) if isinstance(data, dict) else {}
    return f"archops refused: {error.get('message') or f'HTTP {status}'}"


def auth_headers(settings: Settings) -> dict[str, str]:
    """The installation's CLI token as a bearer credential (none when there is no token)."""
    token = read_cli_token(settings.data_dir)
    return {"Authorization": f"Bearer {token}"} if token else {}


class ChatClient:
    def __init__(self, url: str, session: aiohttp.ClientSession, printer: Printer,
                 conversation: str | None, non_interactive: bool, timeout: float) -> None:
        self.url = url
        self.session = session
        self.printer = printer
        self.conversation = conversation or f"cli_{uuid.uuid4().hex}"
        self.non_interactive = non_interactive
        self.timeout = timeout
        self.last_id: str | None = None

    async def sign_in_link(self) -> str:
        """A new one-time link that opens a web session as this installation's owner."""
        try:
            async with self.session.post(f"{self.url}/api/sign-in-links", json={}) as response:
                data = await response.json()
        except aiohttp.ClientConnectionError as exc:
            raise ServiceUnavailable(
                f"archops does not answer at {self.url}", hint="start it with `archops up`"
            ) from exc
        if response.status != 201:
            raise Forbidden(_refusal(data, response.status), hint=_TOKEN_HINT)
        return str(data["url"])

    async def catch_up(self) -> dict[str, Any] | None:
        """Skip what a continued conversation already said; return its open question, if any."""
        async with self.session.get(
            f"{self.url}/api/conversations/{self.conversation}/history"
        ) as response:
            data = await response.json()
            if response.status in (401, 403):
                raise Forbidden(_refusal(data, response.status), hint=_TOKEN_HINT)
            events = data.get("events") or []
        self.last_id = events[-1]["id"] if events else None
        last = events[-1] if events else None
        if last and last["type"] == "question":
            return (last.get("data") or {}).get("question")
        return None

    async def send(self, text: str | None = None, action: dict[str, str] | None = None) -> str:
        body: dict[str, Any] = {"conversation_id": self.conversation,
                                "non_interactive": self.non_interactive,
                                "idempotency_key": f"cli-{uuid.uuid4().hex}"}
        body["text" if text is not None else "action"] = text if text is not None else action
        try:
            async with self.session.post(f"{self.url}/api/messages", json=body) as response:
                data = await response.json()
        except aiohttp.ClientConnectionError as exc:
            raise ServiceUnavailable(
                f"archops does not answer at {self.url}", hint="start it with `archops up`"
            ) from exc
        if response.status in (401, 403):
            raise Forbidden(_refusal(data, response.status), hint=_TOKEN_HINT)
        if response.status != 202:
            error = data.get("error", {})
            raise ValidationError(error.get("message", f"HTTP {response.status}"),
                                  hint=error.get("hint"))
        return str(data["request_id"])

    async def follow(self, request_id: str) -> dict[str, Any]:
        """Print events until this request is done, failed or asks; return that last event."""
        headers = {"Last-Event-ID": self.last_id} if self.last_id else {}
        url = f"{self.url}/api/conversations/{self.conversation}/events"
        async with asyncio.timeout(self.timeout), self.session.get(url, headers=headers) as resp:
            if resp.status in (401, 403):
                raise Forbidden(_refusal(await resp.json(), resp.status), hint=_TOKEN_HINT)
            buffer = ""
            ticker = asyncio.create_task(self._tick())
            try:
                async for chunk in resp.content.iter_any():
                    buffer += chunk.decode()
                    while "\n\n" in buffer:
                        block, buffer = buffer.split("\n\n", 1)
                        entry_id, kind, data = parse_sse(block)
                        if not kind or data is None:
                            continue
                        self.last_id = entry_id
                        self.printer.show(data)
                        if data.get("request_id") == request_id and kind in (
                            "done", "error", "question"
                        ):
                            return data
            finally:
                ticker.cancel()
        raise ServiceUnavailable("the event stream ended early", hint="run the chat again")

    async def _tick(self) -> None:
        while True:
            self.printer.tick()
            await asyncio.sleep(0.1)

    async def exchange(self, text: str | None, ask: Any,
                       action: dict[str, str] | None = None) -> int:
        """Send one message (or answer) and answer questions until archops is done."""
        request_id = await self.send(text=text, action=action)
        while True:
            last = await self.follow(request_id)
            if last["type"] == "done":
                return 0
            if last["type"] == "error":
                return 1
            question = (last.get("data") or {}).get("question") or {}
            if ask is None:  # one-shot mode: archops asked; say how to answer and stop
                print(f"(answer with: archops chat --conversation {self.conversation} "
                      f"--answer N)", file=self.printer.out)
                return 0
            value = None
            while value is None:
                line = await ask("answer (number, Enter for recommended): ")
                if line is None:
                    return 0
                value = choose(question, line)
            request_id = await self.send(action={"question_id": question["id"], "value": value})


async def _ask(prompt: str) -> str | None:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


async def chat(args: argparse.Namespace, settings: Settings) -> int:
    url = base_url(args, settings)
    printer = Printer(sys.stdout, args.json, args.out, url)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
    async with aiohttp.ClientSession(timeout=timeout, headers=auth_headers(settings)) as session:
        client = ChatClient(url, session, printer, args.conversation,
                            args.non_interactive, args.timeout)
        if args.sign_in:
            print(await client.sign_in_link())
            return 0
        question = await client.catch_up() if args.conversation else None
        interactive = sys.stdin.isatty() and not args.non_interactive
        if args.answer is not None:
            if question is None:
                raise ValidationError("archops is not waiting for an answer in this conversation",
                                      hint="pass --conversation with the id it printed")
            value = choose(question, args.answer)
            if value is None:
                labels = ", ".join(str(c.get("value")) for c in question.get("choices") or [])
                raise ValidationError(f"{args.answer!r} is not a choice of {question['id']!r}",
                                      hint=f"answer with a number or one of: {labels}")
            action = {"question_id": str(question["id"]), "value": value}
            return await client.exchange(None, _ask if interactive else None, action=action)
        if args.message:
            return await client.exchange(args.message, _ask if interactive else None)
        print(f"archops chat — conversation {client.conversation}. Ctrl-D to leave.")
        code = 0
        while True:
            line = await _ask("you> ")
            if line is None or line.strip() in ("/quit", "/exit"):
                return code
            if line.strip():
                code = await client.exchange(line, _ask)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(chat(args, settings))
