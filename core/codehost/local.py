"""The local adapter of the code-host port: a bare git repository per project in the data folder.

For the embedded default and for teams without GitHub: ``$ARCHOPS_DATA_DIR/repos/<project>.git``
is an ordinary bare repository that any git client clones (``archops up`` prints the command).
Commits are made with git's plumbing (``hash-object``, a private index, ``write-tree``,
``commit-tree``) and refs move with ``update-ref NEW OLD``, git's own compare-and-swap, so a
branch that moved meanwhile is refused, never overwritten. A pull request is a JSON record in
the repository (``archops/pulls/N.json``: head, base, title, body, labels, state) numbered like
GitHub's; the web app shows it at ``/projects/<project>/pulls/<N>``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from core.codehost.errors import (
    BranchDiverged,
    CodeHostError,
    PullExists,
    RefExists,
    RepositoryEmpty,
    RepositoryNotFound,
)
from core.codehost.port import FILE_MODE, Calls, Commit, PullRequest, Repository
from core.datadir import write_private

DEFAULT_BRANCH = "main"
ZERO = "0" * 40
IDENTITY = {"GIT_AUTHOR_NAME": "archops", "GIT_AUTHOR_EMAIL": "archops@localhost",
            "GIT_COMMITTER_NAME": "archops", "GIT_COMMITTER_EMAIL": "archops@localhost"}
README = """# Infrastructure

