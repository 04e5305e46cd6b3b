"""Sign in with Slack: OpenID Connect (authorization code flow) for a team deployment's web app.

``GET /auth/slack`` sends the browser to Slack with a random ``state`` (kept in Redis for ten
minutes, once, and bound to the browser by a short-lived cookie) and a ``nonce``;
``GET /auth/slack/callback`` exchanges the code at Slack's token endpoint with the client secret,
checks the ID token (issuer, audience, expiry, nonce) and opens a session for
``slack:<team>:<user>``, the person Slack knows. The ID token comes straight from Slack's token
endpoint over TLS, which OpenID Connect accepts in place of checking its signature (Core 1.0,
3.1.3.7). ``base_url`` is Slack (``https://slack.com``) or a local stand-in in tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from core.logging import get_logger
from core.redis_client import RETRYABLE
from web.auth import ACCESS, SESSION_COOKIE, SESSION_TTL_S, refuse

log = get_logger("archops.web.oidc")
STATE_COOKIE = "archops_oidc_state"
STATE_TTL_S = 600
CALLBACK_PATH = "/auth/slack/callback"
SLACK_ID_RE = re.compile(r"[A-Z0-9]{2,40}", re.ASCII)
TEAM_CLAIM = "https://slack.com/team_id"
USER_CLAIM = "https://slack.com/user_id"


class SignInRefused(Exception):
    pass


@dataclass(frozen=True)
class SlackSignIn:
    client_id: str
    client_secret: str
    base_url: str = "https://slack.com"
    team_id: str | None = None

    @property
    def issuer(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def authorize_url(self) -> str:
        return f"{self.issuer}/openid/connect/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/api/openid.connect.token"

    def principal_from(self, id_token: str, nonce: str, now: float | None = None) -> str:
        """The principal an ID token names, after checking it is for us, fresh and ours."""
        claims = _claims(id_token)
        now = time.time() if now is None else now
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != self.issuer:
            raise SignInRefused("the ID token was not issued by Slack")
        if self.client_id not in audiences:
            raise SignInRefused("the ID token is for another app")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
            raise SignInRefused("the ID token has expired")
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
            claims["nonce"], nonce
        ):
            raise SignInRefused("the ID token does not answer this sign-in (nonce)")
        team, user = claims.get(TEAM_CLAIM), claims.get(USER_CLAIM) or claims.get("sub")
        if not (isinstance(team, str) and SLACK_ID_RE.fullmatch(team)
                and isinstance(user, str) and SLACK_ID_RE.fullmatch(user)):
            raise SignInRefused("the ID token names no Slack workspace and user")
        if self.team_id and team != self.team_id:
            raise SignInRefused("this archops signs in people of another Slack workspace")
        return f"slack:{team}:{user}"


def _claims(id_token: str) -> dict[str, Any]:
    parts = id_token.split(".") if isinstance(id_token, str) else []
    if len(parts) != 3:
        raise SignInRefused("Slack's answer holds no valid ID token")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignInRefused("Slack's answer holds no valid ID token") from exc
    if not isinstance(claims, dict):
        raise SignInRefused("Slack's answer holds no valid ID token")
    return claims


def _state_key(request: web.Request, state: str) -> str:
    return f"{request.app[ACCESS].store.prefix}:oidc:{hashlib.sha256(state.encode()).hexdigest()}"


def _callback_url(request: web.Request) -> str:
    return request.app[ACCESS].own_origin(request) + CALLBACK_PATH


async def start(request: web.Request) -> web.StreamResponse:
    """GET /auth/slack: off to Slack, with a state bound to this browser and a nonce."""
    access = request.app[ACCESS]
    slack = access.slack_sign_in
    if slack is None:
        return refuse(404, "not_found", "Sign in with Slack is not configured",
                      hint="set ARCHOPS_SLACK_CLIENT_ID and ARCHOPS_SLACK_CLIENT_SECRET")
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    try:
        await access.store.redis.set(_state_key(request, state), nonce, ex=STATE_TTL_S)
    except RETRYABLE:
        return refuse(503, "unavailable", "redis is not reachable", headers={"Retry-After": "2"})
    query = {"response_type": "code", "scope": "openid profile", "client_id": slack.client_id,
             "state": state, "nonce": nonce, "redirect_uri": _callback_url(request)}
    if slack.team_id:
        query["team"] = slack.team_id
    response = web.Response(status=302, headers={"Location": f"{slack.authorize_url}?"
                                                             f"{urlencode(query)}"})
    # Lax, not Strict: the callback is a top-level navigation coming back from slack.com
    response.set_cookie(STATE_COOKIE, state, max_age=STATE_TTL_S, path=CALLBACK_PATH,
                        httponly=True, samesite="Lax", secure=access.secure_cookies(request))
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    """GET /auth/slack/callback?code=...&state=...: the code becomes a session."""
    access = request.app[ACCESS]
    slack = access.slack_sign_in
    if slack is None:
        return refuse(404, "not_found", "Sign in with Slack is not configured")
    if "error" in request.query:
        return refuse(403, "forbidden", f"Slack did not sign you in: {request.query['error'][:100]}")
    state, code = request.query.get("state", ""), request.query.get("code", "")
    cookie = request.cookies.get(STATE_COOKIE, "")
    if not state or not code or len(state) > 100 or len(code) > 500:
        return refuse(400, "invalid_request", "the callback needs a code and a state")
    if not cookie or not hmac.compare_digest(cookie, state):
        return refuse(403, "forbidden", "this sign-in was not started in this browser",
                      hint="start again at /auth/slack")
    try:
        nonce = await access.store.redis.getdel(_state_key(request, state))
    except RETRYABLE:
        return refuse(503, "unavailable", "redis is not reachable", headers={"Retry-After": "2"})
    if nonce is None:
        return refuse(403, "forbidden", "this sign-in has expired or was already used",
                      hint="start again at /auth/slack")
    try:
        answer = await _exchange(slack, code, _callback_url(request))
        principal = slack.principal_from(answer.get("id_token", ""), nonce)
    except SignInRefused as exc:
        log.warning("slack sign-in refused", reason=str(exc))
        return refuse(403, "forbidden", str(exc))
    except (aiohttp.ClientError, TimeoutError):
        return refuse(503, "unavailable", "Slack cannot be reached to finish the sign-in",
                      headers={"Retry-After": "5"})
    session_id = await access.store.open_session(principal)
    # the session cookie is SameSite=Strict: a redirect that ends a chain started on slack.com
    # would arrive without it, so a same-origin page goes on to /
    response = web.Response(
        text='<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/">'
             '<title>archops</title><p>Signed in. <a href="/">Continue</a></p>',
        content_type="text/html",
    )
    response.set_cookie(SESSION_COOKIE, session_id, max_age=SESSION_TTL_S, path="/",
                        httponly=True, samesite="Strict", secure=access.secure_cookies(request))
    response.del_cookie(STATE_COOKIE, path=CALLBACK_PATH)
    log.info("session opened with Slack", principal=principal)
    return response


async def _exchange(slack: SlackSignIn, code: str, redirect_uri: str) -> dict[str, Any]:
    form = {"client_id": slack.client_id, "client_secret": slack.client_secret, "code": code,
            "redirect_uri": redirect_uri, "grant_type": "authorization_code"}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
        slack.token_url, data=form
    ) as response:
        try:
            answer = await response.json(content_type=None)
        except ValueError as exc:
            raise SignInRefused("Slack's token endpoint did not answer JSON") from exc
    if not isinstance(answer, dict) or not answer.get("ok"):
        error = answer.get("error") if isinstance(answer, dict) else None
        raise SignInRefused(f"Slack refused the sign-in: {str(error or 'unknown error')[:100]}")
    return answer


def add_routes(app: web.Application) -> None:
    app.router.add_get("/auth/slack", start)
    app.router.add_get(CALLBACK_PATH, callback)
