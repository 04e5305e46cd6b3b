"""The local adapter against a real bare repository: the same scenarios as GitHub's, checked with
git itself (``git fsck``, ``git log``, a clone and a push of a person's own)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys

import pytest

from core.codehost.effect import deliver_once
from core.codehost.github import host_for
from core.codehost.local import LocalHost
from tests.codehost.designs import change, module


def git(*args: str, cwd=None) -> str:  # type: ignore[no-untyped-def]
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def fsck(bare: LocalHost) -> None:
    result = subprocess.run(["git", f"--git-dir={bare.path}", "fsck", "--strict", "--full"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "error" not in result.stderr, result.stderr


async def test_first_delivery_and_a_follow_up_read_as_the_conversation(bare, make_ctx, tmp_path):
    first = await deliver_once(await make_ctx("c1", "r1"), lambda: bare, change("c1", "r1", 1))
    second = await deliver_once(await make_ctx("c1", "r2"), lambda: bare, change("c1", "r2", 2))
    assert (first["action"], second["action"]) == ("opened", "updated")
    assert first["number"] == second["number"] == 1
    assert second["url"] == "http://archops.test/projects/shop/pulls/1"
    assert second["changes"] == {"added": ["cache.tf"], "changed": ["README.md"], "removed": []}
    fsck(bare)
    log = git(f"--git-dir={bare.path}", "log", "--format=%s", first["branch"]).splitlines()
    assert log == ["v2: add a Redis cache", "v1: A web shop with a VPC and a log bucket",
                   "Start the infrastructure repository"]
    full = git(f"--git-dir={bare.path}", "log", "-1", "--format=%B", first["branch"])
    assert "Archops-Conversation: c1" in full and "Archops-Version: 2" in full
    assert "Decided: workload=web, environment=dev, region=eu-west-1 (assumed)" in full
    # any git client clones it and finds the module at the project's path
    clone = tmp_path / "clone"
    git("clone", "--quiet", "--branch", first["branch"], str(bare.path), str(clone))
    assert {p.name: p.read_text() for p in (clone / "infra").iterdir()} == module(2)
    pull = bare.pull(1)
    assert pull is not None and pull.head == first["branch"] and pull.base == "main"
    assert "added cache.tf; changed README.md" in pull.body
    assert set(pull.labels) == {"archops", "terraform", "review: passed", "env: dev"}


async def test_a_version_whose_tree_equals_the_branch_head_makes_no_commit(bare, make_ctx):
    first = await deliver_once(await make_ctx("c2", "r1"), lambda: bare, change("c2", "r1", 1))
    same = await deliver_once(await make_ctx("c2", "r2"), lambda: bare, change("c2", "r2", 1))
    assert same["action"] == "unchanged" and same["commit"] == first["commit"]
    assert git(f"--git-dir={bare.path}", "rev-list", "--count", first["branch"]).strip() == "2"
    assert len(bare.pulls()) == 1
    fsck(bare)


@pytest.mark.parametrize("crash_at", ["before_pull", "after_pull"])
async def test_a_worker_killed_between_commit_and_pull_request_makes_none_twice(
        bare, make_ctx, redis_url, prefix, crash_at):
    await make_ctx("c3", "r1")
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.codehost.deliver_process", redis_url, prefix, "c3", "r1",
         "1", f"local:{bare.path}", crash_at], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr[-2000:]
    branch = change("c3", "r1", 1).branch
    assert bare.head(branch) is not None
    assert len(bare.pulls()) == (1 if crash_at == "after_pull" else 0)

    result = await deliver_once(await make_ctx("c3", "r1", attempt=2), lambda: bare,
                                change("c3", "r1", 1))
    assert result["action"] == "opened" and len(bare.pulls()) == 1
    assert git(f"--git-dir={bare.path}", "rev-list", "--count", branch).strip() == "2"
    assert git(f"--git-dir={bare.path}", "for-each-ref", "--format=%(refname)",
               "refs/heads/").split() == [f"refs/heads/{branch}", "refs/heads/main"]
    fsck(bare)


async def test_a_branch_someone_pushed_to_is_not_overwritten(bare, make_ctx, tmp_path):
    first = await deliver_once(await make_ctx("c4", "r1"), lambda: bare, change("c4", "r1", 1))
    clone = tmp_path / "work"
    git("clone", "--quiet", "--branch", first["branch"], str(bare.path), str(clone))
    (clone / "infra" / "fix.tf").write_text("# by hand\n")
    git("add", ".", cwd=clone)
    git("-c", "user.name=Bo", "-c", "user.email=bo@example.com", "commit", "-qm",
        "a fix by hand", cwd=clone)
    git("push", "--quiet", "origin", first["branch"], cwd=clone)
    theirs = git("rev-parse", "HEAD", cwd=clone).strip()

    result = await deliver_once(await make_ctx("c4", "r2"), lambda: bare, change("c4", "r2", 2))
    assert result["action"] == "failed" and result["code"] == "branch_diverged"
    assert "a fix by hand" in result["error"]
    assert bare.head(first["branch"]).sha == theirs  # type: ignore[union-attr]
    fsck(bare)


async def test_a_branch_moved_during_the_write_is_refused(bare, make_ctx):
    first = await deliver_once(await make_ctx("c5", "r1"), lambda: bare, change("c5", "r1", 1))
    head = bare.head(first["branch"])
    assert head is not None
    other = bare.write_commit(head, "infra", {"x.tf": "\n"}, [], "in between")
    from core.codehost.errors import BranchDiverged

    bare.move_branch(first["branch"], other.sha, head.sha)
    with pytest.raises(BranchDiverged, match="moved while archops"):
        bare.move_branch(first["branch"], head.sha, head.sha)  # git's compare-and-swap refuses


async def test_a_missing_local_repository_is_named(bare, make_ctx):
    shutil.rmtree(bare.path)
    result = await deliver_once(await make_ctx("c6", "r1"), lambda: bare, change("c6", "r1", 1))
    assert result["code"] == "repository_not_found" and str(bare.path) in result["error"]


async def test_both_adapters_write_the_same_module_and_answer_alike(bare, make_ctx, github):
    """The same two versions delivered to each: the same files (git blob ids) under the path,
    the same actions, the same pull request state."""
    github.add_repo("acme/infra")
    token = github.add_token()
    gh = lambda: host_for("acme/infra", token=token, api_url=github.url, write_interval_s=0)  # noqa: E731
    seen = []
    for make, cid in ((lambda: bare, "c7"), (gh, "c8")):
        actions = []
        for request, version in ((f"{cid}-r1", 1), (f"{cid}-r2", 2), (f"{cid}-r3", 2)):
            result = await deliver_once(await make_ctx(cid, request), make,
                                        change(cid, request, version))
            actions.append(result["action"])
        host = make()
        head = host.head(change(cid, "r1", 1).branch)
        assert head is not None
        pull = host.find_pull(change(cid, "r1", 1).branch)
        assert pull is not None
        seen.append((actions, host.files(head, "infra"), set(pull.labels), pull.base))
    assert seen[0] == seen[1]
    assert seen[0][0] == ["opened", "updated", "unchanged"]
