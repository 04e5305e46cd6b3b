"""The change list of a follow-up, from two snapshots of real module text."""

from __future__ import annotations

from agents.changes import diff, explain, render, snapshot
from agents.messages import t
from agents.requirements import Requirements

BEFORE = {
    "variables.tf": 'variable "region" {\n  type    = string\n  default = "us-east-1"\n}\n',
    "database.tf": 'resource "aws_db_instance" "main" {\n  engine   = "postgres"\n  multi_az = true\n}\n',
    "network.tf": 'resource "aws_nat_gateway" "main" {\n  count = 2\n}\n',
}
AFTER = {
    "variables.tf": 'variable "region" {\n  type    = string\n  default = "ap-northeast-2"\n}\n',
    "database.tf": 'resource "aws_db_instance" "main" {\n  engine   = "postgres"\n  multi_az = false\n}\n',
    "cache.tf": 'resource "aws_elasticache_replication_group" "main" {\n  node_type = "cache.t4g.micro"\n}\n',
}
PLAN_BEFORE = {"items": [{"id": "vpc"}, {"id": "rds"}, {"id": "backup"}]}
PLAN_AFTER = {"items": [{"id": "vpc"}, {"id": "rds"}, {"id": "backup"}, {"id": "redis"}]}


def test_added_removed_changed_and_the_cost_before_and_after() -> None:
    req = Requirements(environment="production", region="us-east-1", workload="web_app")
    moved = req.model_copy(update={"region": "ap-northeast-2"})
    before = snapshot(req, PLAN_BEFORE, BEFORE, {"monthly_total": 210.4})
    after = snapshot(moved, PLAN_AFTER, AFTER, {"monthly_total": 180.0})
    changes = diff(before, after)
    assert changes["added"] == ["aws_elasticache_replication_group.main"]
    assert changes["removed"] == ["aws_nat_gateway.main"]
    assert changes["changed"]["aws_db_instance.main"] == [{"argument": "multi_az", "before": "true", "after": "false"}]
    assert changes["changed"]["var.region"][0]["after"] == '"ap-northeast-2"'
    assert changes["settings"]["region"] == ["us-east-1", "ap-northeast-2"]
    text = render(changes, [], "en", 2)
    assert text.splitlines()[0] == t("chg.head", "en", before=1, after=2)
    assert "- region: us-east-1 → ap-northeast-2" in text
    assert "aws_db_instance.main (multi_az: true → false)" in text
    assert "≈ $210 → ≈ $180/month (−$30)" in text


def test_nothing_changed_says_why_in_the_conversation_language() -> None:
    req = Requirements(environment="dev", region="ap-northeast-2", workload="web_app", language="ko")
    same = snapshot(req, PLAN_BEFORE, BEFORE, {"monthly_total": 90.0})
    changes = diff(same, same)
    notes = explain(changes, same, req, {"backup"}, cheaper=True)
    assert notes[0] == t("chg.already", "ko", what=t("cap.backup", "ko"))
    assert notes[1] == t("chg.cheapest", "ko", environment=t("env.dev", "ko"))
    text = render(changes, notes, "ko", 4)
    assert text.startswith(t("chg.none", "ko", version=3)) and t("chg.cost_same", "ko", total="90") in text
    assert explain(changes, same, req, set(), cheaper=False) == [t("chg.nothing_named", "ko")]
