"""`archops generate`: the scripting interface writes the module or exits with a clear status."""

from __future__ import annotations

from pathlib import Path

import hcl2

from cli.main import main

FAST = ["--checks", "parse"]


def test_generate_writes_a_module_and_prints_the_plan(tmp_path: Path, capsys) -> None:
    out = tmp_path / "infra"
    code = main(["generate", "a static website for acme.io", "--out", str(out), "--non-interactive", *FAST])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Plan:" in printed and "CloudFront distribution" in printed and "Assumed defaults:" in printed
    assert {"versions.tf", "providers.tf", "variables.tf", "outputs.tf", "README.md", "cdn.tf"} <= {p.name for p in out.iterdir()}
    assert hcl2.loads((out / "cdn.tf").read_text())


def test_answers_on_the_command_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "infra"
    code = main(["generate", "a web app with a database", "--out", str(out), "--answer", "environment=dev",
                 "--answer", "database=mysql", "--answer", "domain=none", *FAST])
    assert code == 0
    assert '"mysql"' in (out / "database.tf").read_text()
    assert "environment" not in capsys.readouterr().out.split("Assumed defaults:")[-1].split("Findings")[0]


def test_refusal_exits_3_with_a_reason(tmp_path: Path, capsys) -> None:
    code = main(["generate", "spin up a VM on Azure", "--out", str(tmp_path / "x"), *FAST])
    assert code == 3
    assert "AWS only" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_open_question_without_a_terminal_exits_5(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code = main(["generate", "a web app", "--out", str(tmp_path / "x"), *FAST])
    assert code == 5
    captured = capsys.readouterr()
    assert "--answer environment=" in captured.err and "production" in captured.out


def test_malformed_answer_is_a_clear_error(tmp_path: Path, capsys) -> None:
    code = main(["generate", "a web app", "--out", str(tmp_path / "x"), "--answer", "oops", *FAST])
    assert code == 65
    assert "KEY=VALUE" in capsys.readouterr().err
