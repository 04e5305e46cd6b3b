"""What a newcomer does: `archops up`, then `archops chat`, and sees the answer stream back."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core.redis_client import probe
from core.redis_server import with_embedded_password
from web.auth import SESSION_COOKIE

ARCHOPS = [sys.executable, "-m", "cli.main"]


@pytest.fixture
def up(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # a folder made earlier with looser modes, and a file in it
    (data / "notes.txt").write_text("mine")
    (data / "notes.txt").chmod(0o644)
    env = {**os.environ, "ARCHOPS_DATA_DIR": str(data), "ARCHOPS_LOG_FORMAT": "json"}
    env.pop("ARCHOPS_REDIS_URL", None)
    env.pop("ARCHOPS_DATABASE_URL", None)
    process = subprocess.Popen(
        [*ARCHOPS, "up", "--port", "0"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    url = redis_url = sign_in = None
    while time.monotonic() < deadline and sign_in is None:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(r"started redis-server (redis://\S+)", line):
            redis_url = m.group(1)
        if m := re.search(r"archops is up: (http://\S+)", line):
            url = m.group(1)
        if m := re.search(r"open the web chat .*:\s+(http://\S+/login\?token=\S+)", line):
            sign_in = m.group(1)
    assert url and sign_in, "".join(lines)
    yield {"url": url, "sign_in": sign_in, "redis_url": redis_url, "env": env,
           "process": process, "lines": lines, "data": data}
    if process.poll() is None:
        process.kill()
        process.wait()


def http(method: str, url: str, body: bytes | None = None, **headers: str):
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def chat(up, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHOPS, "chat", *args], env=up["env"], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.slow
def test_up_then_chat_streams_the_answer_and_ctrl_c_stops_everything(up, tmp_path):
    out = tmp_path / "module"
    result = chat(up, "a static website for our launch page", "--non-interactive",
                  "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "... Reading the request" in result.stdout  # status events streamed as they came
    assert (out / "versions.tf").exists() and (out / "README.md").exists()
    assert 'resource "aws_s3_bucket"' in "".join(p.read_text() for p in out.glob("*.tf"))
    # the design is a pull request of the default project's repository, which up named
    repo = up["data"] / "repos" / "default.git"
    assert f"designs become pull requests: git clone {repo}" in "".join(up["lines"])
    opened = re.search(r"pull request #1 \(opened\): (http://\S+/projects/default/pulls/1)\n"
                       r"  git clone --branch (archops/default/\S+) (\S+)", result.stdout)
    assert opened and opened.group(3) == str(repo), result.stdout
    status, _headers, page = http("GET", opened.group(1), Accept="text/html")
    assert status == 401  # the pull request's page is for signed-in people
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--branch", opened.group(2), str(repo), str(clone)],
                   check=True)
    assert (clone / "infra" / "versions.tf").read_text() == (out / "versions.tf").read_text()

    # a question, answered by number from the command line, in the same conversation
    asked = chat(up, "a SaaS web app with a postgres database")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    conversation = re.search(r"--conversation (\S+) --answer", asked.stdout).group(1)
    assert re.search(r"^\s+1\. .+\(recommended\)", asked.stdout, re.M), asked.stdout
    answered = chat(up, "--conversation", conversation, "--answer", "1")
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert "Designed" in answered.stdout or "?" in answered.stdout  # went on: a design or the next question

    # the data folder is private, and so is everything archops keeps in it
    data: Path = up["data"]
    password = (data / "redis.password").read_text().strip()
    assert probe(with_embedded_password(up["redis_url"], data))
    assert not probe(up["redis_url"])  # the embedded Redis wants its password
    modes = {p.relative_to(data).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in [data, *data.rglob("*")]}
    assert {"archops.sqlite3", "up.json", "redis.password", "notes.txt"} <= set(modes)
    assert any(name.startswith("redis/appendonlydir/") for name in modes)
    # git keeps its objects read-only (0400): private too; nothing else differs from 0700/0600
    assert all(m == (0o700 if (data / n).is_dir() else 0o600) for n, m in modes.items()
               if not n.startswith("repos/")), modes
    assert any(n.startswith("repos/default.git/objects/") for n in modes)
    assert all(m & 0o077 == 0 for n, m in modes.items() if n.startswith("repos/")), modes

    process = up["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    said = "".join(up["lines"]) + process.stdout.read() + result.stdout + result.stderr
    assert password not in said  # never printed, never logged
    # the embedded redis-server stopped too
    assert not probe(with_embedded_password(up["redis_url"], data), timeout=0.5)


def test_chat_without_a_running_archops_says_how_to_start_it(tmp_path):
    env = {**os.environ, "ARCHOPS_DATA_DIR": str(tmp_path / "none")}
    result = subprocess.run([*ARCHOPS, "chat", "hello", "--url", "http://127.0.0.1:9"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "archops up" in result.stderr


@pytest.mark.slow
def test_up_guards_the_web_with_a_cli_token_and_a_one_time_sign_in_link(up, tmp_path):
    token_file = up["data"] / "cli.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()

    # nothing without a principal, and the CLI token is the installation's owner
    assert http("GET", f"{up['url']}/api/whoami")[0] == 401
    status, _, body = http("GET", f"{up['url']}/api/whoami", Authorization=f"Bearer {token}")
    assert status == 200 and b'"local"' in body

    # a web page elsewhere cannot drive this archops
    status, headers, _ = http("POST", f"{up['url']}/api/messages",
                              b'{"text": "a static site"}', Authorization=f"Bearer {token}",
                              **{"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
    assert headers["X-Frame-Options"] == "DENY"

    # the link `up` printed opens a session once
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(up["sign_in"], timeout=10)
        raise AssertionError("the sign-in link should redirect")
    except urllib.error.HTTPError as exc:
        assert exc.code == 303
        cookie = exc.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    session = cookie.split(";")[0]
    status, _, body = http("GET", f"{up['url']}/api/whoami", Cookie=session)
    assert status == 200 and b'"session"' in body
    assert http("GET", up["sign_in"])[0] == 403  # used: invalid now
    fresh = chat(up, "--sign-in")  # a new link, no restart
    assert fresh.returncode == 0, fresh.stderr
    link = fresh.stdout.strip()
    assert link.startswith(f"{up['url']}/login?token=")
    try:
        opener.open(link, timeout=10)
        raise AssertionError("the new sign-in link should redirect")
    except urllib.error.HTTPError as exc:
        assert exc.code == 303 and SESSION_COOKIE in exc.headers["Set-Cookie"]

    # `archops chat` from another data folder has no token: refused, with a reason
    stranger = {**up["env"], "ARCHOPS_DATA_DIR": str(tmp_path / "stranger")}
    result = subprocess.run([*ARCHOPS, "chat", "hello", "--url", up["url"]], env=stranger,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "refused" in result.stderr and "cli.token" in result.stderr
