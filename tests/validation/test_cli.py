"""`archops validate DIR`: findings by pillar, JSON and SARIF, exit status by verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main

CLEAN = (
    'terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
    '      version = "6.69.1"\n    }\n  }\n}\n'
    'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n'
)
BROKEN = CLEAN + 'resource "aws_db_instance" "db" {\n  instance_class = "db.t4g.micro"\n  publicly_accessible = true\n}\n'
OWN = ["--checks", "parse,schema,references,policy,cost"]


@pytest.fixture
def module_dir(tmp_path: Path) -> Path:
    (tmp_path / "main.tf").write_text(BROKEN)
    return tmp_path


def test_text_report_groups_by_pillar_and_fails(schema_ready, module_dir: Path, capsys) -> None:  # noqa: ANN001
    assert main(["validate", str(module_dir), *OWN]) == 1
    out = capsys.readouterr().out
    assert "security (" in out and "reliability (" in out
    assert "ARCHOPS_DB_PUBLIC main.tf:14 aws_db_instance.db.publicly_accessible" in out
    assert "cost: about $" in out and out.rstrip().splitlines()[-1].startswith("FAILED")


def test_clean_module_exits_zero(schema_ready, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    (tmp_path / "main.tf").write_text(CLEAN)
    assert main(["validate", str(tmp_path), *OWN]) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1].startswith("PASSED")


def test_json_and_sarif_outputs(schema_ready, module_dir: Path, capsys) -> None:  # noqa: ANN001
    assert main(["validate", str(module_dir), *OWN, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is False
    assert {"check_id": "ARCHOPS_DB_PUBLIC", "address": "aws_db_instance.db"}.items() <= data["findings"][0].items()
    out_file = module_dir / "review.sarif"
    assert main(["validate", str(module_dir), *OWN, "--format", "sarif", "-o", str(out_file)]) == 1
    sarif = json.loads(out_file.read_text())
    assert sarif["version"] == "2.1.0"
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "ARCHOPS_DB_PUBLIC")
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("/main.tf") and location["region"]["startLine"] == 14
    assert result["level"] == "error"


def test_fix_writes_repairs_back(schema_ready, module_dir: Path, capsys) -> None:  # noqa: ANN001
    assert main(["validate", str(module_dir), *OWN, "--fix"]) == 0
    out = capsys.readouterr().out
    assert "fixed: ARCHOPS_DB_PUBLIC aws_db_instance.db.publicly_accessible" in out
    assert "publicly_accessible = false" in (module_dir / "main.tf").read_text()


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert main(["validate", str(tmp_path / "nope")]) == 4
    assert "is not a directory" in capsys.readouterr().err
    assert main(["validate", str(tmp_path)]) == 65
    assert "holds no .tf files" in capsys.readouterr().err
    (tmp_path / "main.tf").write_text(CLEAN)
    assert main(["validate", str(tmp_path), "--checks", "parse,lint"]) == 65
    assert "unknown check(s): lint" in capsys.readouterr().err
