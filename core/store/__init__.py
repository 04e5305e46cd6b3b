"""archops' system of record (SQLite or PostgreSQL) and the LangGraph checkpointer beside it.

store = await Store.open(settings.effective_database_url)   # migrates to head first
async with open_checkpointer(settings.effective_database_url) as saver: ...
"""

from typing import Any

from core.store.migrate import SchemaStatus, schema_diff, schema_status, upgrade
from core.store.models import (
    CONVERSATION_STATUSES,
    REQUEST_STATUSES,
    Conversation,
    GitHubAccount,
    Project,
    PullRequest,
    Request,
)
from core.store.store import Store
from core.store.urls import DatabaseUrl, parse_database_url

__all__ = [
    "CONVERSATION_STATUSES",
    "REQUEST_STATUSES",
    "Conversation",
    "DatabaseUrl",
    "GitHubAccount",
    "Project",
    "PullRequest",
    "Request",
    "SchemaStatus",
    "Store",
    "open_checkpointer",
    "parse_database_url",
    "schema_diff",
    "schema_status",
    "upgrade",
]


def __getattr__(name: str) -> Any:
    # the savers pull in LangGraph: import them only for processes that use them
    if name == "open_checkpointer":
        from core.store.checkpointer import open_checkpointer

        return open_checkpointer
    raise AttributeError(f"module 'core.store' has no attribute {name!r}")
