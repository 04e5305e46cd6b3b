"""Who may see and do what: against a real web server and a real redis-server.

Principals here: the CLI (its installation token, principal ``local``), web sessions opened by
one-time sign-in tokens (``web:alice``, ``web:bob``), and capability links.
"""

from __future__ import annotations

import asyncio
import os
import stat
from http.cookies import SimpleCookie

import pytest
from aiohttp import ClientSession

from core.capability import Signer
from core.events import Event
from tests.web.sse_client import read_sse
from web.auth import SECURITY_HEADERS, SESSION_COOKIE, ensure_cli_token, read_cli_token

EVIL = "http://evil.example"


async def queued(redis, keys) -> int:
    return sum([await redis.xlen(keys.ingress(p)) for p in range(keys.partitions)])


async def sign_in(server, access_store, principal: str) -> dict[str, str]:
    """Open a session the way a browser does: a one-time link, then its cookie."""
    token = await access_store.issue_login(principal)
    async with ClientSession() as session, session.get(
        str(server.make_url(f"/login?token={token}")), allow_redirects=False
    ) as response:
        assert response.status == 303, await response.text()
        cookie = SimpleCookie(response.headers["Set-Cookie"])[SESSION_COOKIE]
    return {"Cookie": f"{SESSION_COOKIE}={cookie.value}"}


async def post(server, body, headers, **kwargs):
    async with ClientSession() as session, session.post(
        str(server.make_url("/api/messages")), json=body, headers=headers, **kwargs
    ) as response:
        return response.status, await response.json()


async def get(server, path, headers=None):
    async with asyncio.timeout(5), ClientSession() as session, session.get(
        str(server.make_url(path)), headers=headers or {}
    ) as response:
        return response.status, (await response.json() if response.content_type ==
                                 "application/json" else await response.text())


async def started(server, headers, conversation="c-mine", text="a static site"):
    status, data = await post(server, {"conversation_id": conversation, "text": text}, headers)
    assert status == 202, data
    return data


# -- a principal is required -------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/api/whoami", "/api/conversations/c1/history",
                                  "/api/conversations/c1/events", "/api/nothing-here"])
async def test_no_credential_gets_401_with_a_reason(make_server, path):
    server = await make_server("web-a")
    status, data = await get(server, path)
    assert status == 401
    assert data["error"]["code"] == "unauthenticated"


async def test_health_checks_are_public(make_server):
    server = await make_server("web-a")
    assert (await get(server, "/healthz"))[0] == 200
    assert (await get(server, "/readyz"))[0] == 200


async def test_post_without_credential_is_refused_and_queues_nothing(redis, keys, make_server):
    server = await make_server("web-a")
    status, data = await post(server, {"conversation_id": "c", "text": "hi"}, {})
    assert status == 401
    assert await queued(redis, keys) == 0


async def test_a_wrong_bearer_token_is_refused(make_server):
    server = await make_server("web-a")
    for value in ("Bearer not-the-token", "Basic dXNlcjpwdw==", "Bearer "):
        status, data = await get(server, "/api/whoami", {"Authorization": value})
        assert status == 403, value
        assert data["error"]["code"] == "forbidden"


async def test_the_cli_token_is_the_installation_owner(make_server, cli_headers):
    server = await make_server("web-a")
    status, data = await get(server, "/api/whoami", cli_headers)
    assert (status, data) == (200, {"principal": "local", "via": "token"})


# -- another principal's conversation: 403 on every route ----------------------------------------
async def test_another_principals_conversation_is_403_on_every_route(
    redis, keys, make_server, access_store, cli_headers
):
    server = await make_server("web-a")
    alice = await sign_in(server, access_store, "web:alice")
    bob = await sign_in(server, access_store, "web:bob")
    await started(server, alice, "c-alice", "alice's secret design")
    before = await queued(redis, keys)

    for intruder in (bob, cli_headers):
        for path in ("/api/conversations/c-alice/history", "/api/conversations/c-alice/events",
                     "/api/conversations/c-alice/history?after=0-0"):
            status, data = await get(server, path, intruder)
            assert status == 403, (path, data)
            assert "secret" not in str(data)
        status, data = await post(
            server, {"conversation_id": "c-alice", "text": "rebuild it my way"}, intruder
        )
        assert status == 403 and "not yours" in data["error"]["message"]
    assert await queued(redis, keys) == before  # nothing of theirs reached the bus

    # the owner still reads and posts
    assert (await get(server, "/api/conversations/c-alice/history", alice))[0] == 200
    assert (await post(server, {"conversation_id": "c-alice", "text": "and a CDN"}, alice))[0] == 202


