"""Linking a person's GitHub account through OAuth's web flow, against the GitHub stand-in:
the link, a forged or replayed state refused, the token sealed at rest, a revoked token
reported, unlinking revokes it at GitHub, and pull requests then open as that person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import ClientSession

from core.codehost.effect import deliver_once
from core.codehost.errors import CredentialsRejected
from core.codehost.hosts import Hosts
from core.settings import Settings
from core.store import Store
from tests.codehost.conftest import make_ctx  # noqa: F401 - the worker's request contexts
from tests.codehost.designs import change
from tests.codehost.github_standin import GitHubStandIn
from tests.web.test_access import sign_in
from web.github_link import STATE_COOKIE, GitHubOAuth

CLIENT_ID, CLIENT_SECRET = "Iv1.0123456789abcdef", "oauth-secret-for-tests-0123456789"


@pytest.fixture
def github():  # type: ignore[no-untyped-def]
    standin = GitHubStandIn().start()
    standin.oauth_apps[CLIENT_ID] = CLIENT_SECRET
    standin.add_repo("acme/infra")
    yield standin
    standin.stop()


@pytest.fixture
async def parts(tmp_path, github) -> AsyncIterator[tuple[Store, Settings, GitHubOAuth]]:
    settings = Settings(data_dir=tmp_path / "data", github_api_url=github.url,
                        github_oauth_url=github.url, github_write_interval_s=0,
                        github_client_id=CLIENT_ID, github_client_secret=CLIENT_SECRET)
    store = await Store.open(f"sqlite:///{tmp_path / 'data' / 'archops.sqlite3'}")
    yield store, settings, GitHubOAuth(CLIENT_ID, CLIENT_SECRET, github.url, github.url, store,
                                       settings.vault())
    await store.close()


@pytest.fixture
async def server(make_server, parts):  # type: ignore[no-untyped-def]
    return await make_server("web-g", github=parts[2])


async def get(server_or_url, path="", headers=None):  # type: ignore[no-untyped-def]
    url = str(server_or_url.make_url(path)) if hasattr(server_or_url, "make_url") else server_or_url
    async with ClientSession() as session, session.get(url, headers=headers or {},
                                                       allow_redirects=False) as response:
        body = await response.json() if response.content_type == "application/json" \
            else await response.text()
        return response.status, response.headers, body


async def start_link(server, session_headers):  # type: ignore[no-untyped-def]
    """/auth/github -> GitHub's authorize (the stand-in approves) -> back with code and state."""
    status, headers, _ = await get(server, "/auth/github", session_headers)
    assert status == 302, headers
    state_cookie = SimpleCookie(headers["Set-Cookie"])[STATE_COOKIE].value
    status, headers, _ = await get(headers["Location"])
    assert status == 302
    return headers["Location"], state_cookie


async def link(server, access_store, principal="web:alice"):  # type: ignore[no-untyped-def]
    session = await sign_in(server, access_store, principal)
    callback, cookie = await start_link(server, session)
    query = parse_qs(urlsplit(callback).query)
    status, _headers, text = await get(callback, headers={"Cookie": f"{STATE_COOKIE}={cookie}"})
    return session, status, text, query


async def test_a_person_links_their_account_and_the_token_is_sealed(server, access_store, parts,
                                                                    github, tmp_path):
    session, status, text, query = await link(server, access_store)
    assert status == 200 and "Linked your GitHub account @octocat" in text
    assert query["state"] and query["code"]
    status, _h, state = await get(server, "/api/github", session)
    assert state["linked"] is True and state["login"] == "octocat" and state["status"] == "linked"
    account = await parts[0].get_github_account("web:alice")
    token = parts[2].vault.open(account.sealed_token)
    assert token.startswith("gho_") and token in github.tokens
    stored = (tmp_path / "data" / "archops.sqlite3").read_bytes()
    wal = tmp_path / "data" / "archops.sqlite3-wal"
    stored += wal.read_bytes() if wal.exists() else b""
    assert token.encode() not in stored  # only the sealed form is at rest


