"""The pull request's body: what a reviewer needs, and under GitHub's 65,536-character limit."""

from __future__ import annotations

from core.codehost import body as pr_body
from core.codehost.effect import deliver_once
from core.codehost.github import host_for
from core.codehost.port import Delta
from tests.codehost.designs import change, design


def test_the_body_says_what_a_reviewer_acts_on() -> None:
    d = design("c1", 2)
    text = pr_body.render(d, Delta(added=("cache.tf",), changed=("README.md",)), "a" * 40,
                          "b" * 40)
    sections = ["## What was asked", "## Decisions", "## What changes in this version",
                "## Resources (3)", "## Review by Well-Architected pillar", "## Not built",
                "## Cost", "## Links"]
    assert [text.index(s) for s in sections] == sorted(text.index(s) for s in sections)
    assert "> A web shop with a VPC and a log bucket" in text and "> add a Redis cache" in text
    assert "- **region**: eu-west-1 _(assumed: archops' default, not asked)_" in text
    assert "Version 2 (commit `aaaaaaaaaaaa`, on `bbbbbbbbbbbb`): added cache.tf; changed README.md." in text
    assert "| `aws_elasticache_cluster` | `cache` | cache.tf |" in text
    assert "**Plan: 4 to add, 0 to change, 0 to destroy.**" in text
    assert "### Reliability: 0 open, 1 skipped" in text
    assert "Reason: dev environment: the stack can be torn down" in text
    assert "- **a CDN**: no domain was given" in text
    assert "About **$32.50/month** (on-demand list prices in eu-west-1); +$12.50/month since version 1" in text


def test_secrets_in_what_was_asked_never_reach_the_body() -> None:
    d = design("c1", 1, asked=["use the key AKIAIOSFODNN7EXAMPLE for the shop"])
    text = pr_body.render(d, Delta(), "a" * 40)
    assert "AKIAIOSFODNN7EXAMPLE" not in text and "[redacted: AWS access key]" in text


def big_design():  # type: ignore[no-untyped-def]
    files = {f"service{i:03}.tf": "\n".join(
        f'resource "aws_cloudwatch_metric_alarm" "alarm_{i:03}_{j:02}" {{\n}}' for j in range(30))
        for i in range(100)}
    findings = [{"check_id": f"CKV_AWS_{n}", "severity": ("high", "low", "info")[n % 3],
                 "pillar": ("security", "reliability", "operational_excellence")[n % 3],
                 "address": f"aws_cloudwatch_metric_alarm.alarm_{n:04}",
                 "message": "the alarm has no action to notify anyone when it fires " * 2,
                 "fix": "set alarm_actions to the alerts topic"} for n in range(900)]
    return design("c-big", 1, files=files, findings=findings)


def test_a_design_past_the_limit_is_cut_and_says_what_was_cut() -> None:
    d = big_design()
    whole = pr_body.render(d, Delta(), "a" * 40, limit=10**9)
    assert len(whole) > pr_body.GITHUB_BODY_LIMIT  # the design really is too large
    text = pr_body.render(d, Delta(), "a" * 40, full_report="http://archops.test/c/c-big?cap=x")
    assert len(text) <= pr_body.GITHUB_BODY_LIMIT
    assert "## Resources (3000)" in text
    note = text[text.index("_Cut to fit GitHub's 65,536-character limit"):]
    assert "of 3000 resource rows" in note and "of 900 findings" in note
    assert "[the live stream](http://archops.test/c/c-big?cap=x)" in note
    # what stays is what matters most: every open high finding before any low or info one
    assert text.count("- **high**") > 0 and "## Not built" in text and "## Cost" in text
    kept = [line for line in text.splitlines() if line.startswith("- **")]
    severities = [line.split("**")[1] for line in kept if line.split("**")[1] in
                  ("high", "low", "info")]
    assert severities == sorted(severities, key=("high", "low", "info").index)


async def test_github_accepts_the_cut_body(github, make_ctx) -> None:
    github.add_repo("acme/infra")
    token = github.add_token()
    d = big_design()
    ch = change("c-big", "r1", 1, d=d)
    result = await deliver_once(await make_ctx("c-big", "r1"),
                                lambda: host_for("acme/infra", token=token, api_url=github.url,
                                                 write_interval_s=0), ch)
    assert result["action"] == "opened", result
    body = github.repos["acme/infra"].pulls[0]["body"]
    assert len(body) <= 65536 and "Cut to fit" in body