archops writes the Terraform of this project's designs here. Each conversation is a branch
(`archops/<project>/<slug>`) whose commits are the design's versions; its pull request says what
was asked, what was decided, what the review found and what it costs.
"""
_ENTRY = re.compile(rb"^(\d{6}) (\w+) ([0-9a-f]{40})\t(.*)$", re.S)


def repository_path(data_dir: Path, project_id: str) -> Path:
    return Path(data_dir) / "repos" / f"{project_id}.git"


class LocalHost:
    kind = "local"

    def __init__(self, path: Path, project_id: str, *, web_base: str | None = None) -> None:
        self.path = Path(path)
        self.project_id = project_id
        self.web_base = web_base.rstrip("/") if web_base else None
        self.calls = Calls()

    # -- git -----------------------------------------------------------------------------------
    def _git(self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None,
             kind: str = "git", write: bool = False, check: bool = True
             ) -> subprocess.CompletedProcess[bytes]:
        if not (self.path / "HEAD").is_file():
            raise RepositoryNotFound(
                f"the local repository of project {self.project_id} is missing ({self.path})",
                hint="`archops up` or `archops project set` creates it again")
        self.calls.count(kind, write)
        result = subprocess.run(
            ["git", f"--git-dir={self.path}", *args], input=stdin, capture_output=True,
            env={**os.environ, **IDENTITY, **(env or {})}, timeout=60,
        )
        if check and result.returncode != 0:
            raise CodeHostError(f"git {args[0]} failed in {self.path}: "
                                f"{result.stderr.decode(errors='replace').strip()[:300]}")
        return result

    @classmethod
    def ensure(cls, path: Path, project_id: str, *, web_base: str | None = None) -> LocalHost:
        """The repository, created (bare, with a first commit on main) when missing."""
        path = Path(path)
        if not (path / "HEAD").is_file():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # no template: no sample hooks (nothing executable in the data folder)
            subprocess.run(["git", "init", "--quiet", "--bare", "--template=",
                            f"--initial-branch={DEFAULT_BRANCH}", str(path)],
                           check=True, capture_output=True, timeout=60)
        host = cls(path, project_id, web_base=web_base)
        if host.head(DEFAULT_BRANCH) is None:
            blob = host._git("hash-object", "-w", "--stdin", stdin=README.encode()).stdout.strip()
            tree = host._git("mktree", stdin=b"100644 blob " + blob + b"\tREADME.md\n"
                             ).stdout.decode().strip()
            commit = host._git("commit-tree", tree, "-m", "Start the infrastructure repository"
                               ).stdout.decode().strip()
            host._git("update-ref", f"refs/heads/{DEFAULT_BRANCH}", commit, ZERO, check=False)
        return host

    # -- the port ------------------------------------------------------------------------------
    def repository(self) -> Repository:
        self._git("rev-parse", "--git-dir", kind="repository")
        return Repository(self.project_id, DEFAULT_BRANCH, self.clone_url, self.clone_url, True)

    @property
    def clone_url(self) -> str:
        return str(self.path)

    def head(self, branch: str) -> Commit | None:
        found = self._git("rev-parse", "-q", "--verify", f"refs/heads/{branch}^{{commit}}",
                          kind="ref", check=False)
        if found.returncode != 0:
            return None
        return self.get_commit(found.stdout.decode().strip())

    def get_commit(self, sha: str) -> Commit:
        raw = self._git("cat-file", "commit", sha, kind="commit").stdout.decode("utf-8", "replace")
        header, _, message = raw.partition("\n\n")
        tree, parents = "", []
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
        return Commit(sha, tree, message, tuple(parents))

    def files(self, commit: Commit, path: str) -> dict[str, str]:
        prefix = f"{path.strip('/')}/" if path.strip("/") else ""
        listing = self._git("ls-tree", "-r", "-z", commit.sha, "--", *([prefix] if prefix else []),
                            kind="tree").stdout
        out: dict[str, str] = {}
        for entry in listing.split(b"\0"):
            match = _ENTRY.match(entry)
            if match and match.group(2) == b"blob":
                name = match.group(4).decode()
                out[name[len(prefix):]] = match.group(3).decode()
        return out

    def write_commit(self, parent: Commit, path: str, files: Mapping[str, str],
                     removed: Iterable[str], message: str) -> Commit:
        prefix = f"{path.strip('/')}/" if path.strip("/") else ""
        names = sorted(files)
        lines: list[str] = []
        with tempfile.TemporaryDirectory(prefix="archops-commit-") as tmp:
            if names:
                paths = []
                for i, name in enumerate(names):
                    target = Path(tmp, f"f{i}")
                    target.write_bytes(files[name].encode("utf-8"))
                    paths.append(str(target))
                shas = self._git("hash-object", "-w", "--no-filters", "--stdin-paths",
                                 stdin="\n".join(paths).encode(), kind="blob", write=True
                                 ).stdout.decode().split()
                lines += [f"{FILE_MODE} {sha}\t{prefix}{name}" for name, sha in zip(names, shas, strict=True)]
            lines += [f"0 {ZERO}\t{prefix}{name}" for name in sorted(removed)]
            env = {"GIT_INDEX_FILE": str(Path(tmp, "index"))}
            self._git("read-tree", parent.tree, env=env, kind="tree")
            self._git("update-index", "--index-info", stdin=("\n".join(lines) + "\n").encode(),
                      env=env, kind="tree", write=True)
            tree = self._git("write-tree", env=env, kind="tree", write=True).stdout.decode().strip()
        sha = self._git("commit-tree", tree, "-p", parent.sha, "-F", "-", stdin=message.encode(),
                        kind="commit", write=True).stdout.decode().strip()
        return Commit(sha, tree, message, (parent.sha,))

    def create_branch(self, branch: str, sha: str) -> None:
        self._check_ref(branch)
        done = self._git("update-ref", f"refs/heads/{branch}", sha, ZERO, kind="ref", write=True,
                         check=False)
        if done.returncode != 0:
            raise RefExists(f"the branch {branch} exists already")

    def move_branch(self, branch: str, sha: str, expected: str) -> None:
        done = self._git("update-ref", f"refs/heads/{branch}", sha, expected, kind="ref",
                         write=True, check=False)
        if done.returncode != 0:
            raise BranchDiverged(
                f"the branch {branch} moved while archops was writing to it "
                f"({done.stderr.decode(errors='replace').strip()[:200]})",
                hint="someone pushed to it meanwhile; nothing was overwritten")

    def _check_ref(self, branch: str) -> None:
        if subprocess.run(["git", "check-ref-format", f"refs/heads/{branch}"],
                          capture_output=True, timeout=10).returncode != 0:
            raise CodeHostError(f"{branch!r} is not a valid branch name")

    # -- pull requests -------------------------------------------------------------------------
    @property
    def _pulls_dir(self) -> Path:
        return self.path / "archops" / "pulls"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._pulls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._pulls_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _records(self) -> list[dict[str, Any]]:
        if not self._pulls_dir.is_dir():
            return []
        out = []
        for item in self._pulls_dir.glob("*.json"):
            with contextlib.suppress(ValueError, OSError):
                out.append(json.loads(item.read_text()))
        return sorted(out, key=lambda r: int(r["number"]))

    def _url(self, number: int) -> str:
        if self.web_base:
            return f"{self.web_base}/projects/{self.project_id}/pulls/{number}"
        return f"/projects/{self.project_id}/pulls/{number}"

    def _save(self, record: dict[str, Any]) -> PullRequest:
        record["updated_at"] = time.time()
        write_private(self._pulls_dir / f"{record['number']}.json", json.dumps(record, indent=1))
        return self._pull(record)

    def _pull(self, record: dict[str, Any]) -> PullRequest:
        return PullRequest(int(record["number"]), self._url(int(record["number"])), record["head"],
                           record["base"], record["title"], record["body"],
                           tuple(record.get("labels") or ()), record.get("state", "open"))

    def pull(self, number: int) -> PullRequest | None:
        """One pull request by number (the web app's page)."""
        return next((self._pull(r) for r in self._records() if int(r["number"]) == number), None)

    def pulls(self) -> list[PullRequest]:
        return [self._pull(r) for r in self._records()]

    def find_pull(self, branch: str) -> PullRequest | None:
        self._git("rev-parse", "--git-dir", kind="pulls")
        found = [r for r in self._records() if r["head"] == branch and r.get("state") == "open"]
        return self._pull(found[-1]) if found else None

    def open_pull(self, branch: str, base: str, title: str, body: str,
                  labels: Iterable[str]) -> PullRequest:
        if self.head(base) is None:
            raise RepositoryEmpty(f"the local repository has no branch {base} to merge into")
        with self._locked():
            records = self._records()
            if any(r["head"] == branch and r.get("state") == "open" for r in records):
                raise PullExists(f"a pull request is open for {branch} already")
            number = max((int(r["number"]) for r in records), default=0) + 1
            self.calls.count("pull", True)
            return self._save({"number": number, "head": branch, "base": base, "title": title,
                               "body": body, "labels": list(labels), "state": "open",
                               "created_at": time.time()})

    def update_pull(self, number: int, *, title: str, body: str,
                    labels: Iterable[str]) -> PullRequest:
        with self._locked():
            record = next((r for r in self._records() if int(r["number"]) == number), None)
            if record is None:
                raise RepositoryNotFound(f"no pull request #{number} in {self.path}")
            self.calls.count("pull", True)
            record.update(title=title, body=body, labels=list(labels))
            return self._save(record)

    def file_url(self, branch: str, path: str) -> str:
        return f"{self.clone_url} (branch {branch}, folder {path or '/'})"
