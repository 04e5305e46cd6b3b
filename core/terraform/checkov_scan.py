"""checkov, run from its own virtual environment, with its results mapped to pillars.

checkov pins an old boto3, so ``scripts/setup-validation`` installs it apart from archops. It runs
offline with ``BC_SKIP_MAPPING=TRUE``; offline it returns no severities, so archops assigns a
pillar and severity from what each check is about. A directory checkov cannot parse exits 0, so
``summary.parsing_errors`` is read and reported. Skips written as ``#checkov:skip=ID:reason``
(checkov's own) or ``# archops:skip=ID reason="..."`` are both honoured and shown.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import select
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from core.terraform.baseline import BASELINE_WAIVERS
from core.terraform.findings import Finding, Pillar, Severity
from core.terraform.parse import ParsedModule, parse_module
from core.terraform.paths import SETUP_HINT, checkov_bin
from core.terraform.policy import RULES

TIMEOUT_S = 300
EQUIVALENT_RULE = {check: rule.id for rule in RULES for check in rule.checkov}
_RELIABILITY = re.compile(r"backup|multi-az|multi az|deletion protection|replicat|point in time|recovery|versioning|snapshot", re.I)
_OPERATIONS = re.compile(r"logg|monitor|tracing|x-ray|insights|alarm|notification|retention|description|tag", re.I)
_COST = re.compile(r"lifecycle|expir", re.I)
_HIGH = re.compile(r"encrypt|public|0\.0\.0\.0|::/0|secret|password|credential|admin|\*|wildcard|https|tls|ssl|kms", re.I)


def classify(name: str) -> tuple[Pillar, Severity]:
    """A pillar and severity for a checkov check from its name (offline it gives neither)."""
    if _HIGH.search(name):
        return "security", "high"
    if _RELIABILITY.search(name):
        return "reliability", "medium"
    if _COST.search(name):
        return "cost_optimisation", "low"
    if _OPERATIONS.search(name):
        return "operational_excellence", "low"
    return "security", "medium"


def checkov_available() -> bool:
    return checkov_bin().is_file()


def notice_missing() -> Finding:
    return Finding(
        check_id="checkov_unavailable", severity="high", pillar="security",
        message=f"checkov is not installed at {checkov_bin()}: policy checks by checkov did not run",
        fix=SETUP_HINT, source="checkov",
    )


_ARGV = ["--framework", "terraform", "--skip-download"]


def _env() -> dict[str, str]:
    return dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false",
                BC_API_KEY="", PYTHONWARNINGS="ignore")


class _Warm:
    """checkov kept warm in its own venv (:mod:`core.terraform.checkov_server`): its start-up is
    paid once per archops process, not once per review. One scan at a time; a scan that hangs or
    a helper that dies is killed and the next scan starts a fresh one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.child: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.child is None or self.child.poll() is not None:
            python = checkov_bin().parent / "python"
            self.child = subprocess.Popen(  # noqa: S603 - our own venv, our own script
                [str(python), "-I", str(Path(__file__).with_name("checkov_server.py"))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, env=_env(), start_new_session=True,
            )
        return self.child

    def stop(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        self.child = None

    def scan(self, directory: str, split: bool = False) -> dict[str, Any]:
        with self.lock:
            child = self._start()
            assert child.stdin and child.stdout
            try:
                child.stdin.write(json.dumps({"dir": directory, "argv": _ARGV, "split": split}) + "\n")
                child.stdin.flush()
                ready, _, _ = select.select([child.stdout], [], [], TIMEOUT_S)
                line = child.stdout.readline() if ready else ""
            except (BrokenPipeError, OSError):
                line = ""
            if not line:
                self.stop()
                return {"error": "checkov stopped answering (its helper was restarted)"}
            reply: dict[str, Any] = json.loads(line)
            return reply


_WARM = _Warm()
atexit.register(_WARM.stop)


def run_checkov(files: dict[str, str]) -> dict[str, Any]:
    """checkov's JSON report of a module written to a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="archops-checkov-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / name).write_text(text)
        reply = _WARM.scan(tmp)
    return _report(reply)


def _report(reply: dict[str, Any]) -> dict[str, Any]:
    if "error" in reply:
        return {"error": reply["error"]}
    data = reply["report"]
    if isinstance(data, list):  # several frameworks: keep terraform's
        data = next((d for d in data if d.get("check_type") == "terraform"), data[0])
    return data  # type: ignore[no-any-return]


def run_checkov_tree(modules: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """checkov's report of each module, all scanned in one run: each module is a folder of one
    tree, and checkov builds a graph per folder (``TF_SPLIT_GRAPH``), so resources of two
    modules that share an address never meet. Each report holds its own folder's checks."""
    with tempfile.TemporaryDirectory(prefix="archops-checkov-") as tmp:
        roots: dict[str, str] = {}
        for i, (key, files) in enumerate(modules.items()):
            root = Path(tmp) / f"m{i}"
            for name, text in files.items():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_text(text)
            roots[key] = f"{root}/"
        whole = _report(_WARM.scan(tmp, split=True))
    if "error" in whole:
        return {key: whole for key in modules}
    results = whole.get("results", {})
    out: dict[str, dict[str, Any]] = {}
    for key, prefix in roots.items():
        mine = {kind: [c for c in results.get(kind, []) if str(c.get("file_abs_path", "")).startswith(prefix)]
                for kind in ("passed_checks", "failed_checks", "skipped_checks")}
        errors = [p for p in results.get("parsing_errors", []) if str(p).startswith(prefix)]
        for check in (c for kind in mine.values() for c in kind):  # its path as a single scan gives it
            check["file_path"] = "/" + str(check.get("file_abs_path", ""))[len(prefix):]
        out[key] = {"check_type": "terraform", "results": {**mine, "parsing_errors": errors},
                    "summary": {"parsing_errors": len(errors)}}
    return out


def _argument(check: dict[str, Any]) -> str:
    keys = (check.get("check_result") or {}).get("evaluated_keys") or []
    if not keys:
        return ""
    key = re.sub(r"/\[\d+\]", "", keys[0]).replace("/", ".")
    return "" if key == "resource_type" else key


def _finding(check: dict[str, Any], module: ParsedModule, skip: str | None, strict: bool) -> Finding:
    name = check.get("check_name", "")
    pillar, severity = classify(name)
    address = check.get("resource", "")
    item = module.get(re.sub(r"\[[^\]]*\]$", "", address))  # aws_x.y[0] -> aws_x.y
    argument = _argument(check)
    if skip is None and item is not None:
        skip = item.skips.get(check["check_id"])
        rule = EQUIVALENT_RULE.get(check["check_id"])
        if skip is None and rule is not None:  # a written skip of an archops rule covers its checks
            skip = item.skips.get(rule)
    if skip is None and not strict and check["check_id"] in BASELINE_WAIVERS:
        skip = f"archops baseline: {BASELINE_WAIVERS[check['check_id']]}"
    fix = re.sub(r"^Ensure (that )?", "", name).rstrip(".")
    return Finding(
        check_id=check["check_id"], severity=severity, pillar=pillar, address=address,
        argument=argument, file=check.get("file_path", "").lstrip("/"),
        line=(item.arg_line(argument.split(".")[0]) if item and argument else
              (check.get("file_line_range") or [0])[0]),
        message=name, fix=fix[:1].upper() + fix[1:] + (f" ({check['guideline']})" if check.get("guideline") else ""),
        skip_reason=skip, source="checkov",
    )


def _failure(report: dict[str, Any]) -> list[Finding]:
    if "error" in report:
        return [Finding(check_id="checkov_failed", severity="high", pillar="security",
                        message=f"checkov did not run: {report['error'][-300:]}", fix=SETUP_HINT,
                        source="checkov")]
    errors = report.get("summary", {}).get("parsing_errors")
    if errors:
        return [Finding(check_id="checkov_parsing_errors", severity="high",
                        pillar="operational_excellence",
                        message=f"checkov could not parse {errors} file(s)",
                        fix="make the module parse (see the terraform findings)", source="checkov")]
    return []


def _results(report: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """(check, written skip reason or None) for every failed and skipped check."""
    results = report.get("results", {})
    out: list[tuple[dict[str, Any], str | None]] = [(c, None) for c in results.get("failed_checks", [])]
    for check in results.get("skipped_checks", []):
        reason = (check.get("check_result") or {}).get("suppress_comment") or "skipped in the module"
        out.append((check, reason))
    return out


def check_checkov(files: dict[str, str], module: ParsedModule, strict: bool = False) -> list[Finding]:
    """checkov's findings; ``strict`` also fails the checks of :data:`BASELINE_WAIVERS`."""
    if not checkov_available():
        return [notice_missing()]
    report = run_checkov(files)
    failure = _failure(report)
    if "error" in report:
        return failure
    return failure + [_finding(check, module, reason, strict) for check, reason in _results(report)]


# modules one checkov run scans together (a run must answer within TIMEOUT_S)
TREE_SIZE = 20


def check_checkov_many(modules: dict[str, dict[str, str]], strict: bool = False) -> dict[str, list[Finding]]:
    """checkov's findings for several modules, each keyed as given with its own file names,
    from one checkov run per :data:`TREE_SIZE` of them (:func:`run_checkov_tree`)."""
    if not checkov_available():
        return {key: [notice_missing()] for key in modules}
    tfs = {key: {n: t for n, t in files.items() if n.endswith(".tf")} for key, files in modules.items()}
    keys = list(tfs)
    reports: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), TREE_SIZE):
        part = {key: tfs[key] for key in keys[start:start + TREE_SIZE]}
        reports.update(run_checkov_tree(part) if len(part) > 1 else {key: run_checkov(files) for key, files in part.items()})
    out: dict[str, list[Finding]] = {}
    for key, files in tfs.items():
        report, module = reports[key], parse_module(files)
        failure = _failure(report)
        out[key] = failure if "error" in report else failure + [_finding(c, module, r, strict) for c, r in _results(report)]
    return out
