"""``archops doctor``: what is configured, what is missing, and how to fix it.

Each check reports ``ok``, ``missing`` or ``error`` with a fix. ``required`` marks what
``archops up`` cannot run without (data folder, database, Redis); optional integrations
(Zipkin, LLM, Slack, GitHub, AWS) may be absent. Probes are short and read-only in spirit:
a raw socket PING for Redis (redis-py retries a refused connection for seconds), no network
call to a third party unless its URL was configured. Secrets are shown as set/unset only, and
the rendered report is scrubbed of every secret value as a last guard.
"""

from __future__ import annotations

import os
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from core.errors import ArchopsError
from core.logging import redact
from core.redis_client import ping as ping_redis
from core.settings import Settings

Status = Literal["ok", "missing", "error"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None
    required: bool = False  # `archops up` cannot run unless this is ok
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.required and self.status != "ok"


@dataclass(frozen=True)
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(c.blocking for c in self.checks)


def run_checks(settings: Settings) -> Report:
    checks = [
        check_settings(settings),
        check_data_dir(settings),
        check_database(settings),
        check_redis(settings),
        check_zipkin(settings),
        check_llm(settings),
        check_slack(settings),
        check_github(settings),
        check_aws(settings),
    ]
    return Report(checks)


# -- core pieces ----------------------------------------------------------------------------
def check_settings(settings: Settings) -> Check:
    described = settings.describe()
    secret_names = [
        name
        for name, info in type(settings).model_fields.items()
        if "SecretStr" in str(info.annotation)
    ]
    for name in secret_names:  # a secret is shown as set or unset, nothing more
        described[name] = "set" if getattr(settings, name) is not None else "unset"
    shown = ", ".join(f"{name} {described[name]}" for name in secret_names)
    return Check("settings", "ok", f"loaded (ARCHOPS_* and .env); secrets: {shown}", data=described)


def check_data_dir(settings: Settings) -> Check:
    path = settings.data_dir
    fix = "set ARCHOPS_DATA_DIR to a folder archops may write to"
    if not path.exists():  # doctor creates nothing: the nearest existing parent must be writable
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
            return Check("data folder", "ok", f"{path} will be created on start", required=True)
        return Check("data folder", "error", f"{path} cannot be created", fix=fix, required=True)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check(
            "data folder",
            "error",
            f"{path} is not a writable folder: {exc.strerror or exc}",
            fix=fix,
            required=True,
        )
    return Check("data folder", "ok", f"{path} is writable", required=True)


def check_database(settings: Settings) -> Check:
    from core.store.migrate import schema_status
    from core.store.urls import parse_database_url

    fix_url = "check ARCHOPS_DATABASE_URL (postgresql://user:pass@host:5432/db) and the server"
    try:
        db = parse_database_url(settings.effective_database_url)
        where = db.masked()
        if db.backend == "sqlite" and not db.sqlite_path.exists():
            return Check(
                "database",
                "missing",
                f"{where} does not exist yet",
                fix="`archops up` creates and migrates it on start",
            )
        status = schema_status(settings.effective_database_url)
    except ArchopsError as exc:
        return Check("database", "error", exc.message, fix=exc.hint or fix_url, required=True)
    if status.at_head:
        return Check("database", "ok", f"{where} reachable, schema at {status.head}", required=True)
    if not status.known:
        return Check(
            "database",
            "error",
            f"{where} is at revision {status.current}, unknown to this archops (newer?)",
            fix="upgrade archops to the version that migrated this database",
            required=True,
        )
    return Check(
        "database",
        "missing",
        f"{where} reachable, schema at {status.current or 'nothing'}; newest is {status.head}",
        fix="`archops up` migrates it on start",
    )


def check_redis(settings: Settings) -> Check:
    if settings.redis_url:
        from core.redis_server import with_embedded_password

        shown = _mask_url(settings.redis_url)
        # the embedded Redis' password is in the data folder; the printed URL leaves it out
        problem = ping_redis(with_embedded_password(settings.redis_url, settings.data_dir))
        if problem is None:
            return Check("redis", "ok", f"{shown} answers PING", required=True)
        return Check(
            "redis",
            "error",
            f"{shown}: {problem}",
            fix="start Redis there, fix ARCHOPS_REDIS_URL, or unset it to use an embedded one",
            required=True,
        )
    try:
        from core.redis_server import find_redis_server
    except ImportError:  # pragma: no cover - an archops without the embedded server
        import shutil

        binary = shutil.which("redis-server")
    else:
        binary = find_redis_server()
    if binary:
        return Check(
            "redis", "ok", f"ARCHOPS_REDIS_URL unset: `archops up` starts {binary}", required=True
        )
    return Check(
        "redis",
        "missing",
        "ARCHOPS_REDIS_URL unset and no redis-server binary found",
        fix="apt-get install redis-server, pip install 'archops[embedded-redis]', "
        "or set ARCHOPS_REDIS_URL",
        required=True,
    )


# -- optional integrations --------------------------------------------------------------------
def check_zipkin(settings: Settings) -> Check:
    endpoint = settings.zipkin_endpoint
    if not endpoint:
        return Check(
            "zipkin",
            "missing",
            "tracing off: spans are not exported",
            fix="set ARCHOPS_ZIPKIN_ENDPOINT=http://zipkin:9411/api/v2/spans",
        )
    code, problem = _http(endpoint, method="POST", body=b"[]")
    if problem is None and code is not None and 200 <= code < 300:
        return Check("zipkin", "ok", f"{endpoint} accepts spans ({code})")
    return Check(
        "zipkin",
        "error",
        f"{endpoint}: {problem or f'answered {code}'}",
        fix="start Zipkin or fix ARCHOPS_ZIPKIN_ENDPOINT (a collector's /api/v2/spans)",
    )


def check_llm(settings: Settings) -> Check:
    """Which engine answers, and for a model one cheap call (one token) to its endpoint."""
    kind = settings.llm_kind
    if kind is None:
        if settings.openai_base_url or settings.azure_openai_endpoint:
            return Check(
                "llm",
                "error",
                "a model endpoint is set but no model: the offline engine answers",
                fix="set ARCHOPS_OPENAI_MODEL (or ARCHOPS_AZURE_OPENAI_DEPLOYMENT for Azure), or "
                "unset the endpoint",
                data={"engine": "offline"},
            )
        return Check(
            "llm",
            "ok",
            "engine: the offline engine (no model configured; the rules and the "
            "Well-Architected catalog answer, and that is fine)",
            fix=None,
            data={"engine": "offline"},
        )
    key = settings.openai_api_key
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "Reply with OK."}], "max_tokens": 1}
    headers: dict[str, str] = {}
    if kind == "azure":
        endpoint = str(settings.azure_openai_endpoint).rstrip("/")
        model = str(settings.azure_openai_deployment)
        where = f"Azure OpenAI deployment {model} at {endpoint}"
        url = (f"{endpoint}/openai/deployments/{model}/chat/completions"
               f"?api-version={settings.azure_openai_api_version}")
        if key is None:
            return Check("llm", "error", f"{where} set but no API key",
                         fix="set ARCHOPS_OPENAI_API_KEY to the resource's key", data={"engine": "llm"})
        headers["api-key"] = key.get_secret_value()
    else:
        model = str(settings.openai_model)
        base = (settings.openai_base_url or "https://api.openai.com/v1").rstrip("/")
        where = f"model {model} at {base}"
        if not settings.openai_base_url and key is None:
            return Check(
                "llm",
                "error",
                f"model {model} set but no API key for api.openai.com",
                fix="set ARCHOPS_OPENAI_API_KEY, or ARCHOPS_OPENAI_BASE_URL for a local server",
                data={"engine": "llm"},
            )
        url = f"{base}/chat/completions"
        body["model"] = model
        if key is not None:
            headers["Authorization"] = f"Bearer {key.get_secret_value()}"
    started = time.perf_counter()
    code, problem, reply = _post_json(url, body, headers, timeout=min(settings.openai_timeout_s, 15.0))
    took = (time.perf_counter() - started) * 1000
    data = {"engine": "llm", "kind": kind, "model": model}
    if code == 200 and isinstance(reply, dict) and reply.get("choices"):
        return Check("llm", "ok", f"engine: llm, {where}; one 1-token call answered in {took:.0f} ms",
                     data={**data, "latency_ms": round(took)})
    said = ""
    if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
        said = f": {str(reply['error'].get('message') or '')[:200]}"
    return Check(
        "llm",
        "error",
        f"engine: llm, {where}; the test call failed ({problem or f'answered {code}'}{said})",
        fix="check ARCHOPS_OPENAI_BASE_URL, ARCHOPS_OPENAI_MODEL and ARCHOPS_OPENAI_API_KEY (or "
        "the ARCHOPS_AZURE_OPENAI_* settings), or unset them to use the offline engine",
        data=data,
    )


