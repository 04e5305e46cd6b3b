"""moto's server (AWS on the real wire protocol) for the tests, each in a process of its own.

moto keeps its accounts in module-level state, so two servers started in one process (say the
scanner's and the bot's, in one pytest run) share every resource: each test folder gets a
server of its own, as a second AWS account would be another machine.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def moto_process() -> Iterator[str]:
    """moto's server in a process of its own; yields its URL once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(f"moto's server exited with {proc.returncode} before answering")
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto's server did not answer within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: it gets no more time
            proc.kill()
            proc.wait(timeout=30)


@contextlib.contextmanager
def dummy_credentials() -> Iterator[None]:
    """Credentials boto3 signs with against moto; no profile or endpoint of the machine's own."""
    patch = pytest.MonkeyPatch()
    patch.setenv("AWS_ACCESS_KEY_ID", "testing")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        patch.delenv(name, raising=False)
    try:
        yield
    finally:
        patch.undo()


@contextlib.contextmanager
def aws_account() -> Iterator[str]:
    """A fresh, empty AWS account on loopback with the dummy credentials set: its URL."""
    with dummy_credentials(), moto_process() as url:
        yield url
