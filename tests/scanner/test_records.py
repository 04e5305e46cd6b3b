"""Scans and tag plans in the system of record, on SQLite and PostgreSQL: the migration matches
the models, a plan cannot skip its dry run or approval, two racing steps give one winner, a
running scan blocks a second one until its heartbeat stops, and who may act on a project."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from core.errors import Conflict, Forbidden, NotFound, ValidationError
from core.store import schema_diff
from core.store.models import utcnow
from core.store.scans import Scan, ScanStore, TagPlanRecord
from core.store.store import Store
from scanner.service import approve_tags, authorize, dry_run_tags
from tests.store.pgdb import fresh_postgres_database

pytestmark = pytest.mark.timeout(60)
CHANGE = {"id": "vpc-1", "arn": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1", "kind": "vpc",
          "region": "us-east-1", "reason": "selected", "before": {"Name": "a"}, "after": {"Name": "a", "Team": "x"}}


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Store]:
    store = await Store.open(db_url)
    yield store
    await store.close()


async def _project(store: Store) -> str:
    import secrets

    project_id = f"acme-{secrets.token_hex(3)}"  # PostgreSQL's database is the module's
    await store.upsert_project(project_id, name="Acme", aws_role_arn="arn:aws:iam::123456789012:role/archops",
                               aws_external_id="acme-7f3a9c", aws_regions=["us-east-1"],
                               tag_policy={"key": "Project", "value": "acme"})
    return project_id


async def _plan(records: ScanStore, project_id: str) -> TagPlanRecord:
    return await records.create_tag_plan(project_id, None, key="Team", value="x", rule={"select": ["vpc-1"]},
                                         changes=[CHANGE], already=0, created_by="local", source="cli")


def test_the_migration_matches_the_models(db_url: str) -> None:
    from core.store import upgrade

    assert upgrade(db_url).at_head
    assert schema_diff(db_url) == []


async def test_a_plan_is_dry_run_then_approved_then_applied_once(db: Store) -> None:
    records = ScanStore(db)
    project_id = await _project(db)
    plan = await _plan(records, project_id)
    assert plan.status == "proposed"
    with pytest.raises(Conflict, match="after its dry run"):
        await records.approve_tag_plan(plan.id, approver="local", source="cli")
    with pytest.raises(Conflict, match="dry-run it"):
        await records.begin_application(plan.id, by="local", source="cli")
    await records.record_dry_run(plan.id, by="slack:T1:U2", source="slack", report={"would_tag": 1})
    approved = await records.approve_tag_plan(plan.id, approver="slack:T1:U1", source="slack")
    assert (approved.status, approved.approved_by, approved.approved_via) == ("approved", "slack:T1:U1", "slack")
    assert approved.dry_run_by == "slack:T1:U2" and approved.approved_at is not None
    # two applies at once: exactly one opens an audit record, the other is refused
    results = await asyncio.gather(*(records.begin_application(plan.id, by="local", source="web")
                                     for _ in range(2)), return_exceptions=True)
    apps = [r for r in results if not isinstance(r, BaseException)]
    assert len(apps) == 1 and isinstance([r for r in results if r not in apps][0], Conflict)
    outcome = {**CHANGE, "status": "tagged", "via": "tag:TagResources", "error": ""}
    done = await records.finish_application(apps[0].id, outcomes=[outcome], calls=1)
    assert (done.status, done.approved_by, done.applied_by, done.calls) == ("done", "slack:T1:U1", "local", 1)
    assert done.outcomes[0]["before"] == {"Name": "a"} and done.outcomes[0]["after"]["Team"] == "x"
    assert (await records.get_tag_plan(plan.id)).status == "applied"
    with pytest.raises(Conflict, match="is applied"):
        await records.begin_application(plan.id, by="local", source="cli")
    assert [a.id for a in await records.applications(plan.id)] == [done.id]


async def test_an_apply_whose_process_died_is_taken_over(db: Store) -> None:
    records = ScanStore(db)
    plan = await _plan(records, await _project(db))
    await records.record_dry_run(plan.id, by="local", source="cli", report={})
    await records.approve_tag_plan(plan.id, approver="local", source="cli")
    first = await records.begin_application(plan.id, by="local", source="cli")
    with pytest.raises(Conflict, match="being applied now"):
        await records.begin_application(plan.id, by="local", source="cli")
    second = await records.begin_application(plan.id, by="local", source="cli", stale_after_s=0)
    assert second.id != first.id and (await records.get_application(first.id)).status == "failed"


async def test_one_scan_of_a_project_runs_at_a_time_and_a_dead_one_is_resumed(db: Store) -> None:
    records = ScanStore(db)
    project_id = await _project(db)
    scan, resumed = await records.start_scan(project_id, regions=["us-east-1"], requested_by="local",
                                             source="cli", role_arn="arn:aws:iam::123456789012:role/archops")
    assert scan.status == "running" and not resumed
    await records.set_scan_files(scan.id, checkpoint="/tmp/x.json", out_dir=None)
    with pytest.raises(Conflict, match="is running"):
        await records.start_scan(project_id, regions=["us-east-1"], requested_by="slack:T1:U1", source="slack",
                                 role_arn="arn:aws:iam::123456789012:role/archops")
    # its process died: the heartbeat stops, and the next scan takes it over
    async with db._writing() as session:
        await session.execute(update(Scan).where(Scan.id == scan.id).values(
            heartbeat_at=utcnow() - timedelta(minutes=5)))
    again, resumed = await records.start_scan(project_id, regions=["us-east-1"], requested_by="slack:T1:U1",
                                              source="slack", role_arn="arn:aws:iam::123456789012:role/archops")
    assert resumed and again.id == scan.id and again.attempts == 2 and again.requested_by == "slack:T1:U1"
    await records.finish_scan(scan.id, "done", summary={"resources": 3, "counts": {"vpc": 1}},
                              diagram={"nodes": []}, inventory={"regions": ["us-east-1"], "resources": []})
    last = await records.last_scan(project_id, finished=True)
    assert last is not None and (last.id, last.resources, last.counts) == (scan.id, 3, {"vpc": 1})
    assert await records.scan_diagram(scan.id) == {"nodes": []}
    fresh, resumed = await records.start_scan(project_id, regions=["us-east-1"], requested_by="local",
                                              source="cli")
    assert not resumed and fresh.id != scan.id  # a finished scan is not resumed
    with pytest.raises(NotFound):
        await records.get_scan("scan-nope")


async def test_who_may_act_on_a_project(db: Store) -> None:
    records = ScanStore(db)
    project_id = await _project(db)
    await records.set_member(project_id, "slack:T1:U1", "approver", added_by="local")
    await records.set_member(project_id, "slack:T1:U2", "viewer", added_by="local")
    assert await records.members(project_id) == {"slack:T1:U1": "approver", "slack:T1:U2": "viewer"}
    with pytest.raises(ValidationError, match="role"):
        await records.set_member(project_id, "slack:T1:U3", "admin", added_by="local")
    for principal in ("local", "slack:T1:U1", "slack:T1:U2"):
        await authorize(db, project_id, principal, "read")
    with pytest.raises(Forbidden, match="not a member"):
        await authorize(db, project_id, "slack:T1:U9", "read")
    plan = await _plan(records, project_id)
    with pytest.raises(Forbidden, match="not a member"):
        await dry_run_tags(db, plan.id, principal="slack:T9:U1", source="slack")
    plan = await dry_run_tags(db, plan.id, principal="slack:T1:U2", source="slack")
    would = {k: v for k, v in CHANGE.items() if k != "reason"}
    assert plan.dry_run == {"would_tag": 1, "outcomes": [{**would, "status": "would tag", "via": "", "error": ""}]}
    with pytest.raises(Forbidden, match="not approve"):
        await approve_tags(db, plan.id, principal="slack:T1:U2", source="slack")
    assert (await approve_tags(db, plan.id, principal="slack:T1:U1", source="slack")).approved_by == "slack:T1:U1"
    with pytest.raises(NotFound):
        await authorize(db, "nope", "local", "read")


async def test_tags_that_look_like_credentials_are_not_stored(db: Store) -> None:
    records = ScanStore(db)
    with pytest.raises(ValidationError, match="credential"):
        await records.create_tag_plan(None, None, key="Key", value="AKIAIOSFODNN7EXAMPLE", rule={}, changes=[],
                                      already=0, created_by="local", source="cli")
    with pytest.raises(ValidationError, match="external id"):
        await db.upsert_project("bad", aws_external_id="a b")

