"""The real PyGithub adapter against the GitHub stand-in: deliveries, follow-ups, crashes, errors.

Each test delivers through the worker's own request context on the tests' redis-server, so
"once per request" is the bus's guarantee, not the test's.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from core.codehost.effect import deliver_once
from core.codehost.github import host_for
from core.codehost.naming import trailers
from tests.codehost.conftest import events_of
from tests.codehost.designs import change, module

REPO = "acme/infra"


def host(github, token, **kw):  # type: ignore[no-untyped-def]
    return host_for(REPO, token=token, api_url=github.url, write_interval_s=0, **kw)


@pytest.fixture
def repo(github):  # type: ignore[no-untyped-def]
    return github.add_repo(REPO)


@pytest.fixture
def token(github, repo):  # type: ignore[no-untyped-def]
    return github.add_token("archops-bot")


async def test_first_delivery_is_one_branch_one_commit_one_pull_request(github, token, make_ctx):
    ch = change("c1", "r1", 1)
    ctx = await make_ctx("c1", "r1")
    result = await deliver_once(ctx, lambda: host(github, token), ch)

    assert result["action"] == "opened" and result["number"] == 1
    assert result["branch"] == ch.branch and ch.branch.startswith("archops/shop/web-shop-vpc-")
    # the module at the project's path in one commit on the default branch's head
    log = github.branch_log(REPO, ch.branch)
    assert len(log) == 2 and log[0]["sha"] == result["commit"]
    files = github.files_at(REPO, ch.branch)
    assert {p: t for p, t in files.items() if p.startswith("infra/")} == {
        f"infra/{n}": t for n, t in module(1).items()}
    assert files["README.md"] == "# infra\n"  # the rest of the repository is untouched
    # through the Git Data API (a blob per file, one tree, one commit, one ref), never file by file
    assert github.count("POST", r"/git/blobs$") == 3
    assert github.count("POST", r"/git/trees$") == 1
    assert github.count("POST", r"/git/commits$") == 1
    assert github.count("POST", r"/git/refs$") == 1
    assert github.count("PUT", r"/contents/") == 0
    message = log[0]["message"]
    assert message.startswith("v1: A web shop with a VPC and a log bucket")
    assert "Decided: workload=web, environment=dev, region=eu-west-1 (assumed)" in message
    assert trailers(message) == {"Archops-Conversation": "c1", "Archops-Request": "r1",
                                 "Archops-Version": "1"}
    pr = github.repos[REPO].pulls[0]
    assert (pr["head"], pr["base"], pr["state"]) == (ch.branch, "main", "open")
    assert pr["title"] == "archops: A web shop with a VPC and a log bucket"
    assert set(pr["labels"]) == {"archops", "terraform", "review: passed", "env: dev"}
    assert "**Plan: 3 to add, 0 to change, 0 to destroy.**" in pr["body"]
    assert "[Slack thread](https://app.slack.com/client/T1/C1/thread/C1-1700000000.000100)" in pr["body"]
    assert "[Live stream of the work](http://archops.test/c/c1?cap=x)" in pr["body"]
    assert "[Architecture diagram](http://archops.test/c/c1/diagram?cap=x)" in pr["body"]
    # a redelivery of the same request repeats nothing
    before = len(github.calls)
    again = await deliver_once(await make_ctx("c1", "r1", attempt=2), lambda: host(github, token), ch)
    assert again == result and len(github.calls) == before


async def test_a_follow_up_is_a_new_commit_on_the_same_branch_and_updates_the_body(
        github, token, make_ctx):
    first = await deliver_once(await make_ctx("c2", "r1"), lambda: host(github, token),
                               change("c2", "r1", 1))
    second = await deliver_once(await make_ctx("c2", "r2"), lambda: host(github, token),
                                change("c2", "r2", 2))
    assert second["action"] == "updated" and second["number"] == first["number"]
    assert second["branch"] == first["branch"] and second["previous"] == first["commit"]
    assert second["changes"] == {"added": ["cache.tf"], "changed": ["README.md"], "removed": []}
    log = github.branch_log(REPO, first["branch"])
    assert [c["sha"] for c in log[:2]] == [second["commit"], first["commit"]]
    assert log[0]["message"].startswith("v2: add a Redis cache")
    assert len(github.repos[REPO].pulls) == 1
    body = github.repos[REPO].pulls[0]["body"]
    assert "Version 2 (commit" in body and "added cache.tf; changed README.md" in body
    assert "+$12.50/month since version 1 ($20.00)" in body
    assert github.count("PATCH", r"/pulls/1$") == 1
    # only what changed was written: the cache and the README
    assert github.count("POST", r"/git/blobs$") == 3 + 2


async def test_a_version_whose_tree_equals_the_branch_head_makes_no_commit(github, token, make_ctx):
    first = await deliver_once(await make_ctx("c3", "r1"), lambda: host(github, token),
                               change("c3", "r1", 1))
    writes = [c for c in github.calls if c[0] != "GET"]
    same = await deliver_once(await make_ctx("c3", "r2"), lambda: host(github, token),
                              change("c3", "r2", 1))
    assert same["action"] == "unchanged" and same["commit"] == first["commit"]
    # no blob, tree, commit or ref, and the pull request is left as it is
    assert [c for c in github.calls if c[0] != "GET"] == writes
    assert len(github.branch_log(REPO, first["branch"])) == 2


@pytest.mark.parametrize("crash_at", ["before_pull", "after_pull"])
async def test_a_worker_killed_between_commit_and_pull_request_makes_none_twice(
        github, token, make_ctx, redis_url, prefix, crash_at):
    await make_ctx("c4", "r1")  # the lease the dead worker and its successor hold
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.codehost.deliver_process", redis_url, prefix, "c4", "r1",
         "1", f"github:{github.url}:{token}:{REPO}", crash_at],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert github.count("POST", r"/git/commits$") == 1
    assert len(github.repos[REPO].pulls) == (1 if crash_at == "after_pull" else 0)

    result = await deliver_once(await make_ctx("c4", "r1", attempt=2), lambda: host(github, token),
                                change("c4", "r1", 1))
    assert result["action"] == "opened"
    assert github.count("POST", r"/git/commits$") == 1  # the dead worker's commit is the one
    assert github.count("POST", r"/git/refs$") == 1
    assert len(github.repos[REPO].pulls) == 1
    assert len(github.branch_log(REPO, result["branch"])) == 2
    assert github.count("POST", r"/pulls$") == 1


async def failed(github, make_ctx, conversation, token, **kw):  # type: ignore[no-untyped-def]
    result = await deliver_once(await make_ctx(conversation, "r1"), lambda: host(github, token),
                                change(conversation, "r1", 1), **kw)
    assert result["action"] == "failed", result
    return result


async def test_an_expired_or_revoked_token_is_reported(github, token, make_ctx):
    github.revoke(token)
    result = await failed(github, make_ctx, "c5", token)
    assert result["code"] == "credentials_rejected" and "401" in result["error"]
    assert "expired or was revoked" in result["error"] and "link your GitHub account" in result["hint"]


async def test_a_token_without_push_access_is_told_what_it_lacks(github, make_ctx):
    github.add_repo(REPO)
    reader = github.add_token("reader", permission="pull")
    result = await failed(github, make_ctx, "c6", reader)
    assert result["code"] == "permission_missing" and "403" in result["error"]
    assert "Contents and Pull requests write" in result["hint"]
    assert github.repos[REPO].refs.keys() == {"refs/heads/main"}


async def test_a_missing_repository_is_named(github, make_ctx):
    blind = github.add_token("elsewhere")
    result = await failed(github, make_ctx, "c7", blind)
    assert result["code"] == "repository_not_found"
    assert "acme/infra" in result["error"] and "404" in result["error"]


async def test_an_empty_repository_says_to_push_a_first_commit(github, make_ctx):
    github.add_repo(REPO, empty=True)
    result = await failed(github, make_ctx, "c8", github.add_token())
    assert result["code"] == "repository_empty" and "push a first commit" in result["hint"]


async def test_a_protected_branch_is_reported_with_what_to_change(github, repo, token, make_ctx):
    repo.protected.append("archops/*")
    result = await failed(github, make_ctx, "c9", token)
    assert result["code"] == "branch_protected" and "archops/*" in result["hint"]
    assert "Repository rule violations" in result["error"]


async def test_a_branch_someone_pushed_to_is_not_overwritten(github, repo, token, make_ctx):
    first = await deliver_once(await make_ctx("c10", "r1"), lambda: host(github, token),
                               change("c10", "r1", 1))
    # a reviewer pushes a commit of their own onto archops' branch
    gh = host(github, token)
    head = gh.head(first["branch"])
    theirs = gh.write_commit(head, "infra", {"fix.tf": "# by hand\n"}, [], "a fix by hand")
    gh.move_branch(first["branch"], theirs.sha, head.sha)
    result = await deliver_once(await make_ctx("c10", "r2"), lambda: host(github, token),
                                change("c10", "r2", 2))
    assert result["action"] == "failed" and result["code"] == "branch_diverged"
    assert "did not write" in result["error"] and "a fix by hand" in result["error"]
    assert github.branch_log(REPO, first["branch"])[0]["sha"] == theirs.sha


async def test_a_branch_moved_during_the_write_is_refused_not_forced(github, token, make_ctx):
    await deliver_once(await make_ctx("c11", "r1"), lambda: host(github, token), change("c11", "r1", 1))
    # someone pushes between archops' read of the head and its ref update: GitHub says 422
    github.fail("PATCH", r"/git/refs/heads/archops/", 422, "Update is not a fast forward")
    moved = await deliver_once(await make_ctx("c11", "r2"), lambda: host(github, token),
                               change("c11", "r2", 2))
    assert moved["code"] == "branch_diverged" and "moved while archops" in moved["error"]
    assert github.count("PATCH", r"/git/refs/heads/archops/", status=422) == 1


@pytest.mark.parametrize("kind,retry_after", [("primary", None), ("secondary", 1)])
async def test_a_rate_limit_is_waited_out_until_the_reset_and_said(
        github, token, make_ctx, kind, retry_after):
    github.rate_limit("POST", r"/pulls$", kind, reset_in=1.5, retry_after=retry_after)
    ctx = await make_ctx("c12", "r1")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(min(seconds, 3))

    result = await deliver_once(ctx, lambda: host(github, token), change("c12", "r1", 1),
                                sleep=sleep)
    assert result["action"] == "opened" and len(github.repos[REPO].pulls) == 1
    assert len(waits) == 1 and 0.5 <= waits[0] <= 3.5
    said = [e for e in await events_of(make_ctx.events, "c12") if e["type"] == "status"]
    assert len(said) == 1 and said[0]["rate_limit"] == kind
    assert f"GitHub's {kind} rate limit" in said[0]["text"] and "waits" in said[0]["text"]
    assert ("retry-after" in said[0]["text"]) == (kind == "secondary")
    assert github.count("POST", r"/git/commits$") == 1  # the wait repeated no write


async def test_a_rate_limit_beyond_the_longest_wait_fails_saying_when_to_ask_again(
        github, token, make_ctx):
    github.rate_limit("GET", r"/git/ref/", "primary", reset_in=3000)
    result = await failed(github, make_ctx, "c13", token, max_wait_s=60)
    assert result["code"] == "rate_limited" and "ask again after" in result["hint"]
    assert "primary rate limit" in result["error"]


async def test_a_github_app_installation_delivers_with_its_own_token(github, repo, make_ctx):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    github.apps[42] = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    from tests.codehost.github_standin import Token

    github.installations[7] = (42, Token("archops[bot]"))
    result = await deliver_once(
        await make_ctx("c14", "r1"),
        lambda: host_for(REPO, app=(42, pem, 7), api_url=github.url, write_interval_s=0),
        change("c14", "r1", 1))
    assert result["action"] == "opened"
    assert github.count("POST", r"/app/installations/7/access_tokens$") == 1
    assert github.repos[REPO].pulls[0]["user"] == "archops[bot]"