async def test_the_callback_refuses_a_forged_a_foreign_or_a_replayed_state(server, access_store,
                                                                          parts):
    session = await sign_in(server, access_store, "web:alice")
    callback, cookie = await start_link(server, session)
    forged = callback.split("state=")[0] + "state=forged-state-value"
    status, _h, body = await get(forged, headers={"Cookie": f"{STATE_COOKIE}=forged-state-value"})
    assert status == 403 and "expired or was already used" in body["error"]["message"]
    # the right state in a browser that did not start the link (no or another cookie)
    status, _h, body = await get(callback, headers={"Cookie": f"{STATE_COOKIE}=someone-else"})
    assert status == 403 and "not started in this browser" in body["error"]["message"]
    assert (await get(callback))[0] == 403
    status, _h, _ = await get(callback, headers={"Cookie": f"{STATE_COOKIE}={cookie}"})
    assert status == 200
    status, _h, body = await get(callback, headers={"Cookie": f"{STATE_COOKIE}={cookie}"})
    assert status == 403  # a state works once
    assert await parts[0].get_github_account("web:alice") is not None


async def test_linking_needs_a_signed_in_browser(server):
    status, _h, body = await get(server, "/auth/github")
    assert status == 401


async def test_a_revoked_token_is_reported(server, access_store, parts, github, make_ctx):  # noqa: F811
    store, settings, oauth = parts
    session, status, _t, _q = await link(server, access_store)
    token = oauth.vault.open((await store.get_github_account("web:alice")).sealed_token)
    github.revoke(token)  # the person revokes archops in their GitHub settings
    status, _h, state = await get(server, "/api/github?check=1", session)
    assert state["status"] == "revoked" and "revoked or has expired" in state["problem"]
    # a delivery for that person says so, rather than using other credentials quietly
    hosts = Hosts(settings, store)
    with pytest.raises(CredentialsRejected, match="revoked or has expired"):
        await hosts.credentials("web:alice")
    project = await store.ensure_project("shop", github_repo="acme/infra")
    make_host, _c = await hosts.for_project(project, "web:alice")
    result = await deliver_once(await make_ctx("c1", "r1"), make_host, change("c1", "r1", 1))
    assert result["action"] == "failed" and result["code"] == "credentials_rejected"
    assert "/settings/github" in result["hint"]


async def test_pull_requests_open_as_the_person_who_linked(server, access_store, parts, github,
                                                           make_ctx):  # noqa: F811
    store, settings, _oauth = parts
    await link(server, access_store, "slack:T0TEAM:U0ALICE")
    hosts = Hosts(settings, store)
    project = await store.ensure_project("shop", github_repo="acme/infra")
    make_host, credentials = await hosts.for_project(project, "slack:T0TEAM:U0ALICE")
    assert credentials is not None and credentials.who == "your linked GitHub account (@octocat)"
    result = await deliver_once(await make_ctx("c2", "r1"), make_host, change("c2", "r1", 1))
    assert result["action"] == "opened"
    assert github.repos["acme/infra"].pulls[0]["user"] == "octocat"
    assert github.branch_log("acme/infra", result["branch"])[0]["author"] == "octocat"


async def test_unlinking_revokes_the_token_at_github_and_forgets_it(server, access_store, parts,
                                                                    github):
    store, _settings, oauth = parts
    session, _s, _t, _q = await link(server, access_store)
    token = oauth.vault.open((await store.get_github_account("web:alice")).sealed_token)
    async with ClientSession() as client, client.delete(
        str(server.make_url("/api/github")), json={}, headers=session
    ) as response:
        assert response.status == 200
        assert await response.json() == {"unlinked": True, "revoked_at_github": True}
    assert token not in github.tokens
    assert await store.get_github_account("web:alice") is None
    assert (await get(server, "/api/github", session))[2] == {"configured": True, "linked": False}