async def test_an_unknown_conversation_is_403_too(make_server, cli_headers):
    """No owner yet: reading it says nothing about whether it exists."""
    server = await make_server("web-a")
    status, _ = await get(server, "/api/conversations/c-nobody/history", cli_headers)
    assert status == 403


async def test_two_principals_racing_for_a_new_id_do_not_both_get_it(
    redis, keys, make_server, access_store
):
    server = await make_server("web-a")
    sessions = [await sign_in(server, access_store, f"web:user{n}") for n in range(8)]
    results = await asyncio.gather(*[
        post(server, {"conversation_id": "c-contested", "text": "mine"}, headers)
        for headers in sessions
    ])
    statuses = sorted(status for status, _ in results)
    assert statuses == [202] + [403] * 7
    winner = sessions[[s for s, _ in results].index(202)]
    assert (await get(server, "/api/conversations/c-contested/history", winner))[0] == 200
    assert await access_store.owner("c-contested") in {f"web:user{n}" for n in range(8)}


async def test_the_principal_is_the_envelopes_user(redis, keys, make_server, access_store):
    server = await make_server("web-a")
    alice = await sign_in(server, access_store, "web:alice")
    await started(server, alice, "c-who")
    entries = []
    for p in range(keys.partitions):
        entries += await redis.xrange(keys.ingress(p))
    body = next(fields["body"] for _, fields in entries)
    assert '"user":"web:alice"' in body and '"source":"web"' in body


async def test_idempotency_keys_are_each_principals_own(make_server, access_store, cli_headers):
    server = await make_server("web-a")
    alice = await sign_in(server, access_store, "web:alice")
    status_a, a = await post(server, {"conversation_id": "c-a", "text": "x",
                                      "idempotency_key": "k1"}, alice)
    status_c, c = await post(server, {"conversation_id": "c-c", "text": "x",
                                      "idempotency_key": "k1"}, cli_headers)
    assert status_a == status_c == 202
    assert a["accepted"] and c["accepted"] and a["request_id"] != c["request_id"]


# -- Slack conversations -----------------------------------------------------------------------
@pytest.mark.parametrize("conversation", ["slack:T1:C1:1700000000.000100", "other:thing"])
async def test_no_web_or_cli_principal_posts_into_a_slack_thread(
    redis, keys, make_server, access_store, cli_headers, conversation
):
    server = await make_server("web-a")
    alice = await sign_in(server, access_store, "web:alice")
    for headers in (cli_headers, alice):
        status, data = await post(server, {"conversation_id": conversation, "text": "hi"},
                                  headers)
        assert status == 403, data
        assert "another edge" in data["error"]["message"]
    assert await queued(redis, keys) == 0
    assert await access_store.owner(conversation) is None  # and nobody claimed it


async def test_a_slack_conversation_is_read_with_its_link_only(
    redis, keys, make_server, signer, cli_headers
):
    server = await make_server("web-a")
    conversation = "slack:T1:C1:1700000000.000100"
    await _append(redis, keys, conversation, "the design")
    path = f"/api/conversations/{conversation}/history"
    assert (await get(server, path, cli_headers))[0] == 403
    cap = signer.issue("conversation", conversation, ttl_s=60)
    status, data = await get(server, f"{path}?cap={cap}")
    assert status == 200 and data["events"][0]["text"] == "the design"


async def _append(redis, keys, conversation: str, text: str) -> str:
    from core.bus import EventLog

    return await EventLog(redis, keys).append(
        Event(type="status", conversation_id=conversation, request_id="r1", text=text)
    )


# -- capability links ------------------------------------------------------------------------
async def test_a_link_grants_reading_its_conversation_and_its_stream(
    redis, keys, make_server, signer, own
):
    server = await make_server("web-a")
    await own("c-linked", "web:alice")
    await _append(redis, keys, "c-linked", "step 0")
    cap = signer.issue("conversation", "c-linked", ttl_s=60)
    status, data = await get(server, f"/api/conversations/c-linked/history?cap={cap}")
    assert status == 200 and [e["text"] for e in data["events"]] == ["step 0"]
    async with ClientSession() as session:
        got = await read_sse(session, str(server.make_url(
            f"/api/conversations/c-linked/events?cap={cap}")), 1)
    assert got[0][2]["text"] == "step 0"


