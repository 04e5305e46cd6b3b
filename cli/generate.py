"""`archops generate "REQUEST" --out DIR`: run the agent workflow in-process and write the module.

No Redis: the graph runs here with a SQLite checkpointer (in ``--state`` or a temporary file).
Prints the plan, the defaults assumed, the findings; exits non-zero on refusal (3), on an open
question in non-interactive use (5), and when checks fail (2, with --strict).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from core.errors import ValidationError

HELP = "Design a Well-Architected module for a plain-English request and write its Terraform."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("request", help="what to build, in plain words")
    parser.add_argument("--out", required=True, type=Path, help="directory to write the module to")
    parser.add_argument("--answer", action="append", default=[], metavar="KEY=VALUE", help="answer a question up front (repeatable)")
    parser.add_argument("--non-interactive", action="store_true", help="take the recommended default for every open question")
    parser.add_argument("--state", type=Path, default=None, help="SQLite file keeping the conversation (default: a temporary file)")
    parser.add_argument("--conversation", default=None, help="continue this conversation id (with --state)")
    parser.add_argument("--strict", action="store_true", help="exit 2 when findings remain")
    parser.add_argument("--checks", default=None, help="review checks to run, comma-separated (default: all, checkov included)")


def _answers(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--answer {pair!r} must look like KEY=VALUE", hint="e.g. --answer environment=dev")
        out[key.strip()] = value.strip()
    return out


class LocalContext:
    """A RequestContext for one in-process request: events are printed and kept."""

    def __init__(self, envelope: Any) -> None:
        self.envelope = envelope
        self.attempt = 1
        self.events: list[tuple[str, str | None, dict[str, Any]]] = []
        self._once: dict[str, Any] = {}

    async def emit(self, type: str, text: str | None = None, **data: Any) -> None:
        self.events.append((type, text, data))
        if type == "status":
            print(f"· {text}", file=sys.stderr)

    async def once(self, name: str, fn: Any) -> Any:
        if name not in self._once:
            self._once[name] = await fn()
        return self._once[name]


async def _run(args: argparse.Namespace, settings: Any, state_path: Path) -> int:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from agents.handler import AgentHandler
    from core.envelope import Action, Envelope

    answers = _answers(args.answer)
    conversation = args.conversation or f"cli-{uuid.uuid4().hex[:12]}"
    async with AsyncSqliteSaver.from_conn_string(str(state_path)) as saver:
        checks = {c.strip() for c in args.checks.split(",") if c.strip()} if args.checks else None
        handler = AgentHandler(saver, settings, review_checks=checks)
        envelope = Envelope(conversation_id=conversation, source="cli", user="cli", text=args.request, non_interactive=args.non_interactive)
        ctx = LocalContext(envelope)
        await _handle(handler, ctx, answers)
        while True:
            last_type, last_text, last_data = ctx.events[-1] if ctx.events else ("error", "no result", {})
            if last_type != "question":
                break
            question = last_data["question"]
            value = answers.get(question["id"]) or _ask(question)
            if value is None:
                _print_question(question, conversation)
                return 5
            ctx = LocalContext(Envelope(conversation_id=conversation, source="cli", user="cli", action=Action(question_id=question["id"], value=value), non_interactive=args.non_interactive))
            await _handle(handler, ctx, {})
        return _finish(ctx, args)


async def _handle(handler: Any, ctx: LocalContext, answers: dict[str, str]) -> None:
    """Run one request; answers given up front are applied with the first message."""
    await handler(ctx, answers=answers)


def t(key: str, lang: str, **fields: Any) -> str:
    """A message of agents' catalogs in ``lang`` (imported when first needed)."""
    from agents.messages import t as message

    return message(key, lang, **fields)


def _t(key: str, question: dict[str, Any], **fields: Any) -> str:
    """A CLI message in the question's language (Korean when its prompt is)."""
    from agents.text import language

    return t(key, language(question.get("prompt")), **fields)


def _ask(question: dict[str, Any]) -> str | None:
    if not sys.stdin.isatty():
        return None
    _print_question(question, None)
    reply = input(_t("cli.answer", question, value=question.get("default"))).strip()
    return reply or question.get("default")


def _print_question(question: dict[str, Any], conversation: str | None) -> None:
    print(f"? {question['prompt']}")
    for choice in question.get("choices", []):
        detail = f" — {choice['detail']}" if choice.get("detail") else ""
        print(f"  {choice['value']}: {choice['label']}{detail}")
    print(f"  {_t('cli.default', question, value=question.get('default'))}")
    if conversation:
        print(f"archops: {_t('cli.needs_answer', question, id=question['id'])}", file=sys.stderr)


def _finish(ctx: LocalContext, args: argparse.Namespace) -> int:
    final = ctx.events[-1]
    if final[0] == "error":
        print(f"archops: {final[1]}", file=sys.stderr)
        return 3 if final[2].get("refused") else 1
    module = next((d for t, _x, d in ctx.events if t == "artifact" and d.get("kind") == "module"), None)
    if module is None:
        print(final[1] or "")
        return 0
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for name, text in module["files"].items():
        (out / name).write_text(text, encoding="utf-8")
    lang = module.get("language") or "en"
    print(t("cli.plan", lang))
    for item in module["plan"]["items"]:
        print(f"  - {item['title']} ({item['file']})")
    if module.get("assumed"):
        print(t("cli.assumed", lang))
        for key, value in sorted(module["assumed"].items()):
            print(f"  - {key} = {value}")
    cost = module.get("cost")
    if cost:
        source = f"{cost.get('price_source') or 'list prices'} {cost.get('price_date') or ''}".rstrip()
        print(t("cli.cost", lang, total=f"{cost.get('monthly_total', 0):,.2f}", region=cost.get("region"), source=source))
        for item in cost.get("items", [])[:30]:
            print(f"  - {item.get('address')}: ${item.get('monthly_usd', 0):,.2f}")
        for assumption in cost.get("assumptions", [])[:10]:
            print(f"  * {assumption}")
    findings = module.get("findings") or []
    print(t("cli.findings", lang, count=len(findings)))
    for f in findings[:40]:
        where = f.get("address") or f.get("file") or ""
        print(f"  - [{f.get('severity')}] {f.get('check_id')} {where}: {f.get('message')}")
    print(final[1] or "")
    print(t("cli.wrote", lang, count=len(module["files"]), out=out))
    return 2 if args.strict and findings else 0


def run(args: argparse.Namespace, settings: Any) -> int:
    if args.state is not None:
        args.state.parent.mkdir(parents=True, exist_ok=True)
        return asyncio.run(_run(args, settings, args.state))
    with tempfile.TemporaryDirectory(prefix="archops-generate-") as tmp:
        return asyncio.run(_run(args, settings, Path(tmp) / "conversation.sqlite3"))
