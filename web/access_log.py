"""Access logs: one structured line per request, with nothing in it that grants anything.

The line carries the method, the path with its query (the values of credential parameters
replaced: ``cap=`` links, ``token=`` sign-in tokens, the OpenID ``code=`` and ``state=``), the
status, bytes sent, duration, the peer and who asked (the principal's id and how it was
authenticated, never the credential). Headers are never logged: they hold the bearer token and
the session cookie. The lines go through structlog, whose redaction processor catches anything
credential-shaped that still slipped into a value.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from core.logging import get_logger
from web.auth import PRINCIPAL

SECRET_PARAMS = frozenset({"cap", "token", "code", "state"})
REDACTED = "REDACTED"

log = get_logger("archops.web.access")


def redact_query(path: str, query_string: str) -> str:
    """``path?query`` with the values of credential parameters replaced."""
    if not query_string:
        return path
    pairs = [(name, REDACTED if name.lower() in SECRET_PARAMS else value)
             for name, value in parse_qsl(query_string, keep_blank_values=True)]
    return f"{quote(path, safe='/:@-._~!$&()*+,;=')}?{urlencode(pairs, safe='/:,')}"


class AccessLogger(AbstractAccessLogger):
    """aiohttp's hook, called once a response is finished (a stream: when it closes)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        principal = request.get(PRINCIPAL)
        log.info(
            "http request",
            method=request.method,
            path=redact_query(request.path, request.query_string),
            status=response.status,
            bytes=response.body_length,
            duration_ms=round(time * 1000, 1),
            remote=request.remote,
            principal=principal.id if principal is not None else None,
            via=principal.via if principal is not None else None,
        )
