"""Delivery as an effect of a request: once, reconciled after a crash, waiting out rate limits.

    result = await deliver_once(ctx, make_host, change, max_wait_s=3600)

``ctx.once("codehost.pull_request", ...)`` records the outcome under the request, so a
redelivery, a retry or a second worker never makes a second branch, commit or pull request. When
an earlier delivery died inside the effect (between the commit and the pull request, say), the
``reconcile`` step asks the host whether that try finished (the branch head carries this request's
trailer and a pull request is open for it); if not, :func:`core.codehost.delivery.deliver` runs
again and completes what is missing, reading the host before writing.

A rate limit is waited out until the reset GitHub's headers give, and the thread is told so
(``ctx.notice``, once per reset); beyond ``max_wait_s`` the delivery gives up and says when to
ask again. A host that does not answer is tried three times. Any other refusal is the outcome:
``{"action": "failed", "code", "error", "hint"}``, which the thread shows; never silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from core.codehost.delivery import Change, deliver, reconcile
from core.codehost.errors import CodeHostError, HostUnavailable, RateLimited
from core.codehost.port import CodeHost
from core.context import RequestContext
from core.logging import get_logger

log = get_logger("archops.codehost")
EFFECT = "codehost.pull_request"
TRANSIENT_TRIES = 3
T = TypeVar("T")
# deliveries wait on GitHub or git in threads of their own, so that a burst of them never
# holds the threads the rest of the worker's blocking calls use (asyncio's default executor)
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="archops-delivery")


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_POOL, fn, *args)


def failed(exc: CodeHostError, change: Change, extra_hint: str | None = None) -> dict[str, Any]:
    return {"kind": "pull_request", "action": "failed", "code": exc.code, "error": exc.message,
            "hint": extra_hint or exc.hint, "branch": change.branch, "url": None, "number": None,
            "commit": None}


async def deliver_once(
    ctx: RequestContext,
    make_host: Callable[[], CodeHost],
    change: Change,
    *,
    max_wait_s: float = 3600,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    backoff_s: float = 1.0,
) -> dict[str, Any]:
    """Deliver ``change`` once for this request; the ``artifact`` data of the outcome."""

    async def attempt() -> dict[str, Any]:
        unavailable = 0
        while True:
            try:
                host = make_host()
                delivered = await off_loop(deliver, host, change)
                log.info("delivered", action=delivered.action, branch=change.branch,
                         number=delivered.number, calls=host.calls.total,
                         writes=host.calls.writes)
                return {**delivered.data(), "calls": host.calls.total}
            except RateLimited as exc:
                wait = exc.wait_s() + 1.0  # the reset is a whole second: wait past it
                until = datetime.fromtimestamp(exc.reset_at, UTC).strftime("%H:%M:%S UTC")
                if wait > max_wait_s:
                    return failed(exc, change, f"archops waits at most {max_wait_s / 60:.0f} min; "
                                               f"ask again after {until}")
                await ctx.notice(f"{EFFECT}:wait:{int(exc.reset_at)}",
                                 f"{exc.message}. archops waits {wait:.0f} s, until {until}, "
                                 "then opens the pull request.",
                                 rate_limit=exc.kind, reset_at=exc.reset_at)
                log.warning("rate limited; waiting", kind=exc.kind, wait_s=round(wait, 1))
                await sleep(wait)
            except HostUnavailable as exc:
                unavailable += 1
                if unavailable >= TRANSIENT_TRIES:
                    return failed(exc, change, f"tried {TRANSIENT_TRIES} times; ask again later")
                await sleep(backoff_s * 2 ** (unavailable - 1))
            except CodeHostError as exc:
                log.warning("delivery refused", code=exc.code, error=exc.message)
                return failed(exc, change)

    async def check() -> dict[str, Any] | None:
        try:
            host = make_host()
            found = await off_loop(reconcile, host, change)
        except CodeHostError as exc:
            log.warning("could not reconcile with the host; delivering again", error=exc.message)
            return None
        return {**found.data(), "calls": host.calls.total} if found else None

    return await ctx.once(EFFECT, attempt, reconcile=check)


def describe(result: dict[str, Any]) -> str:
    """One line for the thread: the pull request and what happened to it, or why it failed."""
    action = result.get("action")
    if action == "failed":
        hint = f" ({result['hint']})" if result.get("hint") else ""
        return f"The pull request could not be opened: {result.get('error')}{hint}"
    what = {"opened": "Opened", "updated": "Updated", "unchanged": "No change for"}.get(
        str(action), str(action))
    changes = result.get("changes") or {}
    detail = ""
    if action == "updated" and any(changes.values()):
        parts = [f"{k} {', '.join(v)}" for k, v in changes.items() if v]
        detail = f": {'; '.join(parts)}"
    elif action == "unchanged":
        detail = " (the module is the same as the branch head, so no commit)"
    return f"{what} pull request #{result.get('number')}: {result.get('url')}{detail}"
