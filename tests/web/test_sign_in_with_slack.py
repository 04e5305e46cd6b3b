"""Sign in with Slack (OpenID Connect) against a stand-in for Slack's endpoints."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from aiohttp import ClientSession

from tests.web.slack_oidc_standin import CLIENT_ID, CLIENT_SECRET, SlackOIDCStandIn
from web.auth import SESSION_COOKIE
from web.oidc import STATE_COOKIE, SlackSignIn


@pytest.fixture
async def slack():
    standin = await SlackOIDCStandIn().start()
    yield standin
    await standin.stop()


async def server_for(make_server, slack, team_id: str | None = None):
    sign_in = SlackSignIn(CLIENT_ID, CLIENT_SECRET, base_url=slack.url, team_id=team_id)
    return await make_server("web-a", slack_sign_in=sign_in)


async def sign_in_flow(server, *, keep_state_cookie: bool = True, replay: bool = False):
    """What a browser does: /auth/slack -> Slack -> callback; returns the callback's response."""
    async with ClientSession() as session:
        async with session.get(str(server.make_url("/auth/slack")),
                               allow_redirects=False) as start:
            assert start.status == 302
            to_slack = start.headers["Location"]
            state_cookie = SimpleCookie(start.headers["Set-Cookie"])[STATE_COOKIE]
        assert state_cookie["samesite"] == "Lax" and state_cookie["httponly"]
        async with session.get(to_slack, allow_redirects=False) as at_slack:
            back = at_slack.headers["Location"]
        headers = {"Cookie": f"{STATE_COOKIE}={state_cookie.value}"} if keep_state_cookie else {}
        async with session.get(back, headers=headers, allow_redirects=False) as callback:
            result = (callback.status, dict(callback.headers), await callback.text())
        if replay:
            async with session.get(back, headers=headers, allow_redirects=False) as again:
                return result, (again.status, await again.json())
    return result


async def test_slack_sign_in_opens_a_session_for_the_slack_user(make_server, slack):
    server = await server_for(make_server, slack)
    status, headers, body = await sign_in_flow(server)
    assert status == 200 and 'url=/' in body, body
    cookie = SimpleCookie(headers["Set-Cookie"])[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    async with ClientSession() as session, session.get(
        str(server.make_url("/api/whoami")),
        headers={"Cookie": f"{SESSION_COOKIE}={cookie.value}"},
    ) as response:
        assert await response.json() == {"principal": "slack:T0TEAM1:U0ALICE", "via": "session"}


async def test_the_authorization_request_asks_for_openid_with_state_and_nonce(make_server, slack):
    server = await server_for(make_server, slack, team_id="T0TEAM1")
    async with ClientSession() as session, session.get(
        str(server.make_url("/auth/slack")), allow_redirects=False
    ) as response:
        location = response.headers["Location"]
    assert location.startswith(f"{slack.url}/openid/connect/authorize?")
    for part in ("response_type=code", "scope=openid+profile", f"client_id={CLIENT_ID}",
                 "state=", "nonce=", "team=T0TEAM1",
                 "redirect_uri=http%3A%2F%2F127.0.0.1"):
        assert part in location, part


async def test_a_callback_in_another_browser_is_refused(make_server, slack):
    server = await server_for(make_server, slack)
    status, headers, body = await sign_in_flow(server, keep_state_cookie=False)
    assert status == 403 and "not started in this browser" in body
    assert SESSION_COOKIE not in headers.get("Set-Cookie", "")


async def test_a_callback_works_once(make_server, slack):
    server = await server_for(make_server, slack)
    first, (status, data) = await sign_in_flow(server, replay=True)
    assert first[0] == 200
    assert status == 403 and "already used" in data["error"]["message"]


async def test_another_workspace_is_refused(make_server, slack):
    server = await server_for(make_server, slack, team_id="T0OURS")
    status, headers, body = await sign_in_flow(server)
    assert status == 403 and "another Slack workspace" in body


@pytest.mark.parametrize(("override", "reason"), [
    ({"nonce": "someone-elses"}, "nonce"),
    ({"aud": "another-app"}, "another app"),
    ({"iss": "https://evil.example"}, "not issued by Slack"),
    ({"exp": 1}, "expired"),
    ({"https://slack.com/team_id": None}, "names no Slack workspace"),
    ({"https://slack.com/user_id": "u/../admin", "sub": "x"}, "names no Slack workspace"),
])
async def test_a_bad_id_token_is_refused(make_server, slack, override, reason):
    server = await server_for(make_server, slack)
    slack.override = override
    status, _, body = await sign_in_flow(server)
    assert status == 403 and reason in body


async def test_slack_refusing_the_code_is_403(make_server, slack):
    sign_in = SlackSignIn(CLIENT_ID, "wrong-secret", base_url=slack.url)
    server = await make_server("web-a", slack_sign_in=sign_in)
    status, _, body = await sign_in_flow(server)
    assert status == 403 and "invalid_client" in body


async def test_without_slack_configured_the_routes_say_so(make_server):
    server = await make_server("web-a")
    async with ClientSession() as session, session.get(
        str(server.make_url("/auth/slack")), allow_redirects=False
    ) as response:
        assert response.status == 404
        assert "not configured" in (await response.json())["error"]["message"]
