"""The system of record as the worker and the web app use it, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC

import pytest

from core.envelope import Action, Envelope
from core.errors import NotFound, ValidationError
from core.store import Store


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def store(db_url: str):
    store = await Store.open(db_url)
    yield store
    await store.close()


def _envelope(conversation_id: str, **kw) -> Envelope:
    kw.setdefault("text", "A web app with a Postgres database in eu-west-1\nmore details")
    return Envelope(conversation_id=conversation_id, source="slack", user="U123", **kw)


async def test_a_project_is_created_then_updated_field_by_field(store: Store) -> None:
    pid = _id("shop")
    created = await store.upsert_project(
        pid,
        name="Shop",
        slack_channel=_id("C"),
        aws_account_id="123456789012",
        aws_role_arn="arn:aws:iam::123456789012:role/archops",
        aws_regions=["eu-west-1", "us-east-1"],
        github_repo="acme/shop-infra",
        tag_policy={"required": ["owner", "cost-center"]},
    )
    assert created.aws_regions == ["eu-west-1", "us-east-1"]
    assert created.created_at.tzinfo is UTC or created.created_at.utcoffset().total_seconds() == 0

    updated = await store.upsert_project(pid, github_repo="acme/shop-platform")
    assert updated.github_repo == "acme/shop-platform"
    assert updated.name == "Shop"  # fields not given stay as they were
    assert updated.tag_policy == {"required": ["owner", "cost-center"]}
    assert updated.updated_at >= created.updated_at
    assert (await store.find_project_by_channel(created.slack_channel)).id == pid


async def test_bad_project_fields_are_refused_with_the_reason(store: Store) -> None:
    with pytest.raises(ValidationError, match="12 digits"):
        await store.upsert_project(_id("p"), aws_account_id="12345")
    with pytest.raises(ValidationError, match="not in 123456789012"):
        await store.upsert_project(
            _id("p"), aws_account_id="123456789012", aws_role_arn="arn:aws:iam::999999999999:role/x"
        )
    with pytest.raises(ValidationError, match="not AWS regions"):
        await store.upsert_project(_id("p"), aws_regions=["mars-1"])
    with pytest.raises(ValidationError, match="owner/name"):
        await store.upsert_project(_id("p"), github_repo="just-a-name")
    with pytest.raises(NotFound):
        await store.get_project(_id("nope"))


async def test_a_channel_belongs_to_one_project(store: Store) -> None:
    channel = _id("C")
    await store.upsert_project(_id("a"), slack_channel=channel)
    with pytest.raises(ValidationError, match="already bound"):
        await store.upsert_project(_id("b"), slack_channel=channel)


async def test_a_duplicate_submission_is_recorded_once(store: Store) -> None:
    conv = _id("conv")
    first = _envelope(conv, idempotency_key=_id("slack-event"))
    retry = _envelope(conv, idempotency_key=first.idempotency_key)  # new request id, same event
    assert await store.record_request(first) is True
    assert await store.record_request(first) is False
    assert await store.record_request(retry) is False
    requests = await store.list_requests(conv)
    assert [r.request_id for r in requests] == [first.request_id]
    assert requests[0].status == "accepted" and requests[0].attempts == 0
    conversation = await store.get_conversation(conv)
    assert conversation.title == "A web app with a Postgres database in eu-west-1"
    assert (conversation.source, conversation.user) == ("slack", "U123")


async def test_concurrent_duplicates_give_exactly_one_winner(store: Store) -> None:
    conv = _id("conv")
    key = _id("evt")
    envelopes = [_envelope(conv, idempotency_key=key) for _ in range(8)]
    results = await asyncio.gather(*(store.record_request(e) for e in envelopes))
    assert sorted(results) == [False] * 7 + [True]


async def test_a_request_moves_through_its_statuses(store: Store) -> None:
    env = _envelope(
        _id("conv"),
        text=None,
        action=Action(question_id="q1", value="eu-west-1"),
        trace={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03"},
    )
    await store.record_request(env)
    running = await store.mark_request(env.request_id, "running", attempts=1)
    assert running.status == "running" and running.finished_at is None
    assert running.action == {"question_id": "q1", "value": "eu-west-1"}
    assert running.trace_id == "0af7651916cd43dd8448eb211c80319c"
    failed = await store.mark_request(
        env.request_id,
        "dead",
        error="GitHub said 401 for token=ghp_abcdefghijklmnopqrstuvwxyz",
        attempts=3,
    )
    assert failed.status == "dead" and failed.attempts == 3 and failed.finished_at is not None
    assert "ghp_abc" not in failed.error and "401" in failed.error
    assert (await store.get_request(env.request_id)).status == "dead"


async def test_unknown_requests_and_statuses_are_refused(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.mark_request(_id("req"), "done")
    with pytest.raises(NotFound):
        await store.get_request(_id("req"))
    env = _envelope(_id("conv"))
    await store.record_request(env)
    with pytest.raises(ValidationError, match="not one of"):
        await store.mark_request(env.request_id, "finished")


async def test_conversations_bind_to_known_projects_and_list_newest_first(store: Store) -> None:
    pid = _id("proj")
    await store.upsert_project(pid, name="Proj")
    older, newer = _id("conv"), _id("conv")
    await store.ensure_conversation(older, "web", "alice", project_id=pid, title="first")
    await store.ensure_conversation(newer, "cli", "bob")
    again = await store.ensure_conversation(older, "web", "alice", title="ignored")
    assert (again.project_id, again.title) == (pid, "first")
    with pytest.raises(NotFound, match="project"):
        await store.ensure_conversation(_id("conv"), "web", "x", project_id=_id("missing"))

    await store.update_conversation(older, status="waiting")
    listed = [c.id for c in await store.list_conversations(limit=1000)]
    assert listed.index(older) < listed.index(newer)  # touched last, listed first
    assert (await store.get_conversation(older)).status == "waiting"
    with pytest.raises(ValidationError):
        await store.update_conversation(older, status="archived")


async def test_an_envelope_for_an_unknown_project_is_still_recorded(store: Store) -> None:
    env = _envelope(_id("conv"), project_id=_id("ghost"))
    assert await store.record_request(env) is True
    assert (await store.get_conversation(env.conversation_id)).project_id is None


async def test_two_processes_sharing_one_sqlite_file_record_each_request_once(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first, second = await asyncio.gather(Store.open(url), Store.open(url))
    try:
        conv = _id("conv")
        envelopes = [_envelope(conv, idempotency_key=f"evt-{i % 20}") for i in range(60)]
        results = await asyncio.gather(
            *((first if i % 2 else second).record_request(e) for i, e in enumerate(envelopes))
        )
        assert sum(results) == 20
        assert len(await second.list_requests(conv)) == 20
    finally:
        await first.close()
        await second.close()


def test_the_public_surface_is_what_the_docs_describe() -> None:
    import core.store

    assert sorted(core.store.__all__) == [
        "CONVERSATION_STATUSES", "Conversation", "DatabaseUrl", "GitHubAccount", "Project",
        "PullRequest", "REQUEST_STATUSES", "Request", "SchemaStatus", "Store", "open_checkpointer", "parse_database_url",
        "schema_diff", "schema_status", "upgrade",
    ]  # fmt: skip
    assert all(getattr(core.store, name) is not None for name in core.store.__all__)
