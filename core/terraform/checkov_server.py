"""checkov kept warm: one process that imports checkov once and scans directory after directory.

This file runs under checkov's own virtual environment (``checkov-venv/bin/python THIS_FILE``),
so it imports nothing of archops (and runs with ``-I``: its folder holds a ``schema.py`` that
would shadow a package checkov imports). checkov's start-up (loading ~2,000 checks, ~2.5 s) is paid once;
a scan of a 90-resource module then takes a few hundred milliseconds. One JSON request per line
on stdin (``{"dir": PATH, "argv": [...]}``), one JSON reply per line on stdout
(``{"report": ...}`` or ``{"error": ...}``); anything checkov prints goes to stderr. With
``"split": true`` the directory is a tree of root modules, one per folder, scanned in one run
with a graph per module (checkov's ``TF_SPLIT_GRAPH``): resources of two modules never meet.

checkov keeps module-level state between runs (a second scan in one process reports the first
module's results), so each scan runs in a fork of the warm process: the loaded checks are shared
copy-on-write, and every scan starts from the same clean state.
"""

import contextlib
import io
import json
import os
import sys


def _scan(checkov: type, directory: str, argv: list[str]) -> dict:
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            checkov(argv=["-d", directory, "-o", "json", *argv]).run()
    except SystemExit as exc:
        return {"error": f"checkov exited {exc.code}"}
    out = buf.getvalue().strip()
    return {"report": json.loads(out)} if out else {"error": "checkov printed nothing"}


def _scan_in_fork(checkov: type, directory: str, argv: list[str], split: bool = False) -> dict:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: scan, answer through the pipe, leave without cleanup
        os.close(read_end)
        if split:
            os.environ["TF_SPLIT_GRAPH"] = "True"
        try:
            reply = _scan(checkov, directory, argv)
        except BaseException as exc:  # noqa: BLE001 - the parent must get an answer
            reply = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(reply))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        data = answer.read()
    os.waitpid(pid, 0)
    return json.loads(data) if data else {"error": "checkov's scan process died"}


def main() -> int:
    os.environ.setdefault("BC_SKIP_MAPPING", "TRUE")
    os.environ.setdefault("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
    reply_channel = os.fdopen(os.dup(1), "w")
    sys.stdout = sys.stderr  # nothing but replies on the reply channel
    from checkov.main import Checkov

    for line in sys.stdin:
        try:
            request = json.loads(line)
            reply = _scan_in_fork(Checkov, request["dir"], list(request.get("argv", [])), bool(request.get("split")))
        except Exception as exc:  # noqa: BLE001 - every failure is an answer
            reply = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        reply_channel.write(json.dumps(reply) + "\n")
        reply_channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
