"""A local stand-in for GitHub's REST API (and its OAuth web flow), on a free loopback port.

It answers the way GitHub does (shapes modelled on the recorded exchanges in
``shared/reference/github-replay``): the repository, the Git Data API (blobs, trees, commits,
refs, with real git object ids, so a tree id is the one ``git`` computes for the same files),
pull requests, issue labels, ``/user``, OAuth's authorize / access_token and token revocation,
and a GitHub App's installation tokens. Refusals are GitHub's: 401 Bad credentials, 403 without
push access, 404 for what a token cannot see, 409 for an empty repository, 422 for an existing
ref, a non-fast-forward update, a protected branch or a second pull request for one head, and
the primary / secondary rate limits with their headers (``x-ratelimit-*``, ``retry-after``).

It runs in a thread of its own (its own event loop), so both synchronous PyGithub code and async
tests talk to it over real HTTP. ``calls`` records every request; ``fail(...)`` scripts refusals.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

DOCS = "https://docs.github.com/rest"


def git_hash(kind: str, data: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(data)}\x00".encode() + data).hexdigest()


@dataclass
class Repo:
    owner: str
    name: str
    default_branch: str = "main"
    private: bool = True
    objects: dict[str, tuple[str, Any]] = field(default_factory=dict)  # sha -> (kind, content)
    refs: dict[str, str] = field(default_factory=dict)  # refs/heads/x -> commit sha
    pulls: list[dict[str, Any]] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)  # branch patterns (fnmatch)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Token:
    login: str
    permission: str = "push"  # push | pull
    repos: set[str] | None = None  # None: every repository; else the full names it may see
    scopes: str = "repo"


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int
    after: bool = False  # do the request, then answer with the fault (the answer is lost)


class GitHubStandIn:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, Token] = {}
        self.calls: list[tuple[str, str, int]] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self.oauth_apps: dict[str, str] = {}  # client id -> secret
        self.oauth_codes: dict[str, dict[str, str]] = {}
        self.oauth_user = "octocat"  # who approves the next authorize
        self.apps: dict[int, str] = {}  # app id -> public key PEM
        self.installations: dict[int, tuple[int, Token]] = {}  # id -> (app id, what it may do)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._pull_numbers = 0

    # -- life cycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GitHubStandIn:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=run, name="github-standin", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the GitHub stand-in did not start")
        return self

    async def _serve(self) -> None:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.middlewares.append(self._middleware)
        r = app.router
        r.add_get("/repos/{owner}/{repo}", self.get_repo)
        r.add_get("/repos/{owner}/{repo}/git/ref/{ref:.+}", self.get_ref)
        r.add_post("/repos/{owner}/{repo}/git/refs", self.create_ref)
        r.add_patch("/repos/{owner}/{repo}/git/refs/{ref:.+}", self.update_ref)
        r.add_get("/repos/{owner}/{repo}/git/commits/{sha}", self.get_commit)
        r.add_post("/repos/{owner}/{repo}/git/commits", self.create_commit)
        r.add_get("/repos/{owner}/{repo}/git/trees/{sha}", self.get_tree)
        r.add_post("/repos/{owner}/{repo}/git/trees", self.create_tree)
        r.add_post("/repos/{owner}/{repo}/git/blobs", self.create_blob)
        r.add_get("/repos/{owner}/{repo}/pulls", self.list_pulls)
        r.add_post("/repos/{owner}/{repo}/pulls", self.create_pull)
        r.add_get("/repos/{owner}/{repo}/pulls/{number}", self.get_pull)
        r.add_patch("/repos/{owner}/{repo}/pulls/{number}", self.edit_pull)
        r.add_put("/repos/{owner}/{repo}/issues/{number}/labels", self.set_labels)
        r.add_get("/user", self.get_user)
        r.add_get("/login/oauth/authorize", self.oauth_authorize)
        r.add_post("/login/oauth/access_token", self.oauth_token)
        r.add_delete("/applications/{client_id}/token", self.oauth_revoke)
        r.add_post("/app/installations/{installation}/access_tokens", self.installation_token)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    # -- what tests set up and read -------------------------------------------------------------
    def add_token(self, login: str = "archops-bot", *, permission: str = "push",
                  repos: set[str] | None = None, prefix: str = "ghp_") -> str:
        token = prefix + secrets.token_hex(18)
        self.tokens[token] = Token(login, permission, repos)
        return token

    def revoke(self, token: str) -> None:
        """What a person does in GitHub's settings: the token answers 401 from now on."""
        self.tokens.pop(token, None)

    def add_repo(self, full_name: str, *, empty: bool = False, readme: str = "# infra\n",
                 default_branch: str = "main") -> Repo:
        owner, name = full_name.split("/")
        repo = Repo(owner, name, default_branch)
        if not empty:
            blob = self._put(repo, "blob", readme.encode())
            tree = self._tree_object(repo, {"README.md": ("100644", "blob", blob)})
            commit = self._commit_object(repo, tree, [], "Initial commit", "octocat")
            repo.refs[f"refs/heads/{default_branch}"] = commit
        self.repos[full_name.lower()] = repo
        return repo

    def fail(self, method: str, path: str, status: int, message: str, *, times: int = 1,
             headers: dict[str, str] | None = None, after: bool = False,
             errors: list[dict[str, Any]] | None = None) -> None:
        body: dict[str, Any] = {"message": message, "documentation_url": DOCS}
        if errors:
            body["errors"] = errors
        self.faults.append(Fault(method, re.compile(path), status, body, headers or {}, times,
                                 after))

    def rate_limit(self, method: str, path: str, kind: str, *, reset_in: float = 1.0,
                   retry_after: int | None = None, status: int = 403, times: int = 1) -> None:
        """A primary (hourly budget used up) or secondary (too fast) limit on matching calls."""
        reset = int(time.time() + reset_in)
        if kind == "primary":
            headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                       "x-ratelimit-used": "5000", "x-ratelimit-reset": str(reset),
                       "x-ratelimit-resource": "core"}
            message = "API rate limit exceeded for user ID 583231."
        else:
            headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4990",
                       "x-ratelimit-reset": str(reset)}
            if retry_after is not None:
                headers["retry-after"] = str(retry_after)
            message = ("You have exceeded a secondary rate limit. Please wait a few minutes "
                       "before you try again. If you reach out to GitHub Support for help, "
                       "please include the request ID 0000:1111:2222.")
        self.fail(method, path, status, message, times=times, headers=headers)

    def count(self, method: str, pattern: str, status: int | None = None) -> int:
        regex = re.compile(pattern)
        return sum(1 for m, p, s in self.calls
                   if m == method and regex.search(p) and (status is None or s == status))

    def branch_log(self, full_name: str, branch: str) -> list[dict[str, Any]]:
        """The branch's commits, newest first (first parents)."""
        repo = self.repos[full_name.lower()]
        out = []
        sha = repo.refs.get(f"refs/heads/{branch}")
        while sha:
            commit = repo.objects[sha][1]
            out.append({"sha": sha, **commit})
            sha = commit["parents"][0] if commit["parents"] else None
        return out

    def files_at(self, full_name: str, ref: str) -> dict[str, str]:
        """path -> text of every file at a branch (or commit)."""
        repo = self.repos[full_name.lower()]
        sha = repo.refs.get(f"refs/heads/{ref}", ref)
        flat = self._flatten(repo, repo.objects[sha][1]["tree"])
        return {p: repo.objects[s][1].decode() for p, (_m, _t, s) in flat.items()}

    # -- git objects --------------------------------------------------------------------------
    def _put(self, repo: Repo, kind: str, content: Any, raw: bytes | None = None) -> str:
        data = raw if raw is not None else content
        sha = git_hash(kind, data)
        repo.objects.setdefault(sha, (kind, content))
        return sha

    def _tree_object(self, repo: Repo, entries: dict[str, tuple[str, str, str]]) -> str:
        """A tree of direct entries: name -> (mode, type, sha), hashed as git hashes it."""
        def key(item: tuple[str, tuple[str, str, str]]) -> bytes:
            name, (_mode, kind, _sha) = item
            return (name + "/" if kind == "tree" else name).encode()

        raw = b"".join(
            f"{'40000' if kind == 'tree' else mode} {name}\x00".encode() + bytes.fromhex(sha)
            for name, (mode, kind, sha) in sorted(entries.items(), key=key))
        return self._put(repo, "tree", dict(entries), raw)

    def _flatten(self, repo: Repo, tree_sha: str, prefix: str = "") -> dict[str, tuple[str, str, str]]:
        out = {}
        for name, (mode, kind, sha) in repo.objects[tree_sha][1].items():
            if kind == "tree":
                out.update(self._flatten(repo, sha, f"{prefix}{name}/"))
            else:
                out[f"{prefix}{name}"] = (mode, kind, sha)
        return out

    def _build(self, repo: Repo, flat: dict[str, tuple[str, str, str]]) -> str:
        direct: dict[str, tuple[str, str, str]] = {}
        children: dict[str, dict[str, tuple[str, str, str]]] = {}
        for path, entry in flat.items():
            head, _, rest = path.partition("/")
            if rest:
                children.setdefault(head, {})[rest] = entry
            else:
                direct[head] = entry
        for name, sub in children.items():
            direct[name] = ("040000", "tree", self._build(repo, sub))
        return self._tree_object(repo, direct)

    def _commit_object(self, repo: Repo, tree: str, parents: list[str], message: str,
                       login: str) -> str:
        when = int(time.time())
        person = f"{login} <{login}@users.noreply.github.com> {when} +0000"
        raw = (f"tree {tree}\n" + "".join(f"parent {p}\n" for p in parents)
               + f"author {person}\ncommitter {person}\n\n{message}").encode()
        content = {"tree": tree, "parents": parents, "message": message, "author": login,
                   "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))}
        return self._put(repo, "commit", content, raw)

    def _ancestors(self, repo: Repo, sha: str) -> set[str]:
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            if current in seen or current not in repo.objects:
                continue
            seen.add(current)
            todo += repo.objects[current][1]["parents"]
        return seen

    # -- HTTP plumbing ----------------------------------------------------------------------------
    def _base(self, request: web.Request) -> str:
        return f"http://{request.host}"

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path_qs
        fault = None
        with self.lock:
            for f in self.faults:
                if f.times > 0 and f.method == request.method and f.path.search(request.path):
                    f.times -= 1
                    fault = f
                    break
        if fault is not None and not fault.after:
            response: web.StreamResponse = web.json_response(fault.body, status=fault.status,
                                                             headers=fault.headers)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = exc
            if fault is not None:
                response = web.json_response(fault.body, status=fault.status, headers=fault.headers)
        with self.lock:
            self.calls.append((request.method, path, response.status))
        response.headers.setdefault("x-ratelimit-limit", "5000")
        response.headers.setdefault("x-ratelimit-remaining", str(max(0, 5000 - len(self.calls))))
        response.headers.setdefault("x-ratelimit-reset", str(int(time.time()) + 3600))
        response.headers.setdefault("x-ratelimit-resource", "core")
        response.headers.setdefault("x-github-request-id", secrets.token_hex(8).upper())
        response.headers.setdefault("server", "github.com (stand-in)")
        return response

    def _error(self, status: int, message: str, **extra: Any) -> web.Response:
        return web.json_response({"message": message, "documentation_url": DOCS, **extra},
                                 status=status)

    def _token(self, request: web.Request) -> Token | None:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return None
        return self.tokens.get(value.strip())

    def _repo(self, request: web.Request, write: bool = False) -> Repo | web.Response:
        token = self._token(request)
        if token is None:
            return self._error(401, "Bad credentials")
        full = f"{request.match_info['owner']}/{request.match_info['repo']}"
        repo = self.repos.get(full.lower())
        if repo is None or (token.repos is not None and full.lower() not in
                            {r.lower() for r in token.repos}):
            return self._error(404, "Not Found")
        if write and token.permission != "push":
            return self._error(403, "Resource not accessible by personal access token")
        return repo

    def _git(self, request: web.Request, write: bool = False) -> Repo | web.Response:
        repo = self._repo(request, write)
        if isinstance(repo, Repo) and not repo.refs:
            return self._error(409, "Git Repository is empty.")
        return repo

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text=json.dumps({"message": "Problems parsing JSON"}),
                                     content_type="application/json") from None
        return data if isinstance(data, dict) else {}

    def _repo_json(self, request: web.Request, repo: Repo, token: Token | None) -> dict[str, Any]:
        base = self._base(request)
        push = token is not None and token.permission == "push"
        return {
            "id": abs(hash(repo.full_name)) % 10**8, "node_id": "R_" + repo.name,
            "name": repo.name, "full_name": repo.full_name, "private": repo.private,
            "owner": {"login": repo.owner, "id": 1, "type": "Organization",
                      "url": f"{base}/users/{repo.owner}"},
            "html_url": f"https://github.example/{repo.full_name}",
            "url": f"{base}/repos/{repo.full_name}",
            "clone_url": f"https://github.example/{repo.full_name}.git",
            "default_branch": repo.default_branch,
            "permissions": {"admin": False, "maintain": False, "push": push, "triage": push,
                            "pull": True},
        }

    def _ref_json(self, request: web.Request, repo: Repo, ref: str) -> dict[str, Any]:
        base = f"{self._base(request)}/repos/{repo.full_name}"
        sha = repo.refs[ref]
        return {"ref": ref, "node_id": "REF_" + sha[:8], "url": f"{base}/git/{ref}",
                "object": {"sha": sha, "type": "commit", "url": f"{base}/git/commits/{sha}"}}

    def _commit_json(self, request: web.Request, repo: Repo, sha: str) -> dict[str, Any]:
        base = f"{self._base(request)}/repos/{repo.full_name}"
        c = repo.objects[sha][1]
        person = {"name": c["author"], "email": f"{c['author']}@users.noreply.github.com",
                  "date": c["date"]}
        return {"sha": sha, "node_id": "C_" + sha[:8], "url": f"{base}/git/commits/{sha}",
                "html_url": f"https://github.example/{repo.full_name}/commit/{sha}",
                "author": person, "committer": person, "message": c["message"],
                "tree": {"sha": c["tree"], "url": f"{base}/git/trees/{c['tree']}"},
                "parents": [{"sha": p, "url": f"{base}/git/commits/{p}",
                             "html_url": f"https://github.example/{repo.full_name}/commit/{p}"}
                            for p in c["parents"]],
                "verification": {"verified": False, "reason": "unsigned", "signature": None,
                                 "payload": None}}

    def _tree_json(self, request: web.Request, repo: Repo, sha: str, recursive: bool
                   ) -> dict[str, Any]:
        base = f"{self._base(request)}/repos/{repo.full_name}"
        entries = []

        def walk(tree_sha: str, prefix: str) -> None:
            for name, (mode, kind, child) in sorted(repo.objects[tree_sha][1].items()):
                entry = {"path": f"{prefix}{name}", "mode": mode, "type": kind, "sha": child,
                         "url": f"{base}/git/{'trees' if kind == 'tree' else 'blobs'}/{child}"}
                if kind == "blob":
                    entry["size"] = len(repo.objects[child][1])
                entries.append(entry)
                if kind == "tree" and recursive:
                    walk(child, f"{prefix}{name}/")

        walk(sha, "")
        return {"sha": sha, "url": f"{base}/git/trees/{sha}", "tree": entries, "truncated": False}

    def _pull_json(self, request: web.Request, repo: Repo, pr: dict[str, Any]) -> dict[str, Any]:
        base = f"{self._base(request)}/repos/{repo.full_name}"
        repo_json = self._repo_json(request, repo, None)
        head_sha = repo.refs.get(f"refs/heads/{pr['head']}", pr.get("head_sha", ""))
        return {
            "id": pr["number"] * 1000, "node_id": f"PR_{pr['number']}", "number": pr["number"],
            "state": pr["state"], "title": pr["title"], "body": pr["body"], "draft": False,
            "url": f"{base}/pulls/{pr['number']}",
            "html_url": f"https://github.example/{repo.full_name}/pull/{pr['number']}",
            "issue_url": f"{base}/issues/{pr['number']}",
            "user": {"login": pr["user"], "id": 2},
            "labels": [{"id": i, "name": n, "color": "ededed", "default": False}
                       for i, n in enumerate(pr["labels"])],
            "head": {"ref": pr["head"], "sha": head_sha, "label": f"{repo.owner}:{pr['head']}",
                     "repo": repo_json},
            "base": {"ref": pr["base"], "sha": repo.refs.get(f"refs/heads/{pr['base']}", ""),
                     "label": f"{repo.owner}:{pr['base']}", "repo": repo_json},
            "merged": False, "mergeable": None, "maintainer_can_modify": True,
            "created_at": pr["created_at"], "updated_at": pr["updated_at"],
        }

    # -- the repository and the Git Data API -------------------------------------------------------
    async def get_repo(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if not isinstance(repo, Repo):
            return repo
        return web.json_response(self._repo_json(request, repo, self._token(request)))

    async def get_ref(self, request: web.Request) -> web.Response:
        repo = self._git(request)
        if not isinstance(repo, Repo):
            return repo
        ref = "refs/" + request.match_info["ref"]
        if ref not in repo.refs:
            return self._error(404, "Not Found")
        return web.json_response(self._ref_json(request, repo, ref))

    def _protected(self, repo: Repo, ref: str) -> bool:
        branch = ref.removeprefix("refs/heads/")
        return any(fnmatch.fnmatch(branch, p) for p in repo.protected)

    async def create_ref(self, request: web.Request) -> web.Response:
        repo = self._git(request, write=True)
        if not isinstance(repo, Repo):
            return repo
        body = await self._json(request)
        ref, sha = str(body.get("ref", "")), str(body.get("sha", ""))
        if not ref.startswith("refs/") or ref.count("/") < 2:
            return self._error(422, "Reference name must start with 'refs/' and have at least "
                                    "two slashes.")
        if sha not in repo.objects or repo.objects[sha][0] != "commit":
            return self._error(422, "Object does not exist")
        with self.lock:
            if ref in repo.refs:
                return self._error(422, "Reference already exists")
            if self._protected(repo, ref):
                return self._error(422, "Repository rule violations found", errors=[
                    {"message": "Cannot create ref due to creations being restricted."}])
            repo.refs[ref] = sha
        location = f"{self._base(request)}/repos/{repo.full_name}/git/{ref}"
        return web.json_response(self._ref_json(request, repo, ref), status=201,
                                 headers={"Location": location})

    async def update_ref(self, request: web.Request) -> web.Response:
        repo = self._git(request, write=True)
        if not isinstance(repo, Repo):
            return repo
        ref = "refs/" + request.match_info["ref"]
        body = await self._json(request)
        sha, force = str(body.get("sha", "")), bool(body.get("force", False))
        with self.lock:
            if ref not in repo.refs:
                return self._error(422, "Reference does not exist")
            if sha not in repo.objects:
                return self._error(422, "Object does not exist")
            if self._protected(repo, ref):
                return self._error(422, f"Protected branch update failed for {ref}.")
            if not force and repo.refs[ref] not in self._ancestors(repo, sha):
                return self._error(422, "Update is not a fast forward")
            repo.refs[ref] = sha
        return web.json_response(self._ref_json(request, repo, ref))

    async def get_commit(self, request: web.Request) -> web.Response:
        repo = self._git(request)
        if not isinstance(repo, Repo):
            return repo
        sha = request.match_info["sha"]
        if repo.objects.get(sha, ("",))[0] != "commit":
            return self._error(404, "Not Found")
        return web.json_response(self._commit_json(request, repo, sha))

    async def create_commit(self, request: web.Request) -> web.Response:
        repo = self._git(request, write=True)
        if not isinstance(repo, Repo):
            return repo
        body = await self._json(request)
        tree, parents = str(body.get("tree", "")), list(body.get("parents") or [])
        if repo.objects.get(tree, ("",))[0] != "tree":
            return self._error(422, "Tree SHA does not exist")
        if any(repo.objects.get(p, ("",))[0] != "commit" for p in parents):
            return self._error(422, "Parent SHA does not exist or is not a commit object")
        token = self._token(request)
        with self.lock:
            sha = self._commit_object(repo, tree, parents, str(body.get("message", "")),
                                      token.login if token else "ghost")
        return web.json_response(self._commit_json(request, repo, sha), status=201)

    async def get_tree(self, request: web.Request) -> web.Response:
        repo = self._git(request)
        if not isinstance(repo, Repo):
            return repo
        sha = request.match_info["sha"]
        if repo.objects.get(sha, ("",))[0] != "tree":
            return self._error(404, "Not Found")
        recursive = request.query.get("recursive") not in (None, "", "0", "false")
        return web.json_response(self._tree_json(request, repo, sha, recursive))

    async def create_tree(self, request: web.Request) -> web.Response:
        repo = self._git(request, write=True)
        if not isinstance(repo, Repo):
            return repo
        body = await self._json(request)
        flat: dict[str, tuple[str, str, str]] = {}
        base = body.get("base_tree")
        with self.lock:
            if base:
                if repo.objects.get(base, ("",))[0] != "tree":
                    return self._error(422, "base_tree is not a valid tree oid")
                flat = self._flatten(repo, base)
            for entry in body.get("tree") or []:
                path = str(entry.get("path", "")).strip("/")
                if not path or ".." in path.split("/"):
                    return self._error(422, "tree.path contains a malformed path component")
                if "content" in entry:
                    blob = self._put(repo, "blob", str(entry["content"]).encode())
                    flat[path] = (entry.get("mode", "100644"), "blob", blob)
                elif entry.get("sha") is None:
                    flat.pop(path, None)
                    flat = {p: e for p, e in flat.items() if not p.startswith(path + "/")}
                else:
                    if entry["sha"] not in repo.objects:
                        return self._error(422, f"tree.sha {entry['sha']} is not a valid blob")
                    flat[path] = (entry.get("mode", "100644"), entry.get("type", "blob"),
                                  entry["sha"])
            sha = self._build(repo, flat)
        return web.json_response(self._tree_json(request, repo, sha, False), status=201)

    async def create_blob(self, request: web.Request) -> web.Response:
        repo = self._git(request, write=True)
        if not isinstance(repo, Repo):
            return repo
        body = await self._json(request)
        content = str(body.get("content", ""))
        data = base64.b64decode(content) if body.get("encoding") == "base64" else content.encode()
        with self.lock:
            sha = self._put(repo, "blob", data)
        return web.json_response({"sha": sha, "url": f"{self._base(request)}/repos/"
                                  f"{repo.full_name}/git/blobs/{sha}"}, status=201)

    # -- pull requests and labels --------------------------------------------------------------------
    async def list_pulls(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if not isinstance(repo, Repo):
            return repo
        state, head = request.query.get("state", "open"), request.query.get("head")
        found = [p for p in repo.pulls if state == "all" or p["state"] == state]
        if head:
            owner, _, branch = head.partition(":")
            found = [p for p in found if owner.lower() == repo.owner.lower() and p["head"] == branch]
        return web.json_response([self._pull_json(request, repo, p) for p in reversed(found)])

    async def create_pull(self, request: web.Request) -> web.Response:
        repo = self._repo(request, write=True)
        if not isinstance(repo, Repo):
            return repo
        body = await self._json(request)
        head, base = str(body.get("head", "")).split(":")[-1], str(body.get("base", ""))
        text = str(body.get("body") or "")
        if len(text) > 65536:
            return self._error(422, "Validation Failed", errors=[
                {"resource": "Issue", "code": "custom", "field": "body",
                 "message": "body is too long (maximum is 65536 characters)"}])
        if f"refs/heads/{head}" not in repo.refs:
            return self._error(422, "Validation Failed", errors=[
                {"resource": "PullRequest", "field": "head", "code": "invalid"}])
        if f"refs/heads/{base}" not in repo.refs:
            return self._error(422, "Validation Failed", errors=[
                {"resource": "PullRequest", "field": "base", "code": "invalid"}])
        token = self._token(request)
        with self.lock:
            if any(p["head"] == head and p["state"] == "open" for p in repo.pulls):
                return self._error(422, "Validation Failed", errors=[
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"A pull request already exists for {repo.owner}:{head}."}])
            self._pull_numbers += 1
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            pr = {"number": self._pull_numbers, "head": head, "base": base,
                  "title": str(body.get("title", "")), "body": text, "state": "open",
                  "labels": [], "user": token.login if token else "ghost", "created_at": now,
                  "updated_at": now}
            repo.pulls.append(pr)
        data = self._pull_json(request, repo, pr)
        return web.json_response(data, status=201, headers={"Location": data["url"]})

    def _find_pull(self, repo: Repo, number: str) -> dict[str, Any] | None:
        return next((p for p in repo.pulls if str(p["number"]) == number), None)

    async def get_pull(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if not isinstance(repo, Repo):
            return repo
        pr = self._find_pull(repo, request.match_info["number"])
        if pr is None:
            return self._error(404, "Not Found")
        return web.json_response(self._pull_json(request, repo, pr))

    async def edit_pull(self, request: web.Request) -> web.Response:
        repo = self._repo(request, write=True)
        if not isinstance(repo, Repo):
            return repo
        pr = self._find_pull(repo, request.match_info["number"])
        if pr is None:
            return self._error(404, "Not Found")
        body = await self._json(request)
        if len(str(body.get("body") or "")) > 65536:
            return self._error(422, "Validation Failed", errors=[
                {"resource": "Issue", "code": "custom", "field": "body",
                 "message": "body is too long (maximum is 65536 characters)"}])
        with self.lock:
            for key in ("title", "body", "state"):
                if key in body:
                    pr[key] = body[key]
            pr["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return web.json_response(self._pull_json(request, repo, pr))

    async def set_labels(self, request: web.Request) -> web.Response:
        repo = self._repo(request, write=True)
        if not isinstance(repo, Repo):
            return repo
        pr = self._find_pull(repo, request.match_info["number"])
        if pr is None:
            return self._error(404, "Not Found")
        body = await request.json()
        names = body.get("labels", body) if isinstance(body, dict) else body
        pr["labels"] = [str(n) for n in names]
        return web.json_response([{"id": i, "name": n, "color": "ededed", "default": False}
                                  for i, n in enumerate(pr["labels"])])

    # -- who, OAuth and Apps ----------------------------------------------------------------------
    async def get_user(self, request: web.Request) -> web.Response:
        token = self._token(request)
        if token is None:
            return self._error(401, "Bad credentials")
        return web.json_response({"login": token.login, "id": abs(hash(token.login)) % 10**6,
                                  "type": "User", "name": token.login.title()},
                                 headers={"X-OAuth-Scopes": token.scopes})

    async def oauth_authorize(self, request: web.Request) -> web.Response:
        """The person approves the app at once (the page GitHub would show is skipped)."""
        q = request.query
        if q.get("client_id") not in self.oauth_apps:
            return web.Response(status=404, text="Not Found")
        code = secrets.token_hex(10)
        self.oauth_codes[code] = {"client_id": q["client_id"],
                                  "redirect_uri": q.get("redirect_uri", ""),
                                  "scope": q.get("scope", ""), "login": self.oauth_user}
        target = f"{q.get('redirect_uri')}?{urlencode({'code': code, 'state': q.get('state', '')})}"
        return web.Response(status=302, headers={"Location": target})

    async def oauth_token(self, request: web.Request) -> web.Response:
        form = dict(await request.post()) if request.content_type != "application/json" \
            else await request.json()
        client, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if self.oauth_apps.get(client) != secret:
            return web.json_response({"error": "incorrect_client_credentials",
                                      "error_description": "The client_id and/or client_secret "
                                      "passed are incorrect."})
        grant = self.oauth_codes.pop(str(form.get("code", "")), None)
        if grant is None or grant["client_id"] != client or (
                form.get("redirect_uri") and form.get("redirect_uri") != grant["redirect_uri"]):
            return web.json_response({"error": "bad_verification_code",
                                      "error_description": "The code passed is incorrect or "
                                      "expired."})
        token = "gho_" + secrets.token_hex(18)
        self.tokens[token] = Token(grant["login"], "push", None, grant["scope"] or "repo")
        return web.json_response({"access_token": token, "token_type": "bearer",
                                  "scope": grant["scope"] or "repo"})

    async def oauth_revoke(self, request: web.Request) -> web.Response:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        try:
            client, _, secret = base64.b64decode(value).decode().partition(":")
        except ValueError:
            client, secret = "", ""
        if scheme.lower() != "basic" or self.oauth_apps.get(client) != secret \
                or client != request.match_info["client_id"]:
            return self._error(401, "Bad credentials")
        body = await request.json()
        if self.tokens.pop(str(body.get("access_token", "")), None) is None:
            return self._error(404, "Not Found")
        return web.Response(status=204)

    async def installation_token(self, request: web.Request) -> web.Response:
        import jwt

        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        installation = self.installations.get(int(request.match_info["installation"]))
        if installation is None:
            return self._error(404, "Not Found")
        app_id, grant = installation
        try:
            claims = jwt.decode(value, self.apps[app_id], algorithms=["RS256"])
        except (jwt.PyJWTError, KeyError):
            return self._error(401, "A JSON web token could not be decoded")
        if scheme.lower() != "bearer" or str(claims.get("iss")) != str(app_id):
            return self._error(401, "'Issuer' claim ('iss') must be an Integer")
        token = "ghs_" + secrets.token_hex(18)
        self.tokens[token] = Token("archops[bot]", grant.permission, grant.repos)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return web.json_response({"token": token, "expires_at": expires,
                                  "permissions": {"contents": "write", "pull_requests": "write"},
                                  "repository_selection": "all"}, status=201)
