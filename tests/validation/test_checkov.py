"""checkov from its own venv: failures mapped to pillars, skips honoured, nothing silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.terraform import checkov_scan
from core.terraform.review import review_module

MODULE = {
    "main.tf": (
        'resource "aws_security_group" "ssh" {\n'
        '  description = "ssh"\n'
        "  ingress {\n    description = \"ssh\"\n    from_port = 22\n    to_port = 22\n    protocol = \"tcp\"\n"
        '    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n'
        'resource "aws_ebs_volume" "data" {\n'
        "  #checkov:skip=CKV_AWS_189:encrypted with the account default key, set outside Terraform\n"
        '  availability_zone = "us-east-1a"\n  size = 10\n  type = "gp3"\n  encrypted = true\n}\n'
        'resource "aws_s3_bucket" "data" {\n  bucket = "data"\n}\n'
    )
}


@pytest.fixture(scope="module")
def review(checkov_ready):  # noqa: ANN001, ANN201
    return review_module(MODULE, {"parse", "checkov"})


def test_checkov_failures_name_address_argument_and_pillar(review) -> None:  # noqa: ANN001
    ssh = [f for f in review.findings if f.check_id == "CKV_AWS_24"]
    assert len(ssh) == 1
    finding = ssh[0]
    assert (finding.address, finding.pillar, finding.source) == ("aws_security_group.ssh", "security", "checkov")
    assert finding.argument.startswith("ingress.") and finding.line > 0
    assert finding.severity == "high" and finding.fix
    assert not review.passed


def test_checkov_own_skip_comment_is_shown_with_its_reason(review) -> None:  # noqa: ANN001
    [skip] = [f for f in review.findings if f.check_id == "CKV_AWS_189"]
    assert skip.skip_reason == "encrypted with the account default key, set outside Terraform"
    assert not skip.failing


def test_archops_skip_waives_the_equivalent_checkov_checks(checkov_ready) -> None:  # noqa: ANN001
    text = MODULE["main.tf"].replace(
        '  description = "ssh"\n  ingress',
        '  description = "ssh"\n  # archops:skip=ARCHOPS_SG_OPEN_INGRESS reason="bastion, time-boxed"\n  ingress', 1)
    review = review_module({"main.tf": text}, {"parse", "checkov"})
    [ssh] = [f for f in review.findings if f.check_id == "CKV_AWS_24"]
    assert ssh.skip_reason == "bastion, time-boxed"


def test_missing_checkov_is_a_failing_notice_not_a_silent_pass(monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    monkeypatch.setenv("ARCHOPS_CACHE_DIR", str(tmp_path))
    review = review_module({"main.tf": 'locals {\n  a = 1\n}\n'})
    ids = {f.check_id for f in review.failing}
    assert {"checkov_unavailable", "schema_unavailable"} <= ids
    assert not review.passed
    assert all("setup-validation" in f.fix for f in review.failing)
    assert checkov_scan.checkov_available() is False


def test_baseline_waivers_are_shown_as_skips_and_strict_enforces_them(review, checkov_ready) -> None:  # noqa: ANN001
    [replication] = [f for f in review.findings if f.check_id == "CKV_AWS_144"]
    assert replication.address == "aws_s3_bucket.data"
    assert replication.skip_reason and replication.skip_reason.startswith("archops baseline: cross-region")
    strict = review_module(MODULE, {"parse", "checkov"}, strict=True)
    assert "CKV_AWS_144" in {f.check_id for f in strict.failing}


def test_the_warm_checkov_helper_reports_each_module_on_its_own(checkov_ready) -> None:  # noqa: ANN001
    """checkov keeps state between runs in one process; the warm helper must not leak it."""
    from core.terraform.checkov_scan import run_checkov

    open_bucket = 'resource "aws_s3_bucket" "one" {\n  bucket = "one-bucket-x"\n}\n'
    open_sg = ('resource "aws_security_group" "two" {\n  name = "two"\n  ingress {\n'
               '    from_port = 22\n    to_port = 22\n    protocol = "tcp"\n'
               '    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n')
    first = run_checkov({"main.tf": open_bucket})
    second = run_checkov({"main.tf": open_sg})
    again = run_checkov({"main.tf": open_bucket})
    resources = lambda r: {c["resource"] for c in r["results"]["failed_checks"]}  # noqa: E731
    assert resources(first) == {"aws_s3_bucket.one"}
    assert resources(second) == {"aws_security_group.two"}
    assert resources(again) == resources(first)