def _tamper(token: str) -> str:
    import base64
    import json

    body, _, mac = token.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["id"] = "c-other"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{forged}.{mac}"


@pytest.mark.parametrize("kind", ["forged", "expired", "tampered", "wrong_scope",
                                  "wrong_conversation", "old_key", "garbage", "empty"])
async def test_a_bad_link_is_403_with_a_reason(redis, keys, make_server, signer, own, kind):
    server = await make_server("web-a")
    await own("c-other", "web:alice")
    await own("c-linked", "web:alice")
    await _append(redis, keys, "c-other", "not for you")
    now = [1_000_000.0]
    if kind == "forged":
        cap = Signer([b"f" * 32]).issue("conversation", "c-other", ttl_s=60)
    elif kind == "expired":
        cap = Signer([b"k" * 32], clock=lambda: now[0]).issue("conversation", "c-other", ttl_s=60)
    elif kind == "tampered":
        cap = _tamper(signer.issue("conversation", "c-linked", ttl_s=60))
    elif kind == "wrong_scope":
        cap = signer.issue("design", "c-other", ttl_s=60)
    elif kind == "wrong_conversation":
        cap = signer.issue("conversation", "c-linked", ttl_s=60)
    elif kind == "old_key":  # signed with a key that was rotated out
        cap = Signer([b"o" * 32]).issue("conversation", "c-other", ttl_s=60)
    elif kind == "garbage":
        cap = "%00%ff..."
    else:
        cap = ""
    for route in ("history", "events"):
        status, data = await get(server, f"/api/conversations/c-other/{route}?cap={cap}")
        assert status == 403, (kind, route, data)
        assert data["error"]["message"] and "not for you" not in str(data)


async def test_a_link_signed_with_the_previous_key_works_after_rotation(
    redis, keys, make_server, own
):
    """ARCHOPS_SECRET_KEYS newest first: the servers here verify with b'k'*32; put a new key
    first and links signed with the old one stay valid."""
    from core.capability import signer_from

    old = Signer([b"k" * 32]).issue("conversation", "c-rot", ttl_s=60)
    import base64

    keys_setting = ",".join(base64.urlsafe_b64encode(k).decode() for k in (b"n" * 32, b"k" * 32))
    rotated = signer_from(keys_setting, data_dir=None)  # type: ignore[arg-type]
    assert rotated.verify(old, scope="conversation", subject="c-rot").subject == "c-rot"
    server = await make_server("web-a")
    await own("c-rot", "web:alice")
    assert (await get(server, f"/api/conversations/c-rot/history?cap={old}"))[0] == 200


async def test_a_link_cannot_post_or_open_other_routes(redis, keys, make_server, signer, own):
    server = await make_server("web-a")
    await own("c-linked", "web:alice")
    cap = signer.issue("conversation", "c-linked", actions={"read", "write"}, ttl_s=60)
    async with ClientSession() as session, session.post(
        str(server.make_url(f"/api/messages?cap={cap}")),
        json={"conversation_id": "c-linked", "text": "hi"},
    ) as response:
        assert response.status == 403
    assert await queued(redis, keys) == 0
    assert (await get(server, f"/api/whoami?cap={cap}"))[0] == 403


# -- same origin, JSON only, no CORS ---------------------------------------------------------------
async def test_a_cross_origin_text_plain_write_is_403(redis, keys, make_server, cli_headers):
    server = await make_server("web-a")
    async with ClientSession() as session, session.post(
        str(server.make_url("/api/messages")),
        data=b'{"conversation_id": "c", "text": "drive my archops"}',
        headers={**cli_headers, "Content-Type": "text/plain", "Origin": EVIL},
    ) as response:
        assert response.status == 403
        assert "cross-origin" in (await response.json())["error"]["message"]
        assert "Access-Control-Allow-Origin" not in response.headers
    assert await queued(redis, keys) == 0


