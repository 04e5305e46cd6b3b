"""The fixer is the review's bounded repair loop: Terraform's parser names the file and line,
a repairable finding is repaired, and a broken module is kept and reported, never dropped."""

from __future__ import annotations

from agents.fixer import check_and_repair

GOOD = 'resource "aws_sqs_queue" "jobs" {\n  name = "jobs"\n}\n'
BROKEN = 'resource "aws_sqs_queue" "jobs" {\n  name = \n}\n'


def test_syntax_error_is_reported_with_file_and_line() -> None:
    _files, report = check_and_repair({"main.tf": GOOD, "queue.tf": BROKEN, "README.md": "# not terraform"}, checks={"parse"})
    terraform = [f for f in report["findings"] if f["check_id"] == "terraform_parse"]
    assert terraform and {f["file"] for f in terraform} == {"queue.tf"} and terraform[0]["line"] in {1, 2, 3}
    assert report["passed"] is False


def test_clean_module_has_no_parse_findings() -> None:
    _files, report = check_and_repair({"main.tf": GOOD}, checks={"parse"})
    assert report["passed"] is True and report["findings"] == [] and report["repairs"] == []


def test_broken_module_does_not_pass_the_fixer() -> None:
    files, report = check_and_repair({"queue.tf": BROKEN}, rounds=2, checks={"parse"})
    assert report["passed"] is False
    assert files["queue.tf"]  # the module is kept, never dropped


def test_a_misspelt_argument_is_repaired_by_the_reviews_loop() -> None:
    misspelt = 'resource "aws_sqs_queue" "jobs" {\n  name                      = "jobs"\n  message_retention_secondz = 600\n}\n'
    files, report = check_and_repair({"main.tf": misspelt}, rounds=2, checks={"parse", "schema"})
    assert "message_retention_seconds" in files["main.tf"], report["findings"]
    assert report["passed"] and any("renamed message_retention_secondz" in r for r in report["repairs"])

