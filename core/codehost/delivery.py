"""Delivering a design: one branch per conversation, one commit per version, one pull request.

:func:`deliver` is written once against the port, so both adapters behave alike. It reads the
host before it writes anything, which makes it safe to run again after any interruption:

1. The branch's head: none -> branch from the default branch's head; a commit archops wrote for
   this conversation -> build on it; anything else -> :class:`BranchDiverged` (a person pushed
   to the branch: archops does not overwrite their work).
2. The module's files are compared with the parent's by git blob id: nothing differs -> no
   commit (a commit whose tree equals the branch head is skipped).
3. Otherwise one commit (blobs, tree, commit), then the ref: created (RefExists: an earlier try
   created it; start over) or fast-forwarded from the head read in 1 (BranchDiverged if moved).
4. The open pull request of the branch is looked up and its body updated (unless nothing was
   committed: then nothing at all is written), or one is opened.

:func:`reconcile` answers "did an interrupted earlier try already finish?" from the host alone:
the branch head carries this request's trailer and an open pull request has it as head.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.codehost.errors import BranchDiverged, PullExists, RefExists, RepositoryEmpty
from core.codehost.naming import (
    TRAILER_CONVERSATION,
    TRAILER_REQUEST,
    trailers,
    with_trailers,
)
from core.codehost.port import CodeHost, Commit, Delta, blob_sha


@dataclass
class Change:
    """One version of a conversation's design, ready to deliver."""

    conversation_id: str
    request_id: str
    version: int
    branch: str
    path: str
    files: dict[str, str]
    message: str  # what was asked and decided; the trailers are added here
    title: str
    labels: list[str]
    # the pull request's body, from what this version changes, the commit that holds it and the
    # previous version's commit (None for the first)
    body: Callable[[Delta, str, str | None], str]
    base: str | None = None  # the default branch when None


@dataclass
class Delivered:
    action: str  # opened | updated | unchanged
    branch: str
    commit: str
    number: int
    url: str
    base: str
    delta: Delta = field(default_factory=Delta)
    previous: str | None = None  # the commit of the previous version, if any

    def data(self) -> dict[str, Any]:
        """The ``artifact`` event's data (``kind: pull_request``)."""
        return {"kind": "pull_request", "url": self.url, "number": self.number,
                "branch": self.branch, "commit": self.commit, "action": self.action,
                "base": self.base, "previous": self.previous,
                "changes": {"added": list(self.delta.added), "changed": list(self.delta.changed),
                            "removed": list(self.delta.removed)}}


def _ours(commit: Commit, change: Change) -> bool:
    return trailers(commit.message).get(TRAILER_CONVERSATION) == change.conversation_id


def deliver(host: CodeHost, change: Change, *, _again: bool = True) -> Delivered:
    head = host.head(change.branch)
    if head is not None and not _ours(head, change):
        raise BranchDiverged(
            f"the branch {change.branch} has a commit archops did not write ({head.sha[:12]}: "
            f"{head.message.splitlines()[0][:80] if head.message else ''}); archops does not "
            "overwrite it", hint="merge or revert that commit on the branch (or delete the "
                                 "branch), then ask again")
    base = change.base
    parent = head
    if parent is None:
        base = base or host.repository().default_branch
        parent = host.head(base)
        if parent is None:
            raise RepositoryEmpty(f"the repository has no branch {base} to start from",
                                  hint="push a first commit to its default branch, then ask again")
    old = host.files(parent, change.path)
    new = {name: blob_sha(text) for name, text in change.files.items()}
    delta = Delta.between(old, new)
    mine = head is not None and trailers(head.message).get(TRAILER_REQUEST) == change.request_id
    previous: str | None = None
    if head is not None:
        previous = head.parents[0] if mine and head.parents else head.sha
    if head is not None and not delta:
        commit, moved = head, mine  # unchanged (or this request's own commit, after a crash)
        if mine and head.parents:
            delta = Delta.between(host.files(host.get_commit(head.parents[0]), change.path), new)
    else:
        message = with_trailers(change.message, change.conversation_id, change.request_id,
                                change.version)
        written = {n: change.files[n] for n in (*delta.added, *delta.changed)}
        commit = host.write_commit(parent, change.path, written, delta.removed, message)
        if head is None:
            try:
                host.create_branch(change.branch, commit.sha)
            except RefExists:
                if not _again:
                    raise
                return deliver(host, change, _again=False)  # an earlier try made it: start over
        else:
            host.move_branch(change.branch, commit.sha, head.sha)
        moved = True
    body = change.body(delta, commit.sha, previous)
    pr = host.find_pull(change.branch) if head is not None else None
    if pr is None:
        try:
            base = base or host.repository().default_branch
            pr = host.open_pull(change.branch, base, change.title, body, change.labels)
            action = "opened"
        except PullExists:
            found = host.find_pull(change.branch)
            if found is None:
                raise
            pr = host.update_pull(found.number, title=change.title, body=body,
                                  labels=change.labels)
            action = "updated" if moved else "unchanged"
    elif moved:
        if (pr.title, pr.body, set(pr.labels)) != (change.title, body, set(change.labels)):
            pr = host.update_pull(pr.number, title=change.title, body=body, labels=change.labels)
        action = "updated"
    else:
        action = "unchanged"  # the same design: nothing is written, the body stays
    return Delivered(action, change.branch, commit.sha, pr.number, pr.url, pr.base, delta,
                     previous)


def reconcile(host: CodeHost, change: Change) -> Delivered | None:
    """What an interrupted earlier try of this request finished, read from the host; None when
    it did not finish (then :func:`deliver` runs and completes what is missing)."""
    head = host.head(change.branch)
    if head is None or trailers(head.message).get(TRAILER_REQUEST) != change.request_id:
        return None
    pr = host.find_pull(change.branch)
    if pr is None:
        return None
    parent = host.get_commit(head.parents[0]) if head.parents else None
    delta = Delta()
    if parent is not None:
        delta = Delta.between(host.files(parent, change.path), host.files(head, change.path))
    earlier = parent is not None and _ours(parent, change)
    return Delivered("updated" if earlier else "opened", change.branch, head.sha, pr.number,
                     pr.url, pr.base, delta, parent.sha if parent else None)


def history(host: CodeHost, branch: str, conversation_id: str, path: str,
            limit: int = 10) -> list[tuple[Commit, Delta]]:
    """The design's versions on its branch, newest first, each with what it changed: the answer
    to "what changed since the last version?" (first parents, archops' commits only)."""
    out: list[tuple[Commit, Delta]] = []
    commit = host.head(branch)
    while commit is not None and len(out) < limit:
        if trailers(commit.message).get(TRAILER_CONVERSATION) != conversation_id:
            break
        parent = host.get_commit(commit.parents[0]) if commit.parents else None
        files = host.files(commit, path)
        out.append((commit, Delta.between(host.files(parent, path) if parent else {}, files)))
        commit = parent
    return out
