"""A real graph driven by the model engine against the local OpenAI-compatible stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agents.handler import AgentHandler
from core.settings import Settings
from tests.doctor.test_doctor import env  # noqa: F401 - the fixture: the doctor's clean environment
from tests.llm import model
from tests.llm.standin import OpenAIStandIn

FAST_CHECKS = {"parse"}
# what model-written Terraform must pass in the tests that plan it
PLAN_CHECKS = {"parse", "schema", "references", "plan"}


@pytest.fixture
async def standin() -> AsyncIterator[OpenAIStandIn]:
    server = await OpenAIStandIn(model.answer).start()
    yield server
    await server.stop()


def llm_settings(standin: OpenAIStandIn, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_base_url": standin.base_url,
        "openai_model": "standin-model",
        "openai_api_key": standin.api_key,
        "openai_timeout_s": 10.0,
        "openai_retry_max_s": 3.0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.sqlite3"


@pytest.fixture
def make_handler(db_path: Path):
    """``async with make_handler(settings, checks) as handler``: an AgentHandler on its own saver."""
    import contextlib

    @contextlib.asynccontextmanager
    async def make(settings: Settings, checks: set[str] | None = None) -> AsyncIterator[AgentHandler]:
        async with AsyncSqliteSaver.from_conn_string(str(db_path)) as saver:
            yield AgentHandler(saver, settings, review_checks=checks or FAST_CHECKS)

    return make
