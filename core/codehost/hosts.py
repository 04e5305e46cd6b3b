"""Which code host a project delivers to, with whose credentials: built from settings, once per
process (the worker's and the web app's composition roots).

* A project with a GitHub repository -> :class:`GitHubHost` at ``ARCHOPS_GITHUB_API_URL``, as the
  requester when they linked their GitHub account (their branches and pull requests), else as the
  GitHub App installation, else with ``ARCHOPS_GITHUB_TOKEN``.
* A project without one -> its own bare repository in the data folder (:class:`LocalHost`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.codehost.errors import CodeHostError, CredentialsRejected, NotConfigured
from core.codehost.github import host_for
from core.codehost.local import LocalHost, repository_path
from core.codehost.port import CodeHost
from core.envelope import Envelope
from core.settings import Settings
from core.vault import SealBroken

DEFAULT_PROJECT = "default"


def web_address(settings: Settings) -> str | None:
    """The web app's address for links: ARCHOPS_PUBLIC_URL, else the running ``archops up``'s."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    try:
        state = json.loads((settings.data_dir / "up.json").read_text())
    except (OSError, ValueError):
        return None
    url = state.get("url") if isinstance(state, dict) else None
    return url.rstrip("/") if isinstance(url, str) and url else None


def principal_of(envelope: Envelope) -> str:
    """Who asked, as the web app knows them: a Slack user is ``slack:<team>:<user>`` (Sign in
    with Slack's principal), everyone else their principal id."""
    if envelope.source == "slack":
        return f"slack:{envelope.reply_to.get('team') or '-'}:{envelope.user}"
    return envelope.user


@dataclass
class Credentials:
    token: str | None
    who: str  # for messages: "your linked GitHub account (@alice)", "the token"...
    principal: str | None = None  # set when the token is a person's linked account


class Hosts:
    def __init__(self, settings: Settings, store: Any = None, vault: Any = None) -> None:
        self.settings = settings
        self.store = store  # core.store.Store: linked accounts
        self._vault = vault

    @property
    def vault(self) -> Any:
        if self._vault is None:
            self._vault = self.settings.vault()
        return self._vault

    @property
    def github_web(self) -> str:
        """GitHub's web address for the API in use (Enterprise: the API's host)."""
        api = self.settings.github_api_url.rstrip("/")
        if api == "https://api.github.com":
            return "https://github.com"
        return api.removesuffix("/api/v3")

    def local_path(self, project_id: str) -> Path:
        return repository_path(self.settings.data_dir, project_id)

    def local(self, project_id: str, *, create: bool = False) -> LocalHost:
        path = self.local_path(project_id)
        web = web_address(self.settings)
        if create:
            return LocalHost.ensure(path, project_id, web_base=web)
        return LocalHost(path, project_id, web_base=web)

    def _app(self) -> tuple[int, str, int] | None:
        s = self.settings
        if not (s.github_app_id and s.github_app_installation_id):
            return None
        key = s.github_app_private_key.get_secret_value() if s.github_app_private_key else None
        if key is None and s.github_app_private_key_file:
            key = Path(s.github_app_private_key_file).read_text()
        return (s.github_app_id, key, s.github_app_installation_id) if key else None

    async def credentials(self, principal: str | None) -> Credentials:
        """The requester's linked account when there is one (and it was not revoked), else the
        installation's credentials (App, then token)."""
        if principal and self.store is not None:
            account = await self.store.get_github_account(principal)
            if account is not None and account.status == "linked":
                try:
                    token = self.vault.open(account.sealed_token)
                    return Credentials(token, f"your linked GitHub account (@{account.login})",
                                       principal)
                except SealBroken:
                    pass
            if account is not None:  # linked, but GitHub refused its token: never fall back
                raise CredentialsRejected(  # silently to other credentials
                    f"GitHub refused the token of your linked account (@{account.login}): it "
                    "was revoked or has expired",
                    hint="link your GitHub account again in the web app (/settings/github), or "
                         "unlink it there to use archops' own credentials")
        token = self.settings.github_token.get_secret_value() if self.settings.github_token else None
        if self._app() is not None:
            return Credentials(None, "the archops GitHub App")
        return Credentials(token, "ARCHOPS_GITHUB_TOKEN")

    def github(self, repo: str, credentials: Credentials) -> CodeHost:
        s = self.settings
        if not credentials.token and self._app() is None:
            raise NotConfigured(
                f"archops has no GitHub credentials to reach {repo}",
                hint="link your GitHub account in the web app (/settings/github), or set "
                     "ARCHOPS_GITHUB_TOKEN or the GitHub App settings")
        return host_for(repo, token=credentials.token,
                        app=None if credentials.token else self._app(), api_url=s.github_api_url,
                        write_interval_s=s.github_write_interval_s,
                        read_interval_s=s.github_read_interval_s, credentials=credentials.who)

    async def for_project(self, project: Any, principal: str | None = None
                          ) -> tuple[Callable[[], CodeHost], Credentials | None]:
        """A maker of the project's host (built where it is used: a thread) and the credentials
        it uses (None for a local repository)."""
        if not project.github_repo:
            return (lambda: self.local(project.id)), None
        try:
            credentials = await self.credentials(principal)
        except CodeHostError as exc:
            refusal = exc

            def refused() -> CodeHost:
                raise refusal  # the delivery reports it in the thread

            return refused, Credentials(None, "your linked GitHub account", principal)
        repo = project.github_repo
        return (lambda: self.github(repo, credentials)), credentials
