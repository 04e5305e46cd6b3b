"""Who may see and do what on the web edge (docs/security.md).

Every request to the API and the pages carries a principal, or is refused:

- the CLI's per-installation token (``Authorization: Bearer ...``, the file ``cli.token`` in the
  data folder, mode 0600) -> the installation's owner, principal ``local``;
- a session cookie (``archops_session``: HttpOnly, SameSite=Strict, Secure behind TLS), opened
  by a one-time sign-in token (``/login?token=...``, printed by ``archops up``) -> the principal
  the token was issued for;
- a signed, expiring capability (``?cap=...``, :mod:`core.capability`) -> read of the one
  conversation it names, nothing else.

A conversation belongs to the principal that first posted into it: the claim is one Redis
``SET NX`` at first submit (``{prefix}:auth:owner:{id}``, never expiring), so when two principals
race for the same id exactly one wins, and the loser gets 403. The worker records the same
principal as the conversation's ``user`` in the system of record. Ids with a ``:`` belong to
other edges (``slack:<team>:<channel>:<ts>`` is predictable): a web or CLI principal can never
create or post into them, and reads them only with a capability.

Writes must be JSON (``Content-Type: application/json``) from the same origin (``Origin`` and
``Sec-Fetch-Site``); no CORS header is ever sent. Every response carries the security headers.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from aiohttp import web
from multidict import istr

from core.bus.autopipe import Coalescer
from core.capability import Capability, Signer
from core.errors import Forbidden, ValidationError
from core.logging import get_logger
from core.redis_client import RETRYABLE

log = get_logger("archops.web.auth")

CLI_TOKEN_FILE = "cli.token"
LOCAL_PRINCIPAL = "local"  # whoever holds the installation's data folder
SESSION_COOKIE = "archops_session"
SESSION_TTL_S = 7 * 24 * 3600
LOGIN_TTL_S = 15 * 60
ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,200}", re.ASCII)
PRINCIPAL_RE = re.compile(r"[A-Za-z0-9_.:@-]{1,150}", re.ASCII)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# the OAuth callbacks come back from another site without the (Strict) session cookie: their
# state, recorded for a signed-in person, says who they are for (web.oidc, web.github_link)
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/login", "/auth/slack", "/auth/slack/callback",
                          "/auth/github/callback"})
# the pages' scripts and styles (web.pages): code anyone may read, no data
PUBLIC_PREFIXES = ("/static/",)
SIGN_IN_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>archops: sign in</title>"
    "<h1>archops</h1><p>Sign in first: open the link <code>archops up</code> printed, or run "
    "<code>archops chat --sign-in</code> for a new one.</p>"
    "<p lang=ko>먼저 로그인하세요: <code>archops up</code>이 출력한 링크를 열거나 "
    "<code>archops chat --sign-in</code>으로 새 링크를 만드세요.</p></html>"
)

# the diagram page runs WebAssembly (the layout engine): 'wasm-unsafe-eval', not eval; no
# inline script or style anywhere (the pages load their modules from /static/)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# istr keys: a response's header table then keeps no lower-cased copy of each name (0.6 KiB
# less per open SSE stream)
SECURITY_HEADERS = {
    istr("Content-Security-Policy"): CONTENT_SECURITY_POLICY,
    istr("X-Content-Type-Options"): "nosniff",
    istr("Referrer-Policy"): "no-referrer",
    istr("X-Frame-Options"): "DENY",
    istr("Cross-Origin-Opener-Policy"): "same-origin",
    istr("Cross-Origin-Resource-Policy"): "same-origin",
}


@dataclass(frozen=True)
class Principal:
    """Who is asking: ``id`` owns conversations; ``source`` is the envelope source it posts as."""

    id: str
    source: str  # "cli" | "web"
    via: str  # "token" | "session" | "capability"
    capability: Capability | None = None

    @property
    def can_write(self) -> bool:
        return self.via != "capability"


PRINCIPAL = web.RequestKey("principal", Principal)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def refuse(status: int, code: str, message: str, hint: str | None = None,
           headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if hint:
        body["error"]["hint"] = hint
    return web.json_response(body, status=status, headers=headers)


# -- the CLI's token -------------------------------------------------------------------------
def cli_token_path(data_dir: Path) -> Path:
    return data_dir / CLI_TOKEN_FILE


def ensure_cli_token(data_dir: Path) -> str:
    """The installation's CLI token: created once, mode 0600, in the (0700) data folder.

    Written to a private temporary file and linked into place, so a process starting beside
    another never sees the file half-written (it reads the winner's token instead)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = cli_token_path(data_dir)
    existing = read_cli_token(data_dir)
    if existing:
        return existing
    token = secrets.token_urlsafe(32)
    tmp = data_dir / f".{CLI_TOKEN_FILE}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            existing = read_cli_token(data_dir)
            if existing:
                return existing
            os.replace(tmp, path)  # an empty leftover: take its place
        return token
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def read_cli_token(data_dir: Path) -> str | None:
    try:
        token = cli_token_path(data_dir).read_text().strip()
    except (FileNotFoundError, PermissionError, UnicodeDecodeError):
        return None
    return token or None


# -- what the access model keeps in Redis ----------------------------------------------------
class AccessStore:
    """Owner records, sessions and one-time sign-in tokens, under ``{prefix}:auth:``.

    Secrets (session ids, sign-in tokens) are kept as SHA-256 digests, so what Redis or its AOF
    holds cannot be replayed as a credential.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:auth"
        # lookups made in one loop turn share one MGET: 5,000 streams connecting at once need a
        # handful of connections, not one each (the pool would refuse the rest)
        self._reads = Coalescer(self._mget, max_batch=512)

    async def _mget(self, keys: list[str]) -> list[Any]:
        return list(await self.redis.mget(keys))

    async def _get(self, key: str) -> str | None:
        value = await self._reads(key)
        return value if value is None or isinstance(value, str) else value.decode()

    def _owner_key(self, conversation_id: str) -> str:
        return f"{self.prefix}:owner:{conversation_id}"

    async def owner(self, conversation_id: str) -> str | None:
        return await self._get(self._owner_key(conversation_id))

    async def claim(self, conversation_id: str, principal_id: str) -> str:
        """Make ``principal_id`` the owner unless someone already is; return the owner.

        One ``SET NX``: of two principals racing for a new id exactly one is the owner. The
        record never expires (an expired record would let someone else take over a design that
        the checkpointer still holds) and is never rewritten.
        """
        key = self._owner_key(conversation_id)
        if await self.redis.set(key, principal_id, nx=True):
            return principal_id
        return await self.owner(conversation_id) or principal_id

    async def open_session(self, principal_id: str, ttl_s: int = SESSION_TTL_S) -> str:
        session_id = secrets.token_urlsafe(32)
        await self.redis.set(f"{self.prefix}:session:{_digest(session_id)}", principal_id, ex=ttl_s)
        return session_id

    async def session_principal(self, session_id: str) -> str | None:
        if not session_id or len(session_id) > 100:
            return None
        return await self._get(f"{self.prefix}:session:{_digest(session_id)}")

    async def close_session(self, session_id: str) -> None:
        await self.redis.delete(f"{self.prefix}:session:{_digest(session_id)}")

    async def issue_login(self, principal_id: str, ttl_s: int = LOGIN_TTL_S) -> str:
        """A one-time sign-in token for ``principal_id`` (valid ``ttl_s`` seconds, once)."""
        if not PRINCIPAL_RE.fullmatch(principal_id):
            raise ValueError(f"bad principal id {principal_id!r}")
        token = secrets.token_urlsafe(32)
        await self.redis.set(f"{self.prefix}:login:{_digest(token)}", principal_id, ex=ttl_s)
        return token

    async def consume_login(self, token: str) -> str | None:
        """The principal a sign-in token was issued for, once (GETDEL: used means gone)."""
        if not token or len(token) > 100:
            return None
        value = await self.redis.getdel(f"{self.prefix}:login:{_digest(token)}")
        return value.decode() if isinstance(value, bytes) else value


# -- the access model ------------------------------------------------------------------------
class Access:
    """Authenticates requests and decides what their principal may read and write."""

    def __init__(self, store: AccessStore, signer: Signer, *, cli_token: str | None = None,
                 public_url: str | None = None, slack_sign_in: Any = None) -> None:
        self.store = store
        self.signer = signer
        self.slack_sign_in = slack_sign_in  # web.oidc.SlackSignIn for team deployments
        self._cli_digest = _digest(cli_token) if cli_token else None
        self.public_url = public_url.rstrip("/") if public_url else None

    # who is asking
    async def authenticate(self, request: web.Request) -> Principal | None:
        """The principal of a request, None when it carries no credential; Forbidden when it
        carries a bad one (a wrong token is never silently ignored)."""
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Forbidden("the Authorization header must be 'Bearer <token>'")
            if self._cli_digest is None or not hmac.compare_digest(
                _digest(token.strip()), self._cli_digest
            ):
                raise Forbidden("the token is not this installation's CLI token",
                                hint="archops chat reads it from the data folder (cli.token)")
            return Principal(LOCAL_PRINCIPAL, "cli", "token")
        if "cap" in request.query:  # a link is explicit: it wins over a session
            return Principal("capability", "web", "capability",
                             self.signer.parse(request.query["cap"]))
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            principal_id = await self.store.session_principal(session_id)
            if principal_id is None:
                raise Forbidden("the session has expired or was closed",
                                hint="sign in again: `archops chat --sign-in` prints a new link")
            return Principal(principal_id, "web", "session")
        return None

    # what it may do
    async def authorize_read(self, principal: Principal, conversation_id: str) -> None:
        if principal.capability is not None:
            if not principal.capability.allows("conversation", conversation_id, "read"):
                raise Forbidden("the link does not grant reading this conversation")
            return
        if await self.store.owner(conversation_id) != principal.id:
            raise Forbidden("this conversation is not yours",
                            hint="ask its owner for a link")

    async def recheck(self, request: web.Request, conversation_id: str) -> None:
        """Ask again, for a long-lived response (an SSE stream), whether the credential the
        request came with still grants reading: a link may have expired, a session closed."""
        principal = await self.authenticate(request)
        if principal is None:
            raise Forbidden("the credential this stream was opened with is gone")
        await self.authorize_read(principal, conversation_id)

    async def authorize_write(self, principal: Principal, conversation_id: str) -> None:
        """Claim a new conversation for ``principal`` or check it already owns it."""
        if not principal.can_write:
            raise Forbidden("a link grants reading only; sign in to post")
        if ":" in conversation_id:
            raise Forbidden("conversations whose id has a ':' belong to another edge "
                            "(Slack threads are answered in Slack)")
        if await self.store.claim(conversation_id, principal.id) != principal.id:
            raise Forbidden("this conversation is not yours", hint="start a new conversation")

    def verify_design(self, request: web.Request, design_id: str, action: str = "read") -> Capability:
        """For design pages (the diagram): the ``?cap=`` link must grant ``action`` on it."""
        return self.signer.verify(request.query.get("cap", ""), scope="design",
                                  subject=design_id, action=action)

    # same origin
    def own_origin(self, request: web.Request) -> str:
        if self.public_url:
            parts = urlsplit(self.public_url)
            return f"{parts.scheme}://{parts.netloc}".lower()
        scheme = "https" if behind_tls(request, None) else request.scheme
        return f"{scheme}://{request.host}".lower()

    def check_same_origin(self, request: web.Request) -> None:
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            raise Forbidden(f"cross-site write refused (Sec-Fetch-Site: {site})")
        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/").lower() != self.own_origin(request):
            raise Forbidden(f"cross-origin write refused (Origin: {origin[:100]})")

    def secure_cookies(self, request: web.Request) -> bool:
        return behind_tls(request, self.public_url)


def behind_tls(request: web.Request, public_url: str | None) -> bool:
    if public_url and public_url.lower().startswith("https://"):
        return True
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


ACCESS = web.AppKey("access", Access)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_json(content_type: str) -> bool:
    return content_type == "application/json"


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Same-origin JSON writes, then a principal, then its right to the conversation named in
    the path; only the health checks and the sign-in page are public."""
    access = request.app[ACCESS]
    try:
        if request.method in WRITE_METHODS:
            access.check_same_origin(request)
            if not _is_json(request.content_type):
                return refuse(415, "unsupported_media_type",
                              "writes must be JSON (Content-Type: application/json)")
        if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
            return await handler(request)
        principal = await access.authenticate(request)
        if principal is None:
            if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
                return web.Response(status=401, text=SIGN_IN_PAGE, content_type="text/html")
            return refuse(401, "unauthenticated", "sign in first",
                          hint="open the link `archops up` printed (or `archops chat --sign-in`)",
                          headers={"WWW-Authenticate": 'Bearer realm="archops"'})
        request[PRINCIPAL] = principal
        conversation_id = request.match_info.get("conversation_id")
        if conversation_id is None and request.path == "/" and principal.capability is not None:
            # the link the Slack edge posts: /?conversation=ID&cap=... (opens /c/ID)
            conversation_id = request.query.get("conversation")
        if conversation_id is not None:
            if not ID_RE.fullmatch(conversation_id):
                return refuse(400, "invalid_request", "conversation id must be 1-200 characters "
                              "of letters, digits, '_', '.', ':' or '-'")
            await access.authorize_read(principal, conversation_id)
        elif principal.capability is not None:
            raise Forbidden("a link grants access to its conversation only")
    except Forbidden as exc:
        return refuse(403, "forbidden", exc.message, exc.hint)
    except RETRYABLE:
        return refuse(503, "unavailable", "redis is not reachable", headers={"Retry-After": "2"})
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, streamed or not, errors included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.popall("Access-Control-Allow-Origin", None)
    if request.path.startswith("/api/") or request.path == "/login":
        response.headers.setdefault("Cache-Control", "no-store")


async def login(request: web.Request) -> web.StreamResponse:
    """GET /login?token=...: a one-time sign-in token becomes a session cookie (then /)."""
    access = request.app[ACCESS]
    token = request.query.get("token", "")
    try:
        principal_id = await access.store.consume_login(token)
    except RETRYABLE:
        return refuse(503, "unavailable", "redis is not reachable", headers={"Retry-After": "2"})
    if principal_id is None:
        return refuse(403, "forbidden", "this sign-in link is invalid, expired or already used",
                      hint="sign-in links work once; `archops chat --sign-in` makes a new one")
    session_id = await access.store.open_session(principal_id)
    response = web.Response(status=303, headers={"Location": "/"})
    response.set_cookie(SESSION_COOKIE, session_id, max_age=SESSION_TTL_S, path="/",
                        httponly=True, samesite="Strict", secure=access.secure_cookies(request))
    log.info("session opened", principal=principal_id)
    return response


async def logout(request: web.Request) -> web.Response:
    """POST /api/logout: close this session."""
    access = request.app[ACCESS]
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await access.store.close_session(session_id)
    response = web.json_response({"signed_out": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def new_sign_in_link(request: web.Request) -> web.Response:
    """POST /api/sign-in-links (the CLI token only): a fresh one-time link for the owner, so a
    used link needs no restart (``archops chat --sign-in``)."""
    access = request.app[ACCESS]
    principal = request[PRINCIPAL]
    if principal.via != "token":
        return refuse(403, "forbidden", "only the CLI token may make sign-in links")
    token = await access.store.issue_login(principal.id)
    base = access.public_url or access.own_origin(request)
    return web.json_response({"url": f"{base}/login?token={token}", "expires_in": LOGIN_TTL_S},
                             status=201)


MAX_LINK_TTL_S = 30 * 24 * 3600
DEFAULT_LINK_TTL_S = 7 * 24 * 3600


def read_link(signer: Signer, base_url: str, conversation_id: str,
              ttl_s: int = DEFAULT_LINK_TTL_S, principal: str | None = None) -> dict[str, Any]:
    """A link that lets whoever holds it read one conversation (its history and live events)
    until it expires: what the Slack edge posts in a thread, or what an owner shares."""
    cap = signer.issue("conversation", conversation_id, actions={"read"}, ttl_s=ttl_s,
                       principal=principal)
    base = f"{base_url.rstrip('/')}/api/conversations/{conversation_id}"
    return {"events_url": f"{base}/events?cap={cap}", "history_url": f"{base}/history?cap={cap}",
            "expires_in": ttl_s}


async def share_conversation(request: web.Request) -> web.Response:
    """POST /api/conversations/{id}/links {"ttl_s": N}: the owner makes a read link."""
    access = request.app[ACCESS]
    principal = request[PRINCIPAL]
    if not principal.can_write:
        return refuse(403, "forbidden", "a link cannot make links")
    try:
        body = await read_json(request)
    except RequestTooLarge as exc:
        return refuse(413, "too_large", exc.message)
    except ValidationError as exc:
        return refuse(400, "bad_json", exc.message)
    if not isinstance(body, dict) or set(body) - {"ttl_s"}:
        return refuse(400, "invalid_request", 'the body must be {} or {"ttl_s": seconds}')
    ttl_s = body.get("ttl_s", DEFAULT_LINK_TTL_S)
    if not isinstance(ttl_s, int) or isinstance(ttl_s, bool) or not 60 <= ttl_s <= MAX_LINK_TTL_S:
        return refuse(400, "invalid_request",
                      f"ttl_s must be a whole number of seconds from 60 to {MAX_LINK_TTL_S}")
    base = access.public_url or access.own_origin(request)
    link = read_link(access.signer, base, request.match_info["conversation_id"], ttl_s,
                     principal=principal.id)
    return web.json_response(link, status=201)


async def whoami(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    return web.json_response({"principal": principal.id, "via": principal.via})


def install(app: web.Application, access: Access) -> None:
    """Put the access model in front of every route of ``app``."""
    app[ACCESS] = access
    app.middlewares.insert(0, access_middleware)
    app.on_response_prepare.append(security_headers)
    # no HEAD: a link checker probing the URL must not use up the one-time token
    app.router.add_get("/login", login, allow_head=False)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/whoami", whoami)
    app.router.add_post("/api/sign-in-links", new_sign_in_link)
    app.router.add_post("/api/conversations/{conversation_id}/links", share_conversation)
    from web import oidc

    oidc.add_routes(app)


# -- bounded JSON ------------------------------------------------------------------------------
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep ``body`` nests (strings skipped), stopping as soon as it passes ``limit``."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        else:
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, bounded in size and depth; ValidationError says what is wrong.

    ``RequestTooLarge`` (a ValidationError) maps to 413."""
    import json

    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise RequestTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    body = bytearray()
    while chunk := await request.content.read(16 * 1024):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise RequestTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    if json_depth(bytes(body)) > MAX_JSON_DEPTH:
        raise ValidationError(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(bytes(body).decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise ValidationError("the body is not UTF-8") from exc
    except ValueError as exc:
        raise ValidationError(f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # defence in depth: the depth check runs first
        raise ValidationError("the JSON nests too deep") from exc


class RequestTooLarge(ValidationError):
    pass