def _post_json(
    url: str, body: dict[str, Any], headers: dict[str, str], *, timeout: float
) -> tuple[int | None, str | None, Any]:
    """(status, problem, decoded JSON body) of one POST; a 4xx/5xx status is not a problem."""
    import json

    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw, code = response.read(), response.status
    except urllib.error.HTTPError as exc:
        raw, code = exc.read(), exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"cannot connect ({getattr(reason, 'strerror', None) or reason})", None
    try:
        return code, None, json.loads(raw or b"null")
    except ValueError:
        return code, "the answer is not JSON", None


def check_slack(settings: Settings) -> Check:
    bot, signing, app = (
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
    )
    if bot is None and signing is None and app is None:
        return Check(
            "slack",
            "missing",
            "Slack edge off (web chat and CLI still work)",
            fix="set ARCHOPS_SLACK_BOT_TOKEN and ARCHOPS_SLACK_SIGNING_SECRET "
            "(and ARCHOPS_SLACK_APP_TOKEN for Socket Mode)",
        )
    problems = []
    if bot is None:
        problems.append("ARCHOPS_SLACK_BOT_TOKEN is unset")
    elif not bot.get_secret_value().startswith("xoxb-"):
        problems.append("ARCHOPS_SLACK_BOT_TOKEN is not a bot token (xoxb-...)")
    if app is not None and not app.get_secret_value().startswith("xapp-"):
        problems.append("ARCHOPS_SLACK_APP_TOKEN is not an app-level token (xapp-...)")
    if signing is None and app is None:
        problems.append("ARCHOPS_SLACK_SIGNING_SECRET is unset (needed for the Events API)")
    if problems:
        return Check(
            "slack",
            "error",
            "; ".join(problems),
            fix="copy the values from your Slack app's settings page",
        )
    mode = "Socket Mode" if app is not None else "Events API"
    return Check("slack", "ok", f"bot token and secrets set ({mode}); not probed")