@pytest.mark.parametrize("headers", [
    {"Origin": EVIL},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
async def test_a_cross_origin_json_write_is_403(redis, keys, make_server, access_store, headers):
    server = await make_server("web-a")
    alice = await sign_in(server, access_store, "web:alice")
    status, data = await post(server, {"conversation_id": "c", "text": "hi"}, {**alice, **headers})
    assert status == 403 and "cross-" in data["error"]["message"]
    assert await queued(redis, keys) == 0


async def test_a_same_origin_write_from_the_page_is_accepted(make_server, access_store):
    server = await make_server("web-a")
    alice = await sign_in(server, access_store, "web:alice")
    origin = str(server.make_url("")).rstrip("/")
    status, data = await post(server, {"conversation_id": "c", "text": "hi"},
                              {**alice, "Origin": origin, "Sec-Fetch-Site": "same-origin"})
    assert status == 202, data


async def test_behind_a_proxy_the_origin_is_the_public_url(make_server, cli_headers):
    server = await make_server("web-a", public_url="https://archops.example.com")
    ok = await post(server, {"conversation_id": "c", "text": "hi"},
                    {**cli_headers, "Origin": "https://archops.example.com"})
    assert ok[0] == 202
    local = str(server.make_url("")).rstrip("/")
    refused = await post(server, {"conversation_id": "c", "text": "hi"},
                         {**cli_headers, "Origin": local})
    assert refused[0] == 403


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", ""])
async def test_a_write_that_is_not_json_is_415(redis, keys, make_server, cli_headers,
                                               content_type):
    server = await make_server("web-a")
    headers = {**cli_headers, "Content-Type": content_type} if content_type else cli_headers
    async with ClientSession() as session, session.post(
        str(server.make_url("/api/messages")), data=b'{"conversation_id": "c", "text": "hi"}',
        headers=headers, skip_auto_headers=["Content-Type"],
    ) as response:
        assert response.status == 415
        assert "application/json" in (await response.json())["error"]["message"]
    assert await queued(redis, keys) == 0


async def test_unknown_routes_and_methods_answer_json(make_server, cli_headers):
    server = await make_server("web-a")
    status, data = await get(server, "/api/nothing-here", cli_headers)
    assert status == 404 and data["error"]["code"] == "not_found"
    async with ClientSession() as session, session.put(
        str(server.make_url("/api/messages")), json={}, headers=cli_headers
    ) as response:
        assert response.status == 405 and "POST" in response.headers["Allow"]
        assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_cors_is_closed(make_server, cli_headers):
    server = await make_server("web-a")
    async with ClientSession() as session:
        async with session.options(str(server.make_url("/api/messages")), headers={
            "Origin": EVIL, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"}) as response:
            assert response.status >= 400
            assert "Access-Control-Allow-Origin" not in response.headers
        async with session.get(str(server.make_url("/api/whoami")),
                               headers={**cli_headers, "Origin": EVIL}) as response:
            assert "Access-Control-Allow-Origin" not in response.headers


# -- bad input: a 4xx with a reason ------------------------------------------------------------------
@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"[" * 5000 + b"]" * 5000, 400, "nests deeper than"),
    (b'{"text": ' + b"[" * 40 + b"]" * 40 + b"}", 400, "nests deeper than"),
    (b'{"conversation_id": "c", "text": "' + b"x" * 70_000 + b'"}', 413, "over"),
    (b'{"conversation_id": "c", "text": NaN}', 400, "not JSON"),
    (b'{"conversation_id": "c", "text": "\xff\xfe"}', 400, "not UTF-8"),
    (b"{nope", 400, "not valid JSON"),
    (b"", 400, "not valid JSON"),
])
async def test_a_bad_body_is_a_4xx_with_its_reason(redis, keys, make_server, cli_headers, body,
                                                   status, reason):
    server = await make_server("web-a")
    async with ClientSession() as session, session.post(
        str(server.make_url("/api/messages")), data=body,
        headers={**cli_headers, "Content-Type": "application/json"},
    ) as response:
        assert response.status == status, await response.text()
        assert reason in (await response.json())["error"]["message"]
    assert await queued(redis, keys) == 0


async def test_a_body_streamed_without_length_is_bounded_too(make_server, cli_headers):
    server = await make_server("web-a")

    async def chunks():
        for _ in range(100):
            yield b"x" * 4096

    async with ClientSession() as session, session.post(
        str(server.make_url("/api/messages")), data=chunks(),
        headers={**cli_headers, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 413


async def test_strings_with_brackets_do_not_count_as_nesting(make_server, cli_headers):
    server = await make_server("web-a")
    status, data = await post(server, {"conversation_id": "c-b", "text": "[[[[" * 100 + '\\"{'},
                              cli_headers)
    assert status == 202, data


@pytest.mark.parametrize("value", [
    "١٧٠٠٠٠٠٠٠٠٠٠٠-٠",  # Arabic-Indic digits: \d matches them, Redis does not
    "18446744073709551616-0",  # 2**64
    "1-18446744073709551616",
    "99999999999999999999-99999999999999999999",
    "1700000000000",
    "1700000000000-0-0",
    "-1-0",
    "+1-0",
    "1-0x",
    "yesterday",
])
@pytest.mark.parametrize("route", ["events", "history"])
async def test_a_bad_last_event_id_is_400(make_server, cli_headers, own, value, route):
    server = await make_server("web-a")
    await own("c1")
    for how in ("header", "query"):
        headers = {**cli_headers}
        path = f"/api/conversations/c1/{route}"
        if how == "header":
            headers["Last-Event-ID"] = value.encode().decode("latin-1")
        else:
            from urllib.parse import quote

            path += f"?after={quote(value)}"
        status, data = await get(server, path, headers)
        assert status == 400, (value, how, data)
        assert "Last-Event-ID" in data["error"]["message"]


async def test_the_largest_stream_id_is_accepted(make_server, cli_headers, own):
    server = await make_server("web-a")
    await own("c1")
    for top in (f"{2**64 - 1}-0", f"{2**64 - 2}-{2**64 - 1}"):
        status, data = await get(server, f"/api/conversations/c1/history?after={top}",
                                 cli_headers)
        assert (status, data) == (200, {"events": []})
    # nothing can come after the very last id: refused rather than passed to Redis
    top = f"{2**64 - 1}-{2**64 - 1}"
    assert (await get(server, f"/api/conversations/c1/history?after={top}", cli_headers))[0] == 400


async def test_a_bad_conversation_id_in_the_path_is_400(make_server, cli_headers):
    server = await make_server("web-a")
    status, data = await get(server, "/api/conversations/" + "x" * 201 + "/history", cli_headers)
    assert status == 400 and "conversation id" in data["error"]["message"]


# -- one-time sign-in and sessions -----------------------------------------------------------------
async def test_a_sign_in_link_works_once_and_opens_a_session(make_server, access_store):
    server = await make_server("web-a")
    token = await access_store.issue_login("web:alice")
    url = str(server.make_url(f"/login?token={token}"))
    async with ClientSession() as session:
        async with session.head(url, allow_redirects=False) as probe:
            assert probe.status == 405  # a link checker's HEAD does not use the token up
        async with session.get(url, allow_redirects=False) as first:
            assert first.status == 303 and first.headers["Location"] == "/"
            raw = first.headers["Set-Cookie"]
        async with session.get(url, allow_redirects=False) as second:
            assert second.status == 403
            assert "already used" in (await second.json())["error"]["message"]
    cookie = SimpleCookie(raw)[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert cookie["path"] == "/"
    session_headers = {"Cookie": f"{SESSION_COOKIE}={cookie.value}"}
    assert (await get(server, "/api/whoami", session_headers))[1] == {
        "principal": "web:alice", "via": "session"}
    # no session id or sign-in token is kept in Redis as it was handed out
    assert not [k async for k in access_store.redis.scan_iter(match=f"*{cookie.value}*")]
    assert not [k async for k in access_store.redis.scan_iter(match=f"*{token}*")]


@pytest.mark.parametrize("token", ["", "made-up", "x" * 500])
async def test_a_made_up_sign_in_token_is_403(make_server, token):
    server = await make_server("web-a")
    status, data = await get(server, f"/login?token={token}")
    assert status == 403 and "sign-in link" in data["error"]["message"]


async def test_behind_tls_the_session_cookie_is_secure(make_server, access_store):
    server = await make_server("web-a")
    token = await access_store.issue_login("web:alice")
    async with ClientSession() as session, session.get(
        str(server.make_url(f"/login?token={token}")), allow_redirects=False,
        headers={"X-Forwarded-Proto": "https"},
    ) as response:
        cookie = SimpleCookie(response.headers["Set-Cookie"])[SESSION_COOKIE]
    assert cookie["secure"]


async def test_a_closed_or_unknown_session_is_refused(make_server, access_store):
    server = await make_server("web-a")
    alice = await sign_in(server, access_store, "web:alice")
    assert (await get(server, "/api/whoami", alice))[0] == 200
    async with ClientSession() as session, session.post(
        str(server.make_url("/api/logout")), json={}, headers=alice
    ) as response:
        assert response.status == 200
    assert (await get(server, "/api/whoami", alice))[0] == 403
    assert (await get(server, "/api/whoami", {"Cookie": f"{SESSION_COOKIE}=forged"}))[0] == 403


# -- security headers on every response --------------------------------------------------------------
async def test_every_response_carries_the_security_headers(make_server, cli_headers, own):
    server = await make_server("web-a")
    await own("c1")
    async with ClientSession() as session:
        for path, headers, status in [
            ("/healthz", {}, 200), ("/", cli_headers, 200), ("/api/whoami", {}, 401),
            ("/nowhere", cli_headers, 404), ("/api/conversations/c9/history", cli_headers, 403),
            ("/api/conversations/c1/history?after=x", cli_headers, 400),
        ]:
            async with session.get(str(server.make_url(path)), headers=headers) as response:
                assert response.status == status, path
                for name, value in SECURITY_HEADERS.items():
                    assert response.headers.get(name) == value, (path, name)
        async with session.get(str(server.make_url("/api/conversations/c1/events")),
                               headers=cli_headers) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            for name, value in SECURITY_HEADERS.items():
                assert response.headers.get(name) == value
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'wasm-unsafe-eval'" in csp
    assert "'unsafe-eval'" not in csp.replace("'wasm-unsafe-eval'", "")


# -- the CLI token file ------------------------------------------------------------------------------
def test_the_cli_token_is_created_once_and_private(tmp_path):
    data = tmp_path / "data"
    token = ensure_cli_token(data)
    path = data / "cli.token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert len(token) >= 40 and ensure_cli_token(data) == token == read_cli_token(data)


# -- projects and new sign-in links --------------------------------------------------------------
async def test_only_the_installation_owner_names_a_project(redis, keys, make_server,
                                                           access_store, cli_headers):
    server = await make_server("web-a")
    alice = await sign_in(server, access_store, "web:alice")
    status, data = await post(server, {"conversation_id": "c-p", "text": "hi",
                                       "project_id": "prod"}, alice)
    assert status == 403 and "project" in data["error"]["message"]
    assert await queued(redis, keys) == 0
    status, _ = await post(server, {"conversation_id": "c-p2", "text": "hi",
                                    "project_id": "prod"}, cli_headers)
    assert status == 202


async def test_the_cli_makes_a_new_sign_in_link_and_nobody_else_does(make_server, access_store,
                                                                      cli_headers):
    server = await make_server("web-a")
    async with ClientSession() as session:
        async with session.post(str(server.make_url("/api/sign-in-links")), json={},
                                headers=cli_headers) as response:
            assert response.status == 201
            link = (await response.json())["url"]
        assert link.startswith(str(server.make_url("/login?token=")))
        async with session.get(link, allow_redirects=False) as opened:
            assert opened.status == 303
        alice = await sign_in(server, access_store, "web:alice")
        async with session.post(str(server.make_url("/api/sign-in-links")), json={},
                                headers=alice) as response:
            assert response.status == 403


async def test_the_owner_shares_a_read_link_and_nobody_else_can(
    redis, keys, make_server, access_store, cli_headers
):
    server = await make_server("web-a")
    alice = await sign_in(server, access_store, "web:alice")
    await started(server, alice, "c-shared", "alice's design")
    url = str(server.make_url("/api/conversations/c-shared/links"))
    async with ClientSession() as session:
        async with session.post(url, json={"ttl_s": 3600}, headers=alice) as response:
            assert response.status == 201
            link = await response.json()
        assert link["expires_in"] == 3600
        async with session.get(link["history_url"]) as response:  # no session: the link alone
            assert response.status == 200
            assert (await response.json())["events"] == []
        cap = link["history_url"].split("cap=")[1]
        for headers, body in ((cli_headers, {}), (alice, {"ttl_s": "3600"}),
                              (alice, {"ttl_s": 10}), (alice, {"who": "bob"})):
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status in (400, 403), (headers, body)
        async with session.post(f"{url}?cap={cap}", json={}) as response:
            assert response.status == 403


def test_processes_starting_together_agree_on_one_cli_token(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    data = tmp_path / "data"
    with ThreadPoolExecutor(8) as pool:
        tokens = set(pool.map(lambda _: ensure_cli_token(data), range(32)))
    assert tokens == {read_cli_token(data)}
    assert [p.name for p in data.iterdir()] == ["cli.token"]
    (data / "cli.token").write_text("")  # an empty leftover is replaced
    assert len(ensure_cli_token(data)) >= 40
