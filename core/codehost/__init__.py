"""The code-host port and its adapters: how a design reaches the team as a pull request.

    host = GitHubHost(...) | LocalHost(...)          # core.codehost.hosts builds them from settings
    delivered = deliver(host, change)                # one branch, one commit per version, one PR
    delivered = await deliver_once(ctx, host, change, ...)   # the same, once per request

See :mod:`core.codehost.port` (the port), :mod:`core.codehost.delivery` (the algorithm),
:mod:`core.codehost.body` (what the pull request says), :mod:`core.codehost.errors`.
"""

from core.codehost.body import Design
from core.codehost.delivery import Change, Delivered, deliver, history, reconcile
from core.codehost.errors import CodeHostError, RateLimited
from core.codehost.port import CodeHost, Commit, Delta, PullRequest, Repository, blob_sha

__all__ = [
    "Change", "CodeHost", "CodeHostError", "Commit", "Delivered", "Delta", "Design",
    "PullRequest", "RateLimited", "Repository", "blob_sha", "deliver", "history", "reconcile",
]
