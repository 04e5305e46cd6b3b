"""The one error hierarchy of archops.

Every error archops raises on purpose derives from :class:`ArchopsError` and carries a message a
user can act on (``hint`` says what to do next). Lower-layer errors (redis, SQL, HTTP) are
translated at the boundary with ``raise ... from exc``.

    ArchopsError
    ├── ConfigurationError        settings missing or invalid; ``archops doctor`` explains
    ├── ValidationError           bad input: a malformed envelope, an oversize message, a bad answer
    │   ├── MalformedEnvelope     a stream entry that is not a valid envelope
    │   └── Conflict              valid, but not in this record's state (HTTP 409)
    ├── RefusedRequest            the guard refused a request (other cloud, destroy, secrets...)
    ├── ServiceUnavailable        Redis, the database or an external API cannot be reached
    ├── DuplicateRequest          an idempotency key was seen before (not an error for callers)
    ├── LeaseLost                 a worker lost its partition lease; its effects are fenced off
    ├── NotFound                  a conversation, project or design that does not exist
    ├── Forbidden                 the principal may not read or act on this (HTTP 403)
    └── TerraformError            generated or given Terraform failed a check
"""

from __future__ import annotations


class ArchopsError(Exception):
    """Base class: ``message`` for the user, ``hint`` for what to do next."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigurationError(ArchopsError):
    exit_code = 78  # EX_CONFIG


class ValidationError(ArchopsError):
    exit_code = 65  # EX_DATAERR


class MalformedEnvelope(ValidationError):
    pass


class RefusedRequest(ArchopsError):
    exit_code = 3


class ServiceUnavailable(ArchopsError):
    exit_code = 69  # EX_UNAVAILABLE


class DuplicateRequest(ArchopsError):
    exit_code = 0


class LeaseLost(ArchopsError):
    pass


class NotFound(ArchopsError):
    exit_code = 4


class Forbidden(ArchopsError):
    exit_code = 77  # EX_NOPERM


class TerraformError(ArchopsError):
    exit_code = 2


class Conflict(ValidationError):
    """The request is valid but the record is not in a state that allows it (HTTP 409): a tag
    plan applied before its dry run, a scan started while another of the project runs."""

    exit_code = 75  # EX_TEMPFAIL
