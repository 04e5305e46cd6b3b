"""Settings, read from ``ARCHOPS_*`` environment variables and an optional ``.env`` file.

Build them in a composition root (``Settings()``), never at import time. Secrets are
``SecretStr`` with no default: they are never printed (``describe()`` shows set/unset only).
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_PLACEHOLDERS = {"changeme", "change-me", "xxx", "todo", "secret", "your-token-here"}


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "archops"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARCHOPS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # where archops keeps its files (SQLite database, embedded Redis AOF, generated modules)
    data_dir: Path = Field(default_factory=_default_data_dir)
    # Redis: when unset, `archops up` starts an embedded redis-server in data_dir
    redis_url: str | None = None
    redis_prefix: str = "archops"
    # system of record: SQLite in data_dir unless a URL says otherwise
    database_url: str | None = None

    # ingress
    partitions: int = Field(default=16, ge=1, le=1024)
    lease_ttl_ms: int = Field(default=5000, ge=200)  # also the visibility timeout of a pending entry
    max_deliveries: int = Field(default=3, ge=1, le=100)
    max_message_chars: int = Field(default=8000, ge=100)
    worker_concurrency: int = Field(default=64, ge=1)
    # CPU-bound review work runs in a pool the worker owns: "process" (frees the event loop
    # fully, so leases are renewed on time) or "thread"; size 0 means one per core
    cpu_pool: str = "process"
    cpu_workers: int = Field(default=0, ge=0, le=64)
    # which review checks a worker runs, comma-separated (unset: all of them, checkov included)
    review_checks: str | None = None
    # admission: requests accepted but unfinished, per user and in all, beyond which the user
    # is told "busy, queued as #N" (the request is kept and runs in its turn)
    admit_per_user: int = Field(default=4, ge=1)
    admit_total: int = Field(default=32, ge=1)
    instance_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}")

    # egress
    event_retention_s: int = Field(default=7 * 24 * 3600, ge=60)
    event_maxlen: int = Field(default=10_000, ge=100)
    client_ttl_s: int = Field(default=60, ge=5)

    # web
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    # keys that sign links (capabilities), comma-separated base64url, newest first; when unset a
    # key is created in data_dir (0600). Put a new key first to rotate; drop the old one later.
    secret_keys: SecretStr | None = None
    # Sign in with Slack (OpenID Connect) for the web app of a team deployment
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_team_id: str | None = None  # only people of this workspace may sign in
    slack_oidc_url: str = "https://slack.com"  # a local stand-in in tests

    # tracing
    zipkin_endpoint: str | None = None
    service_name: str = "archops"

    # logging
    log_level: str = "INFO"
    log_format: str = "auto"  # auto | json | console

    # LLM (optional: the offline engine runs when no model is configured)
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_model: str | None = None

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    # Slack Web API base URL (ends with /api/); a local stand-in in tests
    slack_api_url: str | None = None
    # where `archops bot` serves the Events API and interactivity endpoint (/slack/events)
    bot_host: str = "127.0.0.1"
    bot_port: int = Field(default=3000, ge=0, le=65535)
    # Slack user ids (comma-separated) who may answer and approve any conversation besides its
    # requester; a project's own approvers will come from the project
    slack_approvers: Annotated[frozenset[str], NoDecode] = frozenset()
    # where `archops bot` writes to Slack: "process" (a process of its own beside the one that
    # answers Slack's requests, so that acknowledgements never wait behind writes) or "inline"
    slack_egress: str = "process"

    # GitHub
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_repo: str | None = None

    # AWS
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None

    # the review's allow-lists (comma-separated; core.terraform.policy_exec.Allowances). Empty:
    # no data "http" host and no remote module source is allowed; providers only from hashicorp/
    review_http_hosts: str = ""
    review_module_sources: str = ""
    review_provider_sources: str = "hashicorp/"
    # what `archops validate DIR` reads at most (core.terraform.source)
    validate_max_file_bytes: int = Field(default=1024 * 1024, ge=1024)
    validate_max_total_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    @field_validator(
        "openai_api_key", "slack_bot_token", "slack_signing_secret", "slack_app_token", "github_token",
        "secret_keys", "slack_client_secret",
    )
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder, not a real secret")
        return value

    @field_validator("slack_approvers", mode="before")
    @classmethod
    def _slack_user_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        bad = [v for v in value if not isinstance(v, str) or not re.fullmatch(r"[UW][A-Z0-9]{2,30}", v)]
        if bad:
            raise ValueError(f"not Slack user ids (U... or W...): {', '.join(map(str, bad))}")
        return frozenset(value)

    @field_validator("slack_egress")
    @classmethod
    def _slack_egress(cls, value: str) -> str:
        if value not in {"process", "inline"}:
            raise ValueError("must be process or inline")
        return value

    @field_validator("cpu_pool")
    @classmethod
    def _cpu_pool(cls, value: str) -> str:
        if value not in {"process", "thread"}:
            raise ValueError("must be process or thread")
        return value

    @property
    def review_check_set(self) -> set[str] | None:
        if not self.review_checks:
            return None
        return {c.strip() for c in self.review_checks.split(",") if c.strip()}

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in {"auto", "json", "console"}:
            raise ValueError("must be auto, json or console")
        return value

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "archops.sqlite3"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    def signer(self) -> Any:
        """The :class:`core.capability.Signer` for links (built on demand, never at import)."""
        from core.capability import signer_from

        keys = self.secret_keys.get_secret_value() if self.secret_keys else None
        return signer_from(keys, self.data_dir)

    def describe(self) -> dict[str, Any]:
        """Every setting with secrets masked: what `archops doctor` prints."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "set (hidden)"
            elif value is None:
                out[name] = None
            elif isinstance(value, frozenset):
                out[name] = sorted(value)
            else:
                out[name] = str(value) if isinstance(value, Path) else value
        if self.database_url:
            out["database_url"] = _mask_url(self.database_url)
        if self.redis_url:
            out["redis_url"] = _mask_url(self.redis_url)
        return out


def _mask_url(url: str) -> str:
    """Hide a password inside a URL (``redis://:pw@host`` -> ``redis://:***@host``)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url
