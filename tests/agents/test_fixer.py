"""The fixer's own parse check: Terraform's parser and python-hcl2 name the file and line."""

from __future__ import annotations

from agents.fixer import check_and_repair, parse_diagnostics

GOOD = 'resource "aws_sqs_queue" "jobs" {\n  name = "jobs"\n}\n'
BROKEN = 'resource "aws_sqs_queue" "jobs" {\n  name = \n}\n'


def test_syntax_error_is_reported_with_file_and_line() -> None:
    findings = parse_diagnostics({"main.tf": GOOD, "queue.tf": BROKEN, "README.md": "# not terraform"})
    terraform = [f for f in findings if f["check_id"] == "terraform_parse"]
    assert terraform and terraform[0]["file"] == "queue.tf" and terraform[0]["line"] in {2, 3}
    assert any(f["check_id"] == "hcl2_parse" and f["file"] == "queue.tf" for f in findings)


def test_clean_module_has_no_parse_findings() -> None:
    assert parse_diagnostics({"main.tf": GOOD}) == []


def test_broken_module_does_not_pass_the_fixer() -> None:
    files, report = check_and_repair({"queue.tf": BROKEN}, rounds=2, checks={"parse"})
    assert report["passed"] is False
    assert files["queue.tf"]  # the module is kept, never dropped
