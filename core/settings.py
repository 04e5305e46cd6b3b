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
    # ARCHOPS_SECRETS_DIR: a folder of files named like the variables (``archops_github_token``),
    # as a Kubernetes Secret mounted as a volume gives them; the environment wins over a file
    model_config = SettingsConfigDict(
        env_prefix="ARCHOPS_", env_file=".env", env_file_encoding="utf-8", extra="ignore",
        secrets_dir=os.environ.get("ARCHOPS_SECRETS_DIR") or None,
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

    # health, readiness and Prometheus metrics of processes without an HTTP server of their own
    # (the worker, the monitor): /healthz, /readyz, /metrics; unset serves none
    probe_host: str = "127.0.0.1"
    probe_port: int | None = Field(default=None, ge=0, le=65535)
    # how long a stopping worker may finish the requests in hand before handing them back
    # (keep it under the pod's terminationGracePeriodSeconds)
    shutdown_grace_s: float = Field(default=20.0, ge=0)

    # web
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    # a comment line on every SSE stream idle this long keeps proxies from closing it (most
    # close an idle connection after 60 s)
    sse_heartbeat_s: float = Field(default=15.0, gt=0, le=300)
    # stopping: readiness fails at once; the instance keeps serving this long (so a load
    # balancer notices), then stops accepting and tells SSE clients to reconnect elsewhere,
    # waiting at most web_drain_timeout_s for them
    web_drain_delay_s: float = Field(default=0.0, ge=0, le=300)
    web_drain_timeout_s: float = Field(default=5.0, ge=0, le=300)
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

    # LLM (optional: the offline engine runs when no model is configured). An OpenAI-compatible
    # endpoint (OpenAI itself when the base URL is unset; vLLM, Ollama... by their /v1 URL), or
    # Azure OpenAI by endpoint + deployment (the API key is the same setting)
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_model: str | None = None
    azure_openai_endpoint: str | None = None
    azure_openai_deployment: str | None = None
    azure_openai_api_version: str = "2024-10-21"
    # how structured answers are asked for: a JSON schema response format, or a forced tool call
    openai_output: str = "json_schema"
    # one model call's deadline (connect to last token), retries of a 429/5xx/timeout (with
    # backoff, honouring Retry-After up to openai_retry_max_s), answers that break their schema
    # sent back with the error at most this many times, tokens a conversation may spend
    openai_timeout_s: float = Field(default=60.0, gt=0)
    openai_max_retries: int = Field(default=3, ge=0, le=10)
    openai_retry_max_s: float = Field(default=30.0, ge=0)
    openai_schema_retries: int = Field(default=2, ge=0, le=5)
    openai_max_output_tokens: int = Field(default=4096, ge=16)
    openai_token_budget: int = Field(default=200_000, ge=0)
    # repair rounds of model-written Terraform, each with Terraform's own diagnostics
    openai_repair_rounds: int = Field(default=2, ge=0, le=5)
    openai_temperature: float | None = Field(default=None, ge=0, le=2)

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

    # GitHub (core.codehost): a token, or a GitHub App installation; people may also link their
    # own account through the OAuth web flow (client id/secret), so pull requests are theirs
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"  # GitHub Enterprise: https://HOST/api/v3
    github_repo: str | None = None  # the default project's repository (owner/name)
    github_app_id: int | None = None
    github_app_private_key: SecretStr | None = None  # the App's PEM private key
    github_app_private_key_file: Path | None = None
    github_app_installation_id: int | None = None
    github_client_id: str | None = None
    github_client_secret: SecretStr | None = None
    github_oauth_url: str = "https://github.com"  # authorize and token endpoints (Enterprise: its host)
    # GitHub's documented secondary limit: at most 80 content-creating requests a minute, so
    # 0.75 s between writes; reads have no documented pause (the primary limit is in headers)
    github_write_interval_s: float = Field(default=0.75, ge=0)
    github_read_interval_s: float = Field(default=0.0, ge=0)
    # how long a delivery waits for a rate limit to reset (as the headers say) before giving up
    github_max_wait_s: int = Field(default=3600, ge=0)
    # keys that encrypt tokens at rest (Fernet, comma-separated, newest first); when unset a key
    # is created in data_dir (0600)
    encryption_keys: SecretStr | None = None

    # AWS
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None

    # monitor: CloudWatch metrics of watched projects -> insights (monitor/, docs/monitor.md)
    monitor_interval_s: int = Field(default=300, ge=30)  # how often each project is collected
    monitor_jitter_s: int = Field(default=60, ge=0)  # spread, so projects do not call AWS at once
    monitor_period_s: int = Field(default=300, ge=60)  # the period of the datapoints asked for
    monitor_backfill_h: int = Field(default=14 * 24, ge=1)  # history read for a series seen first
    monitor_settle_s: int = Field(default=600, ge=0)  # CloudWatch publishes a period a few minutes late
    monitor_detect_interval_s: int = Field(default=3600, ge=60)
    monitor_lock_ttl_ms: int = Field(default=120_000, ge=1000)
    monitor_raw_retention_days: int = Field(default=15, ge=1)  # 5-minute points, then hourly
    monitor_hourly_retention_days: int = Field(default=455, ge=1)
    monitor_inventory_refresh_s: int = Field(default=6 * 3600, ge=60)
    monitor_digest_weekday: int = Field(default=0, ge=0, le=6)  # Monday, in the project's zone
    monitor_digest_hour: int = Field(default=9, ge=0, le=23)

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
        "secret_keys", "slack_client_secret", "github_client_secret", "github_app_private_key",
        "encryption_keys",
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

    @field_validator("openai_output")
    @classmethod
    def _openai_output(cls, value: str) -> str:
        if value not in {"json_schema", "tools"}:
            raise ValueError("must be json_schema or tools")
        return value

    @property
    def llm_kind(self) -> str | None:
        """Which model is configured: ``azure``, ``openai`` (any OpenAI-compatible endpoint),
        or None (the offline engine)."""
        if self.azure_openai_endpoint and self.azure_openai_deployment:
            return "azure"
        if self.openai_model:
            return "openai"
        return None

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

    def vault(self) -> Any:
        """The :class:`core.vault.Vault` that seals tokens at rest (built on demand)."""
        from core.vault import vault_from

        keys = self.encryption_keys.get_secret_value() if self.encryption_keys else None
        return vault_from(keys, self.data_dir)

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
