"""The workflow delivers its designs: a conversation becomes a branch whose commits are its
versions, through the real graph, the worker's request context and the store."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.delivery import Deliverer
from agents.handler import AgentHandler
from core.bus.context import DeliveryContext
from core.capability import Signer
from core.codehost.hosts import Hosts
from core.envelope import Envelope
from core.settings import Settings
from core.store import Store
from tests.codehost.conftest import LEASE_TOKEN
from tests.codehost.github_standin import GitHubStandIn


@pytest.fixture
async def parts(tmp_path, redis, keys) -> AsyncIterator[tuple[AgentHandler, Store, Settings]]:
    settings = Settings(data_dir=tmp_path / "data", public_url="http://archops.test",
                        github_write_interval_s=0)
    store = await Store.open(f"sqlite:///{tmp_path / 'data' / 'archops.sqlite3'}")
    delivery = Deliverer(store, Hosts(settings, store), Signer([b"k" * 32]))
    handler = AgentHandler(InMemorySaver(), settings, review_checks={"parse"}, delivery=delivery)
    yield handler, store, settings
    await store.close()


async def ask(handler, store, redis, keys, env: Envelope):  # type: ignore[no-untyped-def]
    """One request as the worker runs it (recorded first, as RecordingHandler does)."""
    from core.bus import EventLog, scripts
    from core.bus.autopipe import autopipe

    await store.record_request(env)
    await redis.set(keys.lease(0), LEASE_TOKEN, px=600_000)
    events = EventLog(redis, keys)
    ctx = DeliveryContext(env, 1, redis=redis, keys=keys, events=events,
                          lease=(keys.lease(0), LEASE_TOKEN),
                          record=autopipe(redis).script(scripts.RECORD))
    await handler(ctx)
    return [{"type": e.type, "text": e.text, **e.data}
            for e in await events.read(env.conversation_id)
            if e.request_id == env.request_id and e.type in ("artifact", "done")]


async def git(repo, *args: str) -> str:  # type: ignore[no-untyped-def]
    done = await asyncio.to_thread(subprocess.run, ["git", f"--git-dir={repo}", *args],
                                   capture_output=True, text=True, check=True)
    return done.stdout


def web(conversation: str, text: str) -> Envelope:
    return Envelope(conversation_id=conversation, source="web", user="local", text=text,
                    non_interactive=True)


async def test_a_conversation_becomes_a_branch_of_the_default_projects_repository(
        parts, redis, keys):
    handler, store, settings = parts
    seen = await ask(handler, store, redis, keys,
                     web("conv-a", "a static website for docs.acme.io"))
    pull = next(e for e in seen if e.get("kind") == "pull_request")
    assert pull["action"] == "opened" and pull["host"] == "local" and pull["project"] == "default"
    assert pull["url"] == "http://archops.test/projects/default/pulls/1"
    done = seen[-1]
    assert done["type"] == "done" and done["pull_request_url"] == pull["url"]
    assert "Opened pull request #1: http://archops.test/projects/default/pulls/1" in done["text"]
    record = await store.get_pull_request("conv-a")
    assert record is not None and (record.branch, record.number, record.design_version) == (
        pull["branch"], 1, 1)
    assert (await store.get_conversation("conv-a")).project_id == "default"
    repo = settings.data_dir / "repos" / "default.git"
    files = (await git(repo, "ls-tree", "-r", "--name-only", pull["branch"], "infra/")).split()
    assert "infra/versions.tf" in files and "infra/README.md" in files
    body = await git(repo, "log", "-1", "--format=%B", pull["branch"])
    assert body.startswith("v1: a static website for docs.acme.io")

    # a follow-up that changes nothing makes no commit; one that does is the next commit
    seen = await ask(handler, store, redis, keys, web("conv-a", "add a WAF in front of it"))
    same = next(e for e in seen if e.get("kind") == "pull_request")
    assert same["action"] == "unchanged" and same["commit"] == pull["commit"]
    assert "No change for pull request #1" in seen[-1]["text"]
    seen = await ask(handler, store, redis, keys,
                     web("conv-a", "also add a contact form API backed by a DynamoDB table"))
    second = next(e for e in seen if e.get("kind") == "pull_request")
    assert second["action"] == "updated" and second["branch"] == pull["branch"]
    assert second["number"] == 1 and second["previous"] == pull["commit"]
    assert "dynamodb.tf" in second["changes"]["added"]
    log = (await git(repo, "log", "--format=%s", pull["branch"])).splitlines()
    # commits carry the design's version (the web's version picker counts the same): version 2
    # changed nothing, so the branch goes from version 1 to version 3
    assert log[:2] == ["v3: also add a contact form API backed by a DynamoDB table",
                       "v1: a static website for docs.acme.io"]

    # "what changed since the last version?" is answered from the branch
    seen = await ask(handler, store, redis, keys,
                     web("conv-a", "what changed since the last version?"))
    answer = seen[-1]["text"]
    assert answer.startswith(f"From the branch {pull['branch']} (pull request #1")
    assert "v1: a static website for docs.acme.io" in answer.splitlines()[2]
    assert "dynamodb.tf" in answer.splitlines()[1]


async def test_a_channel_bound_project_delivers_to_its_github_repository(parts, redis, keys):
    handler, store, settings = parts
    github = GitHubStandIn().start()
    try:
        github.add_repo("acme/shop")
        from pydantic import SecretStr

        settings.github_api_url = github.url
        settings.github_token = SecretStr(github.add_token())
        await store.upsert_project("shop", slack_channel="C0SHOP001", github_repo="acme/shop",
                                   repo_path="terraform")
        env = Envelope(conversation_id="slack:T1:C0SHOP001:1700000000.000100", source="slack",
                       user="U0ALICE", text="a static website for shop.acme.io",
                       non_interactive=True,
                       reply_to={"channel": "C0SHOP001", "team": "T1",
                                 "thread_ts": "1700000000.000100"})
        seen = await ask(handler, store, redis, keys, env)
        pull = next(e for e in seen if e.get("kind") == "pull_request")
        assert pull["action"] == "opened" and pull["project"] == "shop", pull
        assert pull["branch"].startswith("archops/shop/static-website-shop-acme-io-")
        pr = github.repos["acme/shop"].pulls[0]
        assert "https://app.slack.com/client/T1/C0SHOP001/thread/C0SHOP001-1700000000.000100" in pr["body"]
        assert "http://archops.test/c/slack%3AT1%3AC0SHOP001%3A1700000000.000100?cap=" in pr["body"]
        assert any(p.startswith("terraform/") for p in github.files_at("acme/shop", pull["branch"]))
        assert "Designed by archops' offline engine" in pr["body"]
    finally:
        github.stop()
