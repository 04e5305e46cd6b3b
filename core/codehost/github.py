"""The GitHub adapter of the code-host port: PyGithub against the REST API's Git Data endpoints.

A commit is made the way the Git Data API intends: one blob per changed file, one tree on the
parent's tree (unchanged files keep their blob ids, removed ones are entries with a null sha),
one commit, then the ref; never the Contents API file by file, so a version is one atomic commit.

PyGithub is built with ``retry=None``: its own retry would sleep through rate limits silently.
Errors are translated here into :mod:`core.codehost.errors` (a rate limit keeps the reset time
GitHub's headers give); the delivery decides whether to wait, and says so in the thread. Pacing
is PyGithub's ``seconds_between_writes`` / ``seconds_between_requests``, set from settings to
what GitHub documents (:func:`github_client`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import requests
from github import Auth, Github, GithubException, InputGitTreeElement
from github.GitCommit import GitCommit
from github.GitTree import GitTree
from github.PullRequest import PullRequest as GhPullRequest

from core.codehost.errors import (
    BranchDiverged,
    BranchProtected,
    CodeHostError,
    CredentialsRejected,
    HostUnavailable,
    NotConfigured,
    PermissionMissing,
    PullExists,
    RateLimited,
    RefExists,
    Refused,
    RepositoryEmpty,
    RepositoryNotFound,
)
from core.codehost.port import FILE_MODE, Calls, Commit, PullRequest, Repository

# GitHub's best practices: when no retry-after or reset header says otherwise, wait a minute
SECONDARY_DEFAULT_WAIT_S = 60.0
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def github_client(auth: Auth.Auth, api_url: str, *, write_interval_s: float = 0.75,
                  read_interval_s: float = 0.0, timeout_s: int = 20) -> Github:
    """A PyGithub client: no silent retries, GitHub's documented pacing (at most 80
    content-creating requests a minute: 0.75 s between writes; no pause between reads)."""
    return Github(auth=auth, base_url=api_url.rstrip("/"), timeout=timeout_s, retry=None,
                  seconds_between_requests=read_interval_s,
                  seconds_between_writes=write_interval_s, per_page=100, lazy=True)


def app_auth(app_id: int, private_key: str, installation_id: int) -> Auth.Auth:
    """A GitHub App installation: PyGithub signs a JWT with the App's key and exchanges it for
    installation tokens, renewed before they expire."""
    return Auth.AppAuth(app_id, private_key).get_installation_auth(installation_id)


def rate_limit_of(status: int, headers: Mapping[str, Any], message: str,
                  now: float | None = None) -> RateLimited | None:
    """The rate limit a 403/429 answer reports, with the reset its headers give; None when the
    answer is no rate limit. GitHub documents: ``retry-after`` seconds when present; else, when
    ``x-ratelimit-remaining`` is 0, the ``x-ratelimit-reset`` epoch second; else a minute."""
    if status not in (403, 429):
        return None
    now = time.time() if now is None else now
    lower = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    text = (message or "").lower()
    remaining = lower.get("x-ratelimit-remaining")
    secondary = "secondary rate limit" in text or text.endswith(
        ("please retry your request again later.", "please wait a few minutes before you try again."))
    primary = remaining == "0" or text.startswith("api rate limit exceeded")
    if not (primary or secondary or "retry-after" in lower or status == 429):
        return None
    kind = "secondary" if secondary or (status == 429 and not primary) else "primary"
    if "retry-after" in lower:
        try:
            return RateLimited(kind, now + float(lower["retry-after"]), status=status,
                               detail=f"retry-after: {lower['retry-after']} s")
        except ValueError:
            pass
    if remaining == "0" and "x-ratelimit-reset" in lower:
        try:
            return RateLimited(kind, float(lower["x-ratelimit-reset"]), status=status,
                               detail="x-ratelimit-reset")
        except ValueError:
            pass
    return RateLimited(kind, now + SECONDARY_DEFAULT_WAIT_S, status=status,
                       detail="no reset header; GitHub advises waiting a minute")


class GitHubHost:
    """One repository on GitHub (or GitHub Enterprise), through one set of credentials."""

    kind = "github"

    def __init__(self, gh: Github, full_name: str, *, credentials: str = "the token") -> None:
        self._gh = gh
        self.full_name = full_name
        # who GitHub is asked as, for messages ("your linked account", "the archops App")
        self.credentials = credentials
        self._repo = gh.get_repo(full_name)  # lazy: read when an attribute is needed
        self._commits: dict[str, GitCommit] = {}
        self._trees: dict[str, GitTree] = {}
        self._pulls: dict[int, GhPullRequest] = {}
        self._refs: dict[str, Any] = {}
        self.calls = Calls()
        self._meta: Repository | None = None

    # -- errors --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _calling(self, what: str, kind: str, *, write: bool = False) -> Iterator[None]:
        self.calls.count(kind, write)
        try:
            yield
        except GithubException as exc:
            raise self._translate(exc, what) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise HostUnavailable(f"GitHub did not answer while archops tried to {what} in "
                                  f"{self.full_name}: {type(exc).__name__}",
                                  hint="archops tries again; check ARCHOPS_GITHUB_API_URL if "
                                       "this persists") from exc

    def _translate(self, exc: GithubException, what: str) -> CodeHostError:
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or exc.message or "")
        errors = " ".join(str(e.get("message") or e.get("code") or "") for e in data.get("errors") or []
                          if isinstance(e, dict))
        full = f"{message} {errors}".strip()
        where = f"{what} in {self.full_name}"
        status = exc.status
        limited = rate_limit_of(status, exc.headers or {}, message)
        if limited is not None:
            return limited
        if status == 401:
            return CredentialsRejected(
                f"GitHub refused {self.credentials} (401 {message or 'Bad credentials'}): it has "
                "expired or was revoked", status=401,
                hint="link your GitHub account again in the web app (/settings/github), or set a "
                     "new ARCHOPS_GITHUB_TOKEN / check the GitHub App installation")
        if status == 404:
            return RepositoryNotFound(
                f"GitHub has no repository {self.full_name}, or {self.credentials} cannot see it "
                f"(404 while trying to {what})", status=404,
                hint="check the project's repository (archops project set ID --repository "
                     "owner/name) and that the token or App has access to it")
        if status == 409:
            if "empty" in full.lower():
                return RepositoryEmpty(
                    f"{self.full_name} is empty: there is no commit to branch from", status=409,
                    hint="push a first commit (a README) to its default branch, then ask again")
            return BranchDiverged(f"GitHub reported a conflict while archops tried to {where}: "
                                  f"{full}", status=409, hint="ask again; nothing was overwritten")
        lowered = full.lower()
        if "protected branch" in lowered or "rule violation" in lowered or "ruleset" in lowered:
            return BranchProtected(
                f"a branch protection rule refused archops' push ({where}): {full}", status=status,
                hint="let archops push branches named archops/* (exempt them from the rule or "
                     "give the token/App bypass), then ask again")
        if status == 403:
            return PermissionMissing(
                f"{self.credentials} may not {where} (403 {message})", status=403,
                hint="the token needs Contents and Pull requests write access to the repository "
                     "(a fine-grained token, the App's permissions, or the repo scope)")
        if status == 422:
            if "reference already exists" in lowered:
                return RefExists(f"the branch exists already ({where})", status=422)
            if "pull request already exists" in lowered:
                return PullExists(f"a pull request is open for the branch already ({where})",
                                  status=422)
            if "fast forward" in lowered or "fast-forward" in lowered:
                return BranchDiverged(
                    f"the branch moved while archops was writing to it ({where}): {full}",
                    status=422, hint="someone pushed to it meanwhile; nothing was overwritten. "
                                     "Ask again to build on their commit's branch state")
        if status is not None and status >= 500:
            return HostUnavailable(f"GitHub failed to {where} (HTTP {status}: {message})",
                                   status=status, hint="archops tries again")
        return Refused(f"GitHub refused to {where} (HTTP {status}: {full or 'no reason given'})",
                       status=status)

    # -- the port ------------------------------------------------------------------------------
    def repository(self) -> Repository:
        if self._meta is None:
            with self._calling("read the repository", "repository"):
                repo = self._repo
                permissions = repo.permissions  # the first attribute read fetches it
                self._meta = Repository(
                    repo.full_name, repo.default_branch or "main", repo.html_url, repo.clone_url,
                    bool(permissions is None or permissions.push),
                )
        return self._meta

    def head(self, branch: str) -> Commit | None:
        ref = self._repo.get_git_ref(f"heads/{branch}")
        try:
            with self._calling(f"read the branch {branch}", "ref"):
                sha = ref.object.sha
        except RepositoryNotFound:
            return None  # GitHub answers 404 for a missing branch and a missing repository
        # read at git/ref/heads/X, the ref is updated at its own url (git/refs/heads/X)
        self._refs[branch] = ref
        return self.get_commit(sha)

    def get_commit(self, sha: str) -> Commit:
        if sha not in self._commits:
            with self._calling("read a commit", "commit"):
                self._commits[sha] = self._repo.get_git_commit(sha)
        c = self._commits[sha]
        return Commit(c.sha, c.tree.sha, c.message, tuple(p.sha for p in c.parents))

    def _tree(self, sha: str, recursive: bool = False) -> GitTree:
        key = f"{sha}:r" if recursive else sha
        if key not in self._trees:
            with self._calling("read a tree", "tree"):
                self._trees[key] = self._repo.get_git_tree(sha, recursive=recursive)
        return self._trees[key]

    def files(self, commit: Commit, path: str) -> dict[str, str]:
        parts = [p for p in path.split("/") if p]
        sha = commit.tree
        for i, part in enumerate(parts):  # down to the module's folder, one tree at a time
            tree = self._tree(sha)
            entry = next((e for e in tree.tree if e.path == part and e.type == "tree"), None)
            if entry is None:
                return {}
            sha = entry.sha
            if i == len(parts) - 1:
                break
        listing = self._tree(sha, recursive=True)
        return {e.path: e.sha for e in listing.tree if e.type == "blob"}

    def write_commit(self, parent: Commit, path: str, files: Mapping[str, str],
                     removed: Iterable[str], message: str) -> Commit:
        prefix = f"{path.strip('/')}/" if path.strip("/") else ""
        elements = []
        for name, text in sorted(files.items()):
            with self._calling(f"write {prefix}{name}", "blob", write=True):
                blob = self._repo.create_git_blob(text, "utf-8")
            elements.append(InputGitTreeElement(f"{prefix}{name}", FILE_MODE, "blob", sha=blob.sha))
        for name in sorted(removed):
            elements.append(InputGitTreeElement(f"{prefix}{name}", FILE_MODE, "blob", sha=None))
        base = self._trees.get(parent.tree) or self._tree(parent.tree)
        with self._calling("write the tree", "tree", write=True):
            tree = self._repo.create_git_tree(elements, base_tree=base)
        if parent.sha not in self._commits:
            self.get_commit(parent.sha)
        with self._calling("write the commit", "commit", write=True):
            made = self._repo.create_git_commit(message, tree, [self._commits[parent.sha]])
        self._commits[made.sha] = made
        return Commit(made.sha, tree.sha, message, (parent.sha,))

    def create_branch(self, branch: str, sha: str) -> None:
        with self._calling(f"create the branch {branch}", "ref", write=True):
            self._repo.create_git_ref(f"refs/heads/{branch}", sha)

    def move_branch(self, branch: str, sha: str, expected: str) -> None:
        # the new commit's parent is ``expected``: GitHub refuses the move (422, not a fast
        # forward) when the branch has moved on since, which is the compare-and-swap we need
        if branch not in self._refs and self.head(branch) is None:
            raise BranchDiverged(f"the branch {branch} was deleted while archops was writing",
                                 hint="ask again: archops makes it anew")
        ref = self._refs[branch]
        with self._calling(f"move the branch {branch}", "ref", write=True):
            ref.edit(sha, force=False)

    def find_pull(self, branch: str) -> PullRequest | None:
        owner = self.full_name.split("/", 1)[0]
        with self._calling(f"look for the pull request of {branch}", "pulls"):
            first = next(iter(self._repo.get_pulls(state="open", head=f"{owner}:{branch}")),
                         None)  # only the first page is read
            if first is None:
                return None
            self._pulls[first.number] = first
            return _pull(first)

    def open_pull(self, branch: str, base: str, title: str, body: str,
                  labels: Iterable[str]) -> PullRequest:
        with self._calling(f"open the pull request of {branch}", "pull", write=True):
            pr = self._repo.create_pull(base=base, head=branch, title=title, body=body,
                                        maintainer_can_modify=True)
        self._pulls[pr.number] = pr
        wanted = list(labels)
        if wanted:
            with self._calling("label the pull request", "labels", write=True):
                pr.set_labels(*wanted)
        return PullRequest(pr.number, pr.html_url, branch, base, title, body, tuple(wanted))

    def update_pull(self, number: int, *, title: str, body: str,
                    labels: Iterable[str]) -> PullRequest:
        pr = self._pulls.get(number)
        if pr is None:
            with self._calling("read the pull request", "pull"):
                pr = self._repo.get_pull(number)
        current = _pull(pr)
        if (current.title, current.body) != (title, body):
            with self._calling("update the pull request", "pull", write=True):
                pr.edit(title=title, body=body)
        wanted = tuple(labels)
        if set(wanted) != set(current.labels):
            with self._calling("label the pull request", "labels", write=True):
                pr.set_labels(*wanted)
        return PullRequest(number, current.url, current.head, current.base, title, body, wanted)

    def file_url(self, branch: str, path: str) -> str:
        base = self._meta.web_url if self._meta else f"https://github.com/{self.full_name}"
        return f"{base}/tree/{branch}/{path.strip('/')}".rstrip("/")


def _pull(pr: GhPullRequest) -> PullRequest:
    return PullRequest(pr.number, pr.html_url, pr.head.ref, pr.base.ref, pr.title or "",
                       pr.body or "", tuple(label.name for label in pr.labels), pr.state)


def host_for(full_name: str, *, token: str | None = None, app: tuple[int, str, int] | None = None,
             api_url: str = "https://api.github.com", write_interval_s: float = 0.75,
             read_interval_s: float = 0.0, credentials: str | None = None) -> GitHubHost:
    """The adapter for ``owner/name`` with a token (a person's, or ARCHOPS_GITHUB_TOKEN) or a
    GitHub App installation (app id, private key, installation id)."""
    if token:
        auth: Auth.Auth = Auth.Token(token)
        who = credentials or "the token"
    elif app:
        auth = app_auth(*app)
        who = credentials or "the archops GitHub App"
    else:
        raise NotConfigured(
            "archops has no GitHub credentials to open pull requests with",
            hint="link your GitHub account in the web app (/settings/github), or set "
                 "ARCHOPS_GITHUB_TOKEN, or the GitHub App settings (ARCHOPS_GITHUB_APP_ID...)")
    gh = github_client(auth, api_url, write_interval_s=write_interval_s,
                       read_interval_s=read_interval_s)
    return GitHubHost(gh, full_name, credentials=who)
