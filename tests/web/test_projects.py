"""Projects from the web app: signed-in people only, each wrong field refused with its reason,
the repository checked through the code-host port (the GitHub stand-in), changes by the
project's creator and approvers only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession

from core.codehost.effect import deliver_once
from core.codehost.hosts import Hosts
from core.projects import Projects
from core.settings import Settings
from core.store import Store
from tests.codehost.conftest import make_ctx  # noqa: F401 - the worker's request contexts
from tests.codehost.designs import change
from tests.codehost.github_standin import GitHubStandIn
from tests.web.test_access import sign_in
from web.auth import SECURITY_HEADERS


@pytest.fixture
def github():  # type: ignore[no-untyped-def]
    standin = GitHubStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
async def projects(tmp_path, github) -> AsyncIterator[Projects]:
    github.add_repo("acme/infra")
    token = github.add_token("archops-bot")
    settings = Settings(data_dir=tmp_path / "data", github_api_url=github.url,
                        github_token=token, github_write_interval_s=0)
    store = await Store.open(f"sqlite:///{tmp_path / 'data' / 'archops.sqlite3'}")
    yield Projects(store, Hosts(settings, store))
    await store.close()


@pytest.fixture
async def server(make_server, projects):  # type: ignore[no-untyped-def]
    return await make_server("web-p", projects=projects)


async def call(server, method, path, headers=None, body=None):  # type: ignore[no-untyped-def]
    async with ClientSession() as session, session.request(
        method, str(server.make_url(path)), json=body, headers=headers or {}
    ) as response:
        data = await response.json() if response.content_type == "application/json" \
            else await response.text()
        return response.status, data


VALID = {"id": "shop", "name": "Shop", "aws_account_id": "123456789012",
         "aws_role_arn": "arn:aws:iam::123456789012:role/archops",
         "aws_regions": ["eu-west-1", "us-east-1"], "repository": "acme/infra",
         "path": "terraform/shop", "tag_key": "Project", "tag_value": "shop",
         "approvers": ["U0BOB0001"], "slack_channel": "C0SHOP001"}


async def test_only_signed_in_people_reach_projects(server, signer):
    assert (await call(server, "GET", "/api/projects"))[0] == 401
    assert (await call(server, "POST", "/api/projects", body=VALID))[0] == 401
    link = signer.issue("conversation", "c1", actions={"read"}, ttl_s=60)
    status, data = await call(server, "GET", f"/api/projects?cap={link}")
    assert status == 403 and "its conversation only" in data["error"]["message"]


@pytest.mark.parametrize("field,value,reason", [
    ("aws_account_id", "12345", "an account id is 12 digits"),
    ("aws_role_arn", "arn:aws:iam::999999999999:role/x", "role ARN is in account 999999999999, not in 123456789012"),
    ("aws_role_arn", "arn:aws:s3:::bucket", "is not an IAM role ARN"),
    ("aws_regions", ["eu-west-1", "eu-west-9"], "'eu-west-9' (did you mean eu-west-"),
    ("aws_regions", ["cn-north-1"], "not in the role's partition aws"),
    ("repository", "just-a-name", "is not owner/name"),
    ("repository", "acme/missing", "GitHub has no repository acme/missing, or ARCHOPS_GITHUB_TOKEN cannot see it"),
    ("path", "../etc", "is not a folder inside the repository"),
    ("tag_key", "aws:owner", "reserved by AWS"),
    ("approvers", ["bob"], "not Slack user ids"),
    ("slack_channel", "not a channel!", "is not a channel id or name"),
    ("id", "no spaces allowed", "is not valid"),
])
async def test_each_wrong_field_is_refused_with_its_reason_and_nothing_is_saved(
        server, access_store, field, value, reason):
    session = await sign_in(server, access_store, "web:alice")
    status, data = await call(server, "POST", "/api/projects", session, {**VALID, field: value})
    assert status == 400, data
    assert data["error"]["code"] == "invalid_project"
    assert list(data["error"]["fields"]) == [field]
    assert reason in data["error"]["fields"][field]
    assert (await call(server, "GET", "/api/projects", session))[1] == {"projects": []}


async def test_every_wrong_field_is_named_at_once(server, access_store):
    session = await sign_in(server, access_store, "web:alice")
    status, data = await call(server, "POST", "/api/projects", session, {
        "id": "p", "aws_account_id": "1", "aws_regions": ["mars-1"], "repository": "x",
        "tag_key": "", "colour": "blue"})
    assert status == 400
    assert list(data["error"]["fields"]) == ["aws_account_id", "aws_regions", "repository",
                                             "tag_key", "colour"]


async def test_a_repository_without_push_access_is_refused(server, access_store, projects, github):
    from pydantic import SecretStr

    reader = github.add_token("reader", permission="pull")
    projects.hosts.settings.github_token = SecretStr(reader)
    session = await sign_in(server, access_store, "web:alice")
    status, data = await call(server, "POST", "/api/projects", session, VALID)
    assert status == 400
    assert "can read acme/infra but may not push to it" in data["error"]["fields"]["repository"]


async def test_a_project_is_created_shown_and_changed_by_its_creator_and_approvers(
        server, access_store, github):
    alice = await sign_in(server, access_store, "web:alice")
    status, created = await call(server, "POST", "/api/projects", alice, VALID)
    assert status == 201, created
    assert created["repository"] == "acme/infra" and created["path"] == "terraform/shop"
    assert created["tag_key"] == "Project" and created["created_by"] == "web:alice"
    assert github.count("GET", r"^/repos/acme/infra$", status=200) == 1  # it answered
    status, shown = await call(server, "GET", "/api/projects/shop", alice)
    assert status == 200 and shown["may_change"] is True and shown["pull_requests"] == []

    mallory = await sign_in(server, access_store, "web:mallory")
    status, data = await call(server, "PATCH", "/api/projects/shop", mallory, {"name": "Mine"})
    assert status == 403 and "creator and approvers" in data["error"]["message"]
    bob = await sign_in(server, access_store, "slack:T0TEAM:U0BOB0001")  # an approver
    status, changed = await call(server, "PATCH", "/api/projects/shop", bob,
                                 {"aws_regions": "eu-central-1", "tag_value": "shop-eu"})
    assert status == 200, changed
    assert changed["aws_regions"] == ["eu-central-1"] and changed["tag_value"] == "shop-eu"
    assert changed["name"] == "Shop"  # what was not given stays
    status, data = await call(server, "PATCH", "/api/projects/shop", bob,
                              {"aws_account_id": "210987654321"})
    assert status == 400  # the project's role belongs to the first account
    assert data["error"]["fields"] == {"aws_account_id": "the project's role is in account "
                                       "123456789012, not in 210987654321; change its role ARN too"}


async def test_the_page_is_served_under_the_policy(server, access_store):
    alice = await sign_in(server, access_store, "web:alice")
    for path in ("/projects", "/projects/shop", "/settings/github"):
        async with ClientSession() as session, session.get(
            str(server.make_url(path)), headers={**alice, "Accept": "text/html"}
        ) as response:
            text = await response.text()
            assert response.status == 200
            assert response.headers["Content-Security-Policy"] == SECURITY_HEADERS[
                "Content-Security-Policy"]
            assert '<script type="module" src="/static/' in text and "<script>" not in text


async def test_a_local_projects_pull_request_is_shown_to_signed_in_people(
        server, access_store, projects, make_ctx):  # noqa: F811
    alice = await sign_in(server, access_store, "web:alice")
    status, created = await call(server, "POST", "/api/projects", alice,
                                 {"id": "home", "name": "<Home>"})
    assert status == 201 and created["code_host"] == "local"
    host = projects.hosts.local("home")
    result = await deliver_once(await make_ctx("c1", "r1"), lambda: host,
                                change("c1", "r1", 1, project="home"))
    assert result["url"].endswith("/projects/home/pulls/1")
    status, text = await call(server, "GET", "/projects/home/pulls/1", alice)
    assert status == 200 and "## What was asked" in text and "<Home>" not in text
    assert f"git clone --branch {result['branch']}" in text
    assert (await call(server, "GET", "/projects/home/pulls/1"))[0] == 401
    assert (await call(server, "GET", "/projects/home/pulls/9", alice))[0] == 404
