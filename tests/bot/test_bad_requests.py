"""Requests Slack did not sign get 401, signed ones archops cannot read 400 (413, 415): each with
a short reason, never a 500 or a traceback, and nothing reaches the bus."""

from __future__ import annotations

import copy
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aiohttp import ClientSession

from tests.bot.slack_requests import PAYLOADS as PAYLOADS_DIR
from tests.bot.slack_requests import (
    SECRET,
    answer_click,
    mention,
    payload,
    post_signed,
    queued,
    sign,
)
from tests.bot.slack_standin import BOT_USER_ID

FORM = "application/x-www-form-urlencoded"


async def post_raw(url: str, body: bytes, headers: dict[str, str] | list[tuple[str, str]]
                   ) -> tuple[int, str]:
    async with ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


def assert_refused(status: int, text: str, expected: int, reason: str) -> None:
    assert status == expected, text
    answer = json.loads(text)
    assert answer["ok"] is False and reason in answer["reason"], answer
    assert "Traceback" not in text and len(text) < 400


def now() -> str:
    return str(int(time.time()))


# -- not signed by Slack: 401 before anything is parsed ----------------------------------------
UNSIGNED = [
    # the issue's own request: a timestamp that is not a number and a broken form payload
    ("timestamp abc", {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=" + "0" * 64},
     b"payload=%7Bbad", "not a number"),
    ("no headers", {}, b"payload=%7Bbad", "missing X-Slack-Request-Timestamp"),
    ("no signature", {"X-Slack-Request-Timestamp": "NOW"}, b"{}", "missing X-Slack-Signature"),
    ("arabic-indic digits", {"X-Slack-Request-Timestamp": "١٧٠٠٠٠٠٠٠٠",
                             "X-Slack-Signature": "v0=" + "0" * 64}, b"{}", "not a number"),
    ("huge timestamp", {"X-Slack-Request-Timestamp": "9" * 40,
                        "X-Slack-Signature": "v0=" + "0" * 64}, b"{}", "not a number"),
    ("negative timestamp", {"X-Slack-Request-Timestamp": "-5",
                            "X-Slack-Signature": "v0=" + "0" * 64}, b"{}", "not a number"),
    ("from the future", {"X-Slack-Request-Timestamp": str(int(time.time()) + 900),
                         "X-Slack-Signature": "v0=" + "0" * 64}, b"{}", "5 minutes"),
    ("malformed signature", {"X-Slack-Request-Timestamp": "NOW", "X-Slack-Signature": "v0=zz"},
     b"{}", "not a v0 signature"),
    ("other scheme", {"X-Slack-Request-Timestamp": "NOW", "X-Slack-Signature": "v1=" + "a" * 64},
     b"{}", "not a v0 signature"),
    ("made-up signature", {"X-Slack-Request-Timestamp": "NOW",
                           "X-Slack-Signature": "v0=" + "a" * 64}, b"payload=%7Bbad",
     "does not match"),
]


@pytest.mark.parametrize(("name", "headers", "body", "reason"), UNSIGNED, ids=[u[0] for u in UNSIGNED])
async def test_unsigned_requests_are_401_with_a_reason(bot, redis, keys, slack, name, headers,
                                                       body, reason) -> None:
    _bot, url = bot
    headers = {k: (now() if v == "NOW" else v) for k, v in headers.items()}
    status, text = await post_raw(url, body, {"Content-Type": FORM, **headers})
    assert_refused(status, text, 401, reason)
    assert await queued(redis, keys) == []
    assert slack.of("chat.postMessage") == []


async def test_a_tampered_stale_or_wrongly_keyed_request_is_401(bot, redis, keys) -> None:
    _bot, url = bot
    body = mention("Ev900", f"<@{BOT_USER_ID}> a bucket")
    headers = {"Content-Type": "application/json", **sign(body)}
    tampered = body.replace("a bucket", "a bucket and delete everything")
    assert_refused(*await post_raw(url, tampered.encode(), headers), 401, "does not match")
    stale = sign(body, int(time.time()) - 301)
    assert_refused(*await post_raw(url, body.encode(), {"Content-Type": "application/json",
                                                        **stale}), 401, "5 minutes")
    status, text = await post_signed(url, body, secret="someone-else-s-secret")
    assert_refused(status, text, 401, "does not match")
    repeated = [("Content-Type", "application/json"), *sign(body).items(),
                ("X-Slack-Request-Timestamp", now())]
    assert_refused(*await post_raw(url, body.encode(), repeated), 401, "repeated")
    assert await queued(redis, keys) == []


# -- signed, but not something archops can read: 4xx with a reason ------------------------------
def block_actions(**changes: Any) -> dict[str, Any]:
    body = json.loads(answer_click_json())
    body.update(changes)
    return body


def answer_click_json() -> str:
    from urllib.parse import parse_qs

    return parse_qs(answer_click("1700000002.000100", "availability", "multi", "t.9"))["payload"][0]


def event(**changes: Any) -> dict[str, Any]:
    body = json.loads(mention("Ev901", f"<@{BOT_USER_ID}> a bucket"))
    body["event"].update(changes)
    return body


def form(data: Any) -> tuple[str, str]:
    return "payload=" + quote(json.dumps(data)), FORM


def as_json(data: Any) -> tuple[str, str]:
    return json.dumps(data), "application/json"


DEEP = "[" * 5000 + "]" * 5000
MALFORMED: list[tuple[str, tuple[str, str], int, str]] = [
    ("form payload not JSON", ("payload=%7Bbad", FORM), 400, "payload is not valid JSON"),
    ("form payload an array", ("payload=" + quote("[1, 2]"), FORM), 400, "not an array"),
    ("form payload a string", ("payload=" + quote('"hi"'), FORM), 400, "not a string"),
    ("form payload deeply nested", ("payload=" + quote(DEEP), FORM), 400, "deeper than 64"),
    ("json body not JSON", ("{bad", "application/json"), 400, "not valid JSON"),
    ("NaN is not JSON", ('{"type": "event_callback", "x": NaN}', "application/json"), 400,
     "not valid JSON"),
    ("json body an array", as_json([{"type": "event_callback"}]), 400, "not an array"),
    ("json body null", as_json(None), 400, "not null"),
    ("json body deeply nested", (DEEP, "application/json"), 400, "deeper than 64"),
    ("unterminated escaped string", ('"' + '\\"' * 300_000, "application/json"), 400,
     "not valid JSON"),
    ("deep object", ('{"a":' * 200 + "1" + "}" * 200, "application/json"), 400, "deeper"),
    ("no type", as_json({"event_id": "Ev1"}), 400, "no type"),
    ("type not a string", as_json({"type": 5}), 400, "type: must be a string"),
    ("actions not a list", form(block_actions(actions={"action_id": "x"})), 400,
     "actions: Input should be a valid list"),
    ("actions empty", form(block_actions(actions=[])), 400, "actions"),
    ("action not an object", form(block_actions(actions=[5])), 400, "actions.0"),
    ("action without id", form(block_actions(actions=[{"type": "button", "value": "x"}])), 400,
     "actions.0.action_id: Field required"),
    ("action value a number", form(block_actions(actions=[
        {"action_id": "archops:answer:q:0", "type": "button", "value": 5}])), 400,
     "actions.0.value"),
    ("no user", form(block_actions(user=None)), 400, "user"),
    ("user id a number", form(block_actions(user={"id": 7})), 400, "user.id"),
    ("container a string", form(block_actions(container="C1")), 400, "container"),
    ("authorizations a string", as_json({**event(), "authorizations": "abc"}), 400,
     "authorizations"),
    ("team a number", as_json({**event(), "team": 5}), 400, "team"),
    ("event not an object", as_json({**event(), "event": "app_mention"}), 400, "event"),
    ("event without type", as_json({**event(), "event": {"text": "hi"}}), 400,
     "event.type: Field required"),
    ("event type a number", as_json(event(type=3)), 400, "event.type"),
    ("mention text a number", as_json(event(text=12)), 400, "event.text"),
    ("mention channel a list", as_json(event(channel=["C1"])), 400, "event.channel"),
    ("mention without ts", as_json({**event(), "event": {
        k: v for k, v in event()["event"].items() if k != "ts"}}), 400, "event.ts"),
    ("event_id missing", as_json({k: v for k, v in event().items() if k != "event_id"}), 400,
     "event_id"),
    ("challenge a number", as_json({"type": "url_verification", "challenge": 5}), 400,
     "challenge"),
    ("command without user", (urlencode({"command": "/archops", "text": "hi",
                                         "channel_id": "C1", "trigger_id": "1.2"}), FORM), 400,
     "user_id: Field required"),
    ("repeated form field", ("payload=%7B%7D&payload=%7B%7D", FORM), 400, "repeats"),
    ("not UTF-8", ("caf\udce9", "application/json"), 400, "UTF-8"),
    ("plain text", ("hello", "text/plain"), 415, "unsupported content type"),
]


@pytest.mark.parametrize(("name", "request_", "status", "reason"), MALFORMED,
                         ids=[m[0] for m in MALFORMED])
async def test_signed_but_malformed_is_a_4xx_with_its_reason(bot, redis, keys, slack, name,
                                                             request_, status, reason) -> None:
    _bot, url = bot
    body, content_type = request_
    raw = body.encode("utf-8", "surrogateescape")
    headers = {"Content-Type": content_type, **sign_bytes(raw)}
    assert_refused(*await post_raw(url, raw, headers), status, reason)
    assert await queued(redis, keys) == []
    assert slack.of("chat.postMessage") == [] and slack.of("chat.postEphemeral") == []


def sign_bytes(raw: bytes, secret: str = SECRET) -> dict[str, str]:
    import hashlib
    import hmac

    ts = now()
    mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={mac}"}


async def test_a_body_over_the_limit_is_413_before_it_is_read_whole(bot, redis, keys) -> None:
    _bot, url = bot
    raw = b'{"type": "event_callback", "x": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    headers = {"Content-Type": "application/json", **sign_bytes(raw)}
    assert_refused(*await post_raw(url, raw, headers), 413, "larger than")
    assert await queued(redis, keys) == []


async def test_slash_command_mentioning_payload_is_still_a_command(bot, redis, keys) -> None:
    """slack-bolt's own parser took any form containing "payload" for interactivity."""
    _bot, url = bot
    form_ = payload("slash_command.parsed.json")
    form_.update(command="/archops", text="new a bucket for the payload files", team_id="T0ARCH",
                 channel_id="C0INFRA", user_id="U0ALICE", trigger_id="5.5.payload")
    status, _ = await post_signed(url, urlencode(form_), content_type=FORM)
    assert status == 200
    [env] = await queued(redis, keys)
    assert env.text == "a bucket for the payload files"


REFERENCE = ["event_callback_app_mention.json", "event_callback_message.json",
             "event_callback_reaction_added.json", "event_callback_app_uninstalled.json",
             "event_callback_tokens_revoked.json", "event_callback_message_file_share.json",
             "url_verification.json", "block_actions.json", "view_submission.json"]


@pytest.mark.parametrize("name", REFERENCE)
async def test_slack_s_own_payloads_pass_the_shape_check(bot, name) -> None:
    """Real payloads as Slack sends them (bolt-python's fixtures) are never refused as malformed."""
    _bot, url = bot
    data = payload(name)
    body, content_type = form(data) if name in {"block_actions.json", "view_submission.json"} \
        else as_json(data)
    status, text = await post_signed(url, body, content_type=content_type)
    assert status in {200, 404}, text  # 404: bolt's answer for what no listener handles
    assert "invalid_payload" not in text
    command = (PAYLOADS_DIR / "slash_command.form-urlencoded.txt").read_text().strip()
    status, text = await post_signed(url, command, content_type=FORM)
    assert status in {200, 404} and "invalid_payload" not in text


# -- many wrong types at once: never a 5xx ---------------------------------------------------
ODD_VALUES: list[Any] = [None, 5, "x", [], {}, True, [1], {"id": 1}, 1.5]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every field path of ``value`` (the first two items of each list)."""
    found: list[tuple[Any, ...]] = []
    items = (value.items() if isinstance(value, dict)
             else enumerate(value[:2]) if isinstance(value, list) else ())
    for key, inner in items:
        found.append((*prefix, key))
        found += paths(inner, (*prefix, key))
    return found


def replaced(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    where: Any = changed
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    return changed


def mutations(body: dict[str, Any]) -> list[dict[str, Any]]:
    """``body`` with each field, at any depth, replaced by each odd value in turn."""
    return [replaced(body, path, odd) for path in paths(body) for odd in ODD_VALUES]


async def test_no_mutation_of_real_payloads_gets_a_5xx(bot) -> None:
    _bot, url = bot
    cases: list[tuple[str, str]] = []
    for name in ("event_callback_app_mention.json", "event_callback_message.json",
                 "event_callback_reaction_added.json", "event_callback_app_uninstalled.json",
                 "url_verification.json", "event_callback_message_file_share.json"):
        cases += [as_json(m) for m in mutations(payload(name))]
    for name in ("block_actions.json", "view_submission.json"):
        cases += [form(m) for m in mutations(payload(name))]
    clicks = json.loads(answer_click_json())
    cases += [form(m) for m in mutations(clicks)]
    command = payload("slash_command.parsed.json")
    cases += [(urlencode({k: v for k, v in command.items() if k != drop}), FORM)
              for drop in command]
    statuses: dict[int, int] = {}
    async with ClientSession() as session:
        for body, content_type in cases:
            raw = body.encode()
            async with session.post(url, data=raw, headers={"Content-Type": content_type,
                                                            **sign_bytes(raw)}) as resp:
                text = await resp.text()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                assert resp.status < 500, (resp.status, body[:300], text)
                assert "Traceback" not in text
    assert statuses.get(400, 0) > 100 and statuses.get(200, 0) > 100, statuses
