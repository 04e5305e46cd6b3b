"""What a newcomer does: `archops up`, then `archops chat`, and sees the answer stream back."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.redis_client import probe
from core.redis_server import with_embedded_password

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
    url = redis_url = None
    while time.monotonic() < deadline and url is None:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(r"started redis-server (redis://\S+)", line):
            redis_url = m.group(1)
        if m := re.search(r"archops is up: (http://\S+)", line):
            url = m.group(1)
    assert url, "".join(lines)
    yield {"url": url, "redis_url": redis_url, "env": env, "process": process, "lines": lines,
           "data": data}
    if process.poll() is None:
        process.kill()
        process.wait()


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
    assert all(m == (0o700 if (data / n).is_dir() else 0o600) for n, m in modes.items()), modes

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
