"""What a newcomer does: `archops up`, then `archops chat`, and sees the answer stream back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.redis_client import probe

ARCHOPS = [sys.executable, "-m", "cli.main"]


@pytest.fixture
def up(tmp_path: Path):
    env = {**os.environ, "ARCHOPS_DATA_DIR": str(tmp_path / "data"), "ARCHOPS_LOG_FORMAT": "json"}
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
    yield {"url": url, "redis_url": redis_url, "env": env, "process": process}
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

    process = up["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert not probe(up["redis_url"], timeout=0.5)  # the embedded redis-server stopped too


def test_chat_without_a_running_archops_says_how_to_start_it(tmp_path):
    env = {**os.environ, "ARCHOPS_DATA_DIR": str(tmp_path / "none")}
    result = subprocess.run([*ARCHOPS, "chat", "hello", "--url", "http://127.0.0.1:9"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "archops up" in result.stderr
