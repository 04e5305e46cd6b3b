"""A local stand-in for Slack's OpenID Connect endpoints (authorize and openid.connect.token)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestServer

CLIENT_ID = "1234.5678"
CLIENT_SECRET = "oidc-client-secret-for-tests"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class SlackOIDCStandIn:
    def __init__(self) -> None:
        self.user = ("T0TEAM1", "U0ALICE")  # who signs in at the next authorize
        self.override: dict[str, Any] = {}  # claims to change in the next ID token
        self.codes: dict[str, dict[str, str]] = {}
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> SlackOIDCStandIn:
        app = web.Application()
        app.router.add_get("/openid/connect/authorize", self.authorize)
        app.router.add_post("/api/openid.connect.token", self.token)
        self.server = TestServer(app)
        await self.server.start_server()
        return self

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        assert q["response_type"] == "code" and "openid" in q["scope"].split()
        code = secrets.token_hex(8)
        self.codes[code] = {"nonce": q["nonce"], "client_id": q["client_id"],
                            "redirect_uri": q["redirect_uri"], "team": self.user[0],
                            "user": self.user[1]}
        target = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
        return web.Response(status=302, headers={"Location": target})

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = self.codes.pop(str(form.get("code")), None)
        if (form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET):
            return web.json_response({"ok": False, "error": "invalid_client"})
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return web.json_response({"ok": False, "error": "invalid_code"})
        claims = {"iss": self.url, "aud": CLIENT_ID, "sub": grant["user"],
                  "exp": int(time.time()) + 300, "iat": int(time.time()),
                  "nonce": grant["nonce"], "https://slack.com/team_id": grant["team"],
                  "https://slack.com/user_id": grant["user"], **self.override}
        id_token = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2lnbmF0dXJl"
        return web.json_response({"ok": True, "access_token": "xoxp-standin",
                                  "token_type": "Bearer", "id_token": id_token})