def check_github(settings: Settings) -> Check:
    repo = settings.github_repo
    if repo is not None and (repo.count("/") != 1 or not all(repo.split("/"))):
        return Check(
            "github",
            "error",
            f"ARCHOPS_GITHUB_REPO {repo!r} is not owner/name",
            fix="e.g. ARCHOPS_GITHUB_REPO=acme/infrastructure",
        )
    app = bool(settings.github_app_id and settings.github_app_installation_id and (
        settings.github_app_private_key or settings.github_app_private_key_file))
    oauth = bool(settings.github_client_id and settings.github_client_secret)
    if settings.github_token is None and not app:
        detail = "no token or GitHub App: projects without a repository deliver to their " \
                 "local repository in the data folder"
        if oauth:
            detail += "; people who link their GitHub account deliver as themselves"
        return Check(
            "github",
            "missing",
            detail,
            fix="set ARCHOPS_GITHUB_TOKEN (contents and pull-requests write), or "
                "ARCHOPS_GITHUB_APP_ID, _APP_INSTALLATION_ID and _APP_PRIVATE_KEY(_FILE)",
        )
    where = repo or "the repository of each project"
    how = "GitHub App installation" if app else "token"
    linking = "; account linking on" if oauth else ""
    return Check("github", "ok", f"{how} set for {where} at {settings.github_api_url}"
                                 f"{linking}; not probed")


def check_aws(settings: Settings) -> Check:
    import botocore.exceptions
    import botocore.session

    session = botocore.session.get_session()
    try:
        resolver = session.get_component("credential_provider")
        for name in ("iam-role", "container-role"):  # no metadata-service calls from doctor
            if resolver.get_provider(name) is not None:
                resolver.remove(name)
        credentials = resolver.load_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        return Check(
            "aws", "error", f"AWS configuration: {exc}", fix="check AWS_PROFILE and ~/.aws/config"
        )
    endpoint = f", endpoint {settings.aws_endpoint_url}" if settings.aws_endpoint_url else ""
    if credentials is None:
        return Check(
            "aws",
            "missing",
            f"no AWS credentials found (region {settings.aws_region}{endpoint}); on EC2/EKS a "
            "role may still provide them",
            fix="aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; "
            "scans and monitoring need them",
        )
    return Check(
        "aws",
        "ok",
        f"credentials present (from {credentials.method}), region {settings.aws_region}{endpoint}",
    )


def _http(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int | None, str | None]:
    """(status, problem) of one short HTTP request; a status of 4xx/5xx is not a problem."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"cannot connect ({getattr(reason, 'strerror', None) or reason})"


# -- rendering --------------------------------------------------------------------------------
def _mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def secret_values(settings: Settings) -> list[str]:
    """Every secret the report must never contain."""
    values = [
        getattr(settings, name).get_secret_value()
        for name in type(settings).model_fields
        if isinstance(getattr(settings, name), SecretStr)
    ]
    for url in (settings.database_url, settings.redis_url):
        if url and urlsplit(url).password:
            password = urlsplit(url).password or ""
            values += [password, unquote(password)]
    values += [os.environ.get(k, "") for k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, "***")
    return redact(text)
