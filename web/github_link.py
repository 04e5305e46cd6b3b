"""A person links their GitHub account (OAuth web flow), so their designs' pull requests are theirs.

    GET    /auth/github             (signed in) off to GitHub with a state bound to this person and
                                    this browser (Redis, ten minutes, once; a short-lived cookie)
    GET    /auth/github/callback    the code -> a token at GitHub's token endpoint (client secret
                                    from settings); GitHub names the account (/user); the token
                                    is sealed (core.vault) and stored for the person
    GET    /api/github              what is linked; ``?check=1`` asks GitHub whether the token
                                    still works (a revoked one is reported and marked)
    DELETE /api/github              revoke the token at GitHub and forget it

The callback is a top-level navigation back from github.com, which does not carry the session
cookie (SameSite=Strict): who it is for comes from the state recorded when the signed-in person
started, and the state cookie proves the same browser came back. A forged, replayed or expired
state is refused before GitHub is asked anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from core.logging import get_logger
from core.redis_client import RETRYABLE
from web.auth import ACCESS, PRINCIPAL, refuse

log = get_logger("archops.web.github")
STATE_COOKIE = "archops_github_state"
STATE_TTL_S = 600
CALLBACK_PATH = "/auth/github/callback"
SCOPE = "repo"


@dataclass(frozen=True)
class GitHubOAuth:
    client_id: str
    client_secret: str
    oauth_url: str  # https://github.com (or an Enterprise host; a stand-in in tests)
    api_url: str  # https://api.github.com
    store: Any  # core.store.Store
    vault: Any  # core.vault.Vault

    @property
    def authorize_url(self) -> str:
        return f"{self.oauth_url.rstrip('/')}/login/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.oauth_url.rstrip('/')}/login/oauth/access_token"


GITHUB = web.AppKey("github_oauth", GitHubOAuth)


class LinkRefused(Exception):
    pass


def _oauth(request: web.Request) -> GitHubOAuth | None:
    return request.app.get(GITHUB)


def _not_configured() -> web.Response:
    return refuse(404, "not_found", "linking GitHub accounts is not configured",
                  hint="set ARCHOPS_GITHUB_CLIENT_ID and ARCHOPS_GITHUB_CLIENT_SECRET (a GitHub "
                       "OAuth app whose callback is /auth/github/callback)")


def _state_key(request: web.Request, state: str) -> str:
    digest = hashlib.sha256(state.encode()).hexdigest()
    return f"{request.app[ACCESS].store.prefix}:github-oauth:{digest}"


def _callback_url(request: web.Request) -> str:
    return request.app[ACCESS].own_origin(request) + CALLBACK_PATH


async def start(request: web.Request) -> web.StreamResponse:
    oauth = _oauth(request)
    if oauth is None:
        return _not_configured()
    principal = request[PRINCIPAL]
    if principal.via != "session":
        return refuse(403, "forbidden", "link a GitHub account from a browser session",
                      hint="open the web app (the link `archops up` printed), then /settings/github")
    access = request.app[ACCESS]
    state = secrets.token_urlsafe(24)
    try:
        await access.store.redis.set(_state_key(request, state), principal.id, ex=STATE_TTL_S)
    except RETRYABLE:
        return refuse(503, "unavailable", "redis is not reachable", headers={"Retry-After": "2"})
    query = {"client_id": oauth.client_id, "redirect_uri": _callback_url(request), "scope": SCOPE,
             "state": state, "allow_signup": "false"}
    response = web.Response(status=302, headers={"Location": f"{oauth.authorize_url}?"
                                                             f"{urlencode(query)}"})
    response.set_cookie(STATE_COOKIE, state, max_age=STATE_TTL_S, path=CALLBACK_PATH,
                        httponly=True, samesite="Lax", secure=access.secure_cookies(request))
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    oauth = _oauth(request)
    if oauth is None:
        return _not_configured()
    if "error" in request.query:
        return refuse(403, "forbidden", "GitHub did not link the account: "
                      f"{request.query.get('error_description', request.query['error'])[:200]}")
    state, code = request.query.get("state", ""), request.query.get("code", "")
    if not state or not code or len(state) > 100 or len(code) > 200:
        return refuse(400, "invalid_request", "the callback needs a code and a state")
    cookie = request.cookies.get(STATE_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, state):
        return refuse(403, "forbidden", "this GitHub link was not started in this browser",
                      hint="start again at /settings/github")
    access = request.app[ACCESS]
    try:
        principal = await access.store.redis.getdel(_state_key(request, state))
    except RETRYABLE:
        return refuse(503, "unavailable", "redis is not reachable", headers={"Retry-After": "2"})
    if principal is None:
        return refuse(403, "forbidden", "this GitHub link has expired or was already used",
                      hint="start again at /settings/github")
    principal = principal.decode() if isinstance(principal, bytes) else str(principal)
    try:
        token, scopes = await _exchange(oauth, code, _callback_url(request))
        login = await _login(oauth, token)
    except LinkRefused as exc:
        log.warning("github link refused", reason=str(exc))
        return refuse(403, "forbidden", str(exc), hint="start again at /settings/github")
    except (aiohttp.ClientError, TimeoutError):
        return refuse(503, "unavailable", "GitHub cannot be reached to finish the link",
                      headers={"Retry-After": "5"})
    await oauth.store.put_github_account(principal, login=login,
                                         sealed_token=oauth.vault.seal(token), scopes=scopes)
    log.info("github account linked", principal=principal, login=login)
    # a same-origin page goes on to the settings, with the (Strict) session cookie again
    response = web.Response(
        text=('<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" '
              'content="0;url=/settings/github"><title>archops</title>'
              f"<p>Linked your GitHub account @{_escape(login)}. "
              '<a href="/settings/github">Continue</a></p>'),
        content_type="text/html")
    response.del_cookie(STATE_COOKIE, path=CALLBACK_PATH)
    return response


def _escape(text: str) -> str:
    import html

    return html.escape(text)


async def _exchange(oauth: GitHubOAuth, code: str, redirect_uri: str) -> tuple[str, str]:
    form = {"client_id": oauth.client_id, "client_secret": oauth.client_secret, "code": code,
            "redirect_uri": redirect_uri}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
        oauth.token_url, data=form, headers={"Accept": "application/json"}
    ) as response:
        try:
            answer = await response.json(content_type=None)
        except ValueError as exc:
            raise LinkRefused("GitHub's token endpoint did not answer JSON") from exc
    if not isinstance(answer, dict) or not answer.get("access_token"):
        error = answer.get("error_description") or answer.get("error") if isinstance(
            answer, dict) else None
        raise LinkRefused(f"GitHub refused the link: {str(error or 'no token given')[:200]}")
    return str(answer["access_token"]), str(answer.get("scope") or "")


async def _login(oauth: GitHubOAuth, token: str) -> str:
    status, data = await _user(oauth, token)
    if status != 200 or not isinstance(data, dict) or not isinstance(data.get("login"), str):
        raise LinkRefused(f"GitHub did not say whose token it gave (HTTP {status})")
    return str(data["login"])


async def _user(oauth: GitHubOAuth, token: str) -> tuple[int, Any]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(
        f"{oauth.api_url.rstrip('/')}/user",
        headers={"Authorization": f"token {token}", "Accept": "application/vnd.github+json"},
    ) as response:
        try:
            return response.status, await response.json(content_type=None)
        except ValueError:
            return response.status, None


async def status(request: web.Request) -> web.Response:
    oauth = _oauth(request)
    principal = request[PRINCIPAL]
    if oauth is None:
        return web.json_response({"configured": False, "linked": False})
    account = await oauth.store.get_github_account(principal.id)
    if account is None:
        return web.json_response({"configured": True, "linked": False})
    out: dict[str, Any] = {"configured": True, "linked": True, "login": account.login,
                           "status": account.status, "scopes": account.scopes,
                           "linked_at": account.created_at.isoformat()}
    if request.query.get("check") == "1" and account.status == "linked":
        try:
            code, _data = await _user(oauth, oauth.vault.open(account.sealed_token))
        except (aiohttp.ClientError, TimeoutError):
            out["problem"] = "GitHub cannot be reached to check the token"
            return web.json_response(out)
        if code == 401:
            await oauth.store.mark_github_account(principal.id, "revoked")
            out["status"] = "revoked"
    if out["status"] == "revoked":
        out["problem"] = ("GitHub refused the token: it was revoked or has expired; link your "
                          "account again, or unlink it to use archops' own credentials")
    return web.json_response(out)


async def unlink(request: web.Request) -> web.Response:
    oauth = _oauth(request)
    if oauth is None:
        return _not_configured()
    principal = request[PRINCIPAL]
    account = await oauth.store.get_github_account(principal.id)
    if account is None:
        return refuse(404, "not_found", "no GitHub account is linked")
    revoked, note = False, ""
    try:
        token = oauth.vault.open(account.sealed_token)
        basic = base64.b64encode(f"{oauth.client_id}:{oauth.client_secret}".encode()).decode()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
                session.delete(f"{oauth.api_url.rstrip('/')}/applications/{oauth.client_id}/token",
                               json={"access_token": token},
                               headers={"Accept": "application/vnd.github+json",
                                        "Authorization": f"Basic {basic}"}) as response:
            revoked = response.status == 204
            if response.status == 404:
                note = "GitHub no longer knew the token (it was revoked there already)"
            elif not revoked:
                note = (f"GitHub did not revoke the token (HTTP {response.status}); revoke "
                        "archops at github.com/settings/applications")
    except (aiohttp.ClientError, TimeoutError):
        note = ("GitHub cannot be reached to revoke the token; revoke archops at "
                "github.com/settings/applications")
    except Exception as exc:  # noqa: BLE001 - a token that cannot be unsealed is forgotten too
        note = f"the stored token could not be read ({type(exc).__name__}); it is forgotten"
    await oauth.store.delete_github_account(principal.id)
    log.info("github account unlinked", principal=principal.id, revoked=revoked)
    return web.json_response({"unlinked": True, "revoked_at_github": revoked,
                              **({"note": note} if note else {})})


def add_routes(app: web.Application, oauth: GitHubOAuth | None) -> None:
    if oauth is not None:
        app[GITHUB] = oauth
    app.router.add_get("/auth/github", start)
    app.router.add_get(CALLBACK_PATH, callback)
    app.router.add_get("/api/github", status)
    app.router.add_delete("/api/github", unlink)
