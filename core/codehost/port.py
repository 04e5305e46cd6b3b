"""The code-host port: what delivering a design needs from a repository, and nothing more.

Two adapters implement it and behave alike: :class:`core.codehost.github.GitHubHost` (PyGithub,
the Git Data API) and :class:`core.codehost.local.LocalHost` (a bare git repository in the data
folder). Both are synchronous (PyGithub and git are); the delivery runs them off the event loop.
The delivery itself (:mod:`core.codehost.delivery`) is written once against this port, so what
"unchanged", "diverged" or "crash between commit and pull request" mean is the same on both.

Files are compared by their git blob ids (:func:`blob_sha`), which both hosts compute the same
way, so "the tree equals the branch head" is decided before anything is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

FILE_MODE = "100644"


def blob_sha(text: str) -> str:
    """The git blob id of a file's text (``git hash-object``)."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    message: str
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Repository:
    name: str  # owner/name on GitHub; the project's id for a local repository
    default_branch: str
    web_url: str
    clone_url: str
    can_push: bool


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    head: str  # the branch
    base: str
    title: str
    body: str
    labels: tuple[str, ...] = ()
    state: str = "open"


@dataclass(frozen=True)
class Delta:
    """What a commit changes under the module's path (file names relative to it)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @classmethod
    def between(cls, old: Mapping[str, str], new: Mapping[str, str]) -> Delta:
        """From two {name: blob id} maps."""
        return cls(
            added=tuple(sorted(set(new) - set(old))),
            changed=tuple(sorted(n for n in set(new) & set(old) if new[n] != old[n])),
            removed=tuple(sorted(set(old) - set(new))),
        )

    def describe(self) -> str:
        parts = []
        for label, names in (("added", self.added), ("changed", self.changed),
                             ("removed", self.removed)):
            if names:
                parts.append(f"{label} {', '.join(names)}")
        return "; ".join(parts) or "no file changed"


@dataclass
class Calls:
    """How many requests (or git commands) an adapter made: what the bench reports."""

    reads: int = 0
    writes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, write: bool) -> None:
        if write:
            self.writes += 1
        else:
            self.reads += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    @property
    def total(self) -> int:
        return self.reads + self.writes


class CodeHost(Protocol):
    kind: str  # "github" | "local"
    calls: Calls

    def repository(self) -> Repository:
        """The repository's default branch and whether these credentials may push to it."""

    def head(self, branch: str) -> Commit | None:
        """The commit a branch points at; None when the branch does not exist."""

    def get_commit(self, sha: str) -> Commit: ...

    def files(self, commit: Commit, path: str) -> dict[str, str]:
        """Every file under ``path`` in ``commit``: name relative to ``path`` -> blob id."""

    def write_commit(self, parent: Commit, path: str, files: Mapping[str, str],
                     removed: Iterable[str], message: str) -> Commit:
        """One commit on ``parent``: ``files`` (name -> text) written under ``path`` and
        ``removed`` deleted, everything else of the parent's tree kept. Writes no ref."""

    def create_branch(self, branch: str, sha: str) -> None:
        """Create the branch at ``sha``; :class:`RefExists` when it exists already."""

    def move_branch(self, branch: str, sha: str, expected: str) -> None:
        """Fast-forward the branch from ``expected`` to ``sha``; :class:`BranchDiverged` when it
        no longer points at ``expected`` or the move is not a fast-forward."""

    def find_pull(self, branch: str) -> PullRequest | None:
        """The open pull request whose head is ``branch``."""

    def open_pull(self, branch: str, base: str, title: str, body: str,
                  labels: Iterable[str]) -> PullRequest:
        """Open a pull request; :class:`PullExists` when one is open for the branch already."""

    def update_pull(self, number: int, *, title: str, body: str,
                    labels: Iterable[str]) -> PullRequest: ...

    def file_url(self, branch: str, path: str) -> str:
        """Where a person reads ``path`` of ``branch`` (a web page, or the clone address)."""
