"""A real graph per test: AgentHandler with LangGraph's async SQLite saver on a temp file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agents.handler import AgentHandler
from core.envelope import Action, Envelope
from core.settings import Settings

# the corpus checks parse, schema and references; checkov runs in the validation tests
FAST_CHECKS = {"parse"}


class Recorder:
    """A RequestContext that records events and runs each side effect once."""

    def __init__(self, envelope: Envelope, memo: dict[str, Any] | None = None, attempt: int = 1) -> None:
        self.envelope = envelope
        self.attempt = attempt
        self.events: list[tuple[str, str | None, dict[str, Any]]] = []
        self.memo = memo if memo is not None else {}

    async def emit(self, type: str, text: str | None = None, **data: Any) -> None:
        self.events.append((type, text, data))

    async def once(self, name: str, fn: Any) -> Any:
        if name not in self.memo:
            self.memo[name] = await fn()
        return self.memo[name]

    @property
    def last(self) -> tuple[str, str | None, dict[str, Any]]:
        return self.events[-1]

    def module(self) -> dict[str, Any]:
        return next(d for t, _x, d in self.events if t == "artifact" and d.get("kind") == "module")


def text(conversation: str, body: str, non_interactive: bool = False) -> Envelope:
    return Envelope(conversation_id=conversation, source="web", user="u1", text=body, non_interactive=non_interactive)


def answer(conversation: str, question_id: str, value: str) -> Envelope:
    return Envelope(conversation_id=conversation, source="slack", user="u1", action=Action(question_id=question_id, value=value))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.sqlite3"


@pytest.fixture
async def handler(db_path: Path):
    async with AsyncSqliteSaver.from_conn_string(str(db_path)) as saver:
        yield AgentHandler(saver, Settings(), review_checks=FAST_CHECKS)
