"""`archops project create|set|show`: what a person types, what they read back, what is stored."""

from __future__ import annotations

import json
import subprocess

import pytest

from cli.main import main
from tests.codehost.github_standin import GitHubStandIn

ROLE = "arn:aws:iam::123456789012:role/archops"


@pytest.fixture
def github():  # type: ignore[no-untyped-def]
    standin = GitHubStandIn().start()
    standin.add_repo("acme/infra")
    yield standin
    standin.stop()


@pytest.fixture
def env(tmp_path, monkeypatch, github):  # type: ignore[no-untyped-def]
    for name in ("ARCHOPS_DATABASE_URL", "ARCHOPS_GITHUB_REPO", "ARCHOPS_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARCHOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARCHOPS_GITHUB_API_URL", github.url)
    monkeypatch.setenv("ARCHOPS_GITHUB_TOKEN", github.add_token())
    return tmp_path / "data"


def archops(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(["project", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("flags,flag,reason", [
    (["--account", "12345"], "--account", "an account id is 12 digits"),
    (["--account", "123456789012", "--role-arn", "arn:aws:iam::999999999999:role/x"],
     "--role-arn", "role ARN is in account 999999999999, not in 123456789012"),
    (["--role-arn", "not-an-arn"], "--role-arn", "is not an IAM role ARN"),
    (["--regions", "us-east-1,us-middle-1"], "--regions", "'us-middle-1'"),
    (["--repository", "acme"], "--repository", "is not owner/name"),
    (["--repository", "acme/absent"], "--repository", "GitHub has no repository acme/absent"),
    (["--path", "/etc"], "--path", "is not a folder inside the repository"),
    (["--tag-value", "shop"], "--tag-key", "a tag value needs its tag key"),
    (["--approvers", "alice"], "--approvers", "not Slack user ids"),
])
def test_each_wrong_field_is_refused_with_its_reason(env, capsys, flags, flag, reason):
    code, out, err = archops(capsys, "create", "shop", *flags)
    assert code == 65 and out == ""
    assert err.splitlines()[0] == "archops: project 'shop' was not saved:"
    assert [line.split(":")[0].strip() for line in err.splitlines()[1:]] == [flag]
    assert reason in err
    code, out, _ = archops(capsys, "show", "--json")
    assert json.loads(out) == []


def test_a_project_is_created_changed_and_shown(env, capsys, github):
    code, out, err = archops(capsys, "create", "shop", "--name", "Shop", "--account",
                             "123456789012", "--role-arn", ROLE, "--regions",
                             "eu-west-1,us-east-1", "--repository", "acme/infra", "--tag-key",
                             "Project", "--tag-value", "shop", "--approvers", "U0BOB0001",
                             "--channel", "C0SHOP001")
    assert code == 0, err
    assert "project shop created" in out and "acme/infra, folder infra" in out
    assert github.count("GET", r"^/repos/acme/infra$", status=200) == 1
    code, out, err = archops(capsys, "set", "shop", "--regions", "eu-central-1", "--path",
                             "terraform/shop")
    assert code == 0, err
    code, out, _ = archops(capsys, "show", "shop", "--json")
    shown = json.loads(out)
    assert (shown["aws_regions"], shown["path"], shown["tag_key"], shown["tag_value"]) == (
        ["eu-central-1"], "terraform/shop", "Project", "shop")
    assert shown["approvers"] == ["U0BOB0001"] and shown["created_by"] == "local"
    code, _out, err = archops(capsys, "create", "shop")
    assert code == 65 and "exists already" in err


def test_a_project_without_a_repository_gets_a_local_one_to_clone(env, capsys, tmp_path):
    code, out, err = archops(capsys, "create", "home", "--name", "Home")
    assert code == 0, err
    path = env / "repos" / "home.git"
    assert f"local: git clone {path}" in out
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(path), str(clone)], check=True)
    assert (clone / "README.md").exists()
