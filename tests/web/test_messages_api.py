"""POST /api/messages: accepted once, bad input refused precisely with nothing queued."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession


async def queued(redis, keys) -> int:
    return sum([await redis.xlen(keys.ingress(p)) for p in range(keys.partitions)])


async def test_message_is_accepted_and_a_resubmission_is_a_duplicate(
    redis, keys, make_server, cli_headers
):
    server = await make_server("web-a")
    body = {"conversation_id": "c-1", "text": "a static site", "idempotency_key": "msg-1"}
    async with ClientSession(headers=cli_headers) as session:
        url = str(server.make_url("/api/messages"))
        async with session.post(url, json=body) as first:
            assert first.status == 202
            one = await first.json()
        async with session.post(url, json=body) as second:
            two = await second.json()
    assert one["accepted"] and not one["duplicate"]
    assert two["duplicate"] and two["request_id"] == one["request_id"]
    assert one["events_url"] == "/api/conversations/c-1/events"
    assert await queued(redis, keys) == 1


async def test_a_message_without_conversation_starts_one(make_server, cli_headers):
    server = await make_server("web-a")
    async with ClientSession(headers=cli_headers) as session:
        async with session.post(str(server.make_url("/api/messages")),
                                json={"text": "an API on Lambda"}) as response:
            data = await response.json()
    assert response.status == 202 and data["conversation_id"].startswith("conv_")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"conversation_id": "c", "text": "   "}, "empty"),
        ({"conversation_id": "c", "text": "x" * 1001}, "limit is 1000"),
        ({"conversation_id": "c"}, "exactly one of text or action"),
        ({"conversation_id": "c", "text": "hi", "sudo": True}, "unknown field(s): sudo"),
        ({"conversation_id": "c", "text": "hi", "user": "admin"}, "user cannot be given"),
        ({"conversation_id": "c", "text": "hi", "user": None}, "user cannot be given"),
        ({"conversation_id": "c", "text": "hi", "non_interactive": "false"}, "JSON boolean"),
        ({"conversation_id": "c", "text": "hi", "non_interactive": 0}, "JSON boolean"),
        ({"conversation_id": 7, "text": "hi"}, "conversation_id must be"),
        ({"conversation_id": "", "text": "hi"}, "conversation_id must be"),
        ({"conversation_id": "c d/../e", "text": "hi"}, "conversation_id must be"),
        ({"conversation_id": "c", "action": {"question_id": "region"}}, "action.value"),
        ([1, 2], "JSON object"),
    ],
)
async def test_bad_input_gets_a_specific_error_and_queues_nothing(
    redis, keys, make_server, body, message, cli_headers
):
    server = await make_server("web-a")
    async with ClientSession(headers=cli_headers) as session:
        async with session.post(str(server.make_url("/api/messages")), json=body) as response:
            assert response.status == 400
            error = (await response.json())["error"]
    assert message in error["message"]
    assert await queued(redis, keys) == 0


async def test_invalid_json_is_refused(make_server, cli_headers):
    server = await make_server("web-a")
    async with ClientSession(headers=cli_headers) as session:
        async with session.post(str(server.make_url("/api/messages")), data=b"{nope",
                                headers={"Content-Type": "application/json"}) as response:
            assert response.status == 400
            assert (await response.json())["error"]["code"] == "bad_json"
