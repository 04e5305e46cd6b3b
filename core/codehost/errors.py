"""What can go wrong on a code host, each with what the user should do about it.

    CodeHostError (core.errors.ArchopsError)
    ├── NotConfigured           no credentials for GitHub (token, App or a linked account)
    ├── CredentialsRejected     401: the token expired or was revoked
    ├── RepositoryNotFound      404: no such repository, or the credentials cannot see it
    ├── PermissionMissing       403: the credentials may not write there
    ├── RepositoryEmpty         409: the repository has no commit to branch from
    ├── BranchProtected         422/403: a rule protects the branch
    ├── BranchDiverged          the branch has commits archops did not write, or moved meanwhile
    ├── RateLimited             primary or secondary rate limit; ``reset_at`` says until when
    ├── HostUnavailable         5xx or no answer (worth another try)
    ├── Refused                 any other refusal, with the host's own words
    └── RefExists, PullExists   conflicts the delivery resolves itself (a crashed earlier try)

``code`` is a stable name edges can branch on (the ``artifact`` event of a failed delivery
carries it); ``message`` and ``hint`` are for people.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from core.errors import ArchopsError


class CodeHostError(ArchopsError):
    code = "codehost_error"

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class NotConfigured(CodeHostError):
    code = "not_configured"


class CredentialsRejected(CodeHostError):
    code = "credentials_rejected"


class RepositoryNotFound(CodeHostError):
    code = "repository_not_found"


class PermissionMissing(CodeHostError):
    code = "permission_missing"


class RepositoryEmpty(CodeHostError):
    code = "repository_empty"


class BranchProtected(CodeHostError):
    code = "branch_protected"


class BranchDiverged(CodeHostError):
    code = "branch_diverged"


class HostUnavailable(CodeHostError):
    code = "unavailable"


class Refused(CodeHostError):
    code = "refused"


class RefExists(CodeHostError):
    code = "ref_exists"


class PullExists(CodeHostError):
    code = "pull_exists"


class RateLimited(CodeHostError):
    """``kind`` is ``primary`` (the hourly budget is spent) or ``secondary`` (too many requests
    too fast); ``reset_at`` (unix seconds) is when GitHub says to try again."""

    code = "rate_limited"

    def __init__(self, kind: str, reset_at: float, *, status: int | None = None,
                 detail: str = "") -> None:
        self.kind = kind
        self.reset_at = reset_at
        when = datetime.fromtimestamp(reset_at, UTC).strftime("%H:%M:%S UTC")
        what = ("GitHub's primary rate limit (the hourly request budget) is used up"
                if kind == "primary" else "GitHub's secondary rate limit was hit (too many "
                "requests in a short time)")
        super().__init__(f"{what}; it resets at {when}" + (f" ({detail})" if detail else ""),
                         hint="archops waits for the reset and goes on", status=status)

    def wait_s(self, now: float | None = None) -> float:
        return max(0.0, self.reset_at - (time.time() if now is None else now))
