"""Conversation state survives its worker: a graph resumes from the shared checkpointer."""

from __future__ import annotations

import operator
import uuid
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph

from core.store import Store, open_checkpointer, schema_diff


class Counter(TypedDict):
    count: int
    seen: Annotated[list[str], operator.add]


def _count(state: Counter) -> dict:
    return {"count": state["count"] + 1, "seen": [f"step {state['count'] + 1}"]}


def _graph():
    builder = StateGraph(Counter)
    builder.add_node("count", _count)
    builder.add_edge(START, "count")
    builder.add_edge("count", END)
    return builder


async def test_a_thread_continues_after_the_worker_is_gone(db_url: str) -> None:
    store = await Store.open(db_url)  # the store and the savers share one database
    await store.close()
    thread = {"configurable": {"thread_id": f"conv-{uuid.uuid4().hex}"}}

    async with open_checkpointer(db_url) as saver:  # the first worker
        graph = _graph().compile(checkpointer=saver)
        await graph.ainvoke({"count": 0, "seen": []}, thread)
        first = await graph.ainvoke({"seen": []}, thread)
        assert first["count"] == 2

    async with open_checkpointer(db_url) as saver:  # another worker, later
        graph = _graph().compile(checkpointer=saver)
        state = await graph.aget_state(thread)
        assert state.values["count"] == 2
        after = await graph.ainvoke({"seen": []}, thread)
        assert after["count"] == 3
        assert after["seen"] == ["step 1", "step 2", "step 3"]

    assert schema_diff(db_url) == []  # the savers' tables are theirs, not a migration gap


async def test_an_unreachable_checkpoint_database_is_reported() -> None:
    import pytest

    from core.errors import ServiceUnavailable

    with pytest.raises(ServiceUnavailable, match="cannot be reached") as info:
        async with open_checkpointer("postgresql://archops:hunter2@127.0.0.1:1/archops"):
            pass
    assert "hunter2" not in str(info.value)
