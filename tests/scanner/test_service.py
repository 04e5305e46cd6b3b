"""The scanner's door (scanner.service) against moto: the project record drives the scan (regions,
role with its external id, a session named after who asked), the scan is recorded with what it
found and could not read, a throttled service and a killed scan resume from their checkpoints,
profiles work as the SDK takes them, and a tag plan goes dry run -> approval -> apply with its
audit record, each step by whom the project allows."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from core.errors import Conflict, Forbidden
from core.store.scans import ScanStore
from scanner.service import (
    application_text,
    apply_project_tags,
    approve_tags,
    dry_run_tags,
    last_scan,
    plan_project_tags,
    scan_project,
    scan_text,
)
from tests.scanner.seed import TAG_KEY, TAG_VALUE, client

pytestmark = pytest.mark.timeout(180)
ROLE = "arn:aws:iam::123456789012:role/acme-app-ec2"
EXTERNAL_ID = "archops-acme-5d1e"


async def _project(store: Any, project_id: str = "acme", regions: list[str] | None = None) -> str:
    await store.upsert_project(project_id, name="Acme", aws_account_id="123456789012", aws_role_arn=ROLE,
                               aws_external_id=EXTERNAL_ID, aws_regions=regions or ["us-east-1", "eu-west-1"],
                               tag_policy={"key": TAG_KEY, "value": TAG_VALUE})
    records = ScanStore(store)
    await records.set_member(project_id, "slack:T1:UAPPROVER", "approver", added_by="local")
    await records.set_member(project_id, "slack:T1:UVIEWER", "viewer", added_by="local")
    return project_id


def _recording(calls: list[dict[str, Any]]) -> boto3.Session:
    session = boto3.Session()
    session.events.register("before-parameter-build.sts.AssumeRole", lambda params, **kw: calls.append(dict(params)))
    return session


async def test_the_project_record_drives_the_scan_and_it_is_recorded(
        store: Any, moto_url: str, account: dict[str, Any], data_dir: Path) -> None:
    project_id = await _project(store)
    assumed: list[dict[str, Any]] = []
    with pytest.raises(Forbidden, match="not a member"):
        await scan_project(store, project_id, principal="slack:T9:USTRANGER", source="slack", data_dir=data_dir)
    outcome = await scan_project(store, project_id, principal="slack:T1:UVIEWER", source="slack",
                                 data_dir=data_dir, review={"parse"}, endpoint_url=moto_url,
                                 session=_recording(assumed))
    # the project's role, with the external id its trust policy requires and a session that says who
    assert assumed and {(c["RoleArn"], c["ExternalId"], c["RoleSessionName"]) for c in assumed} == {
        (ROLE, EXTERNAL_ID, "archops-acme-UVIEWER")}
    scan = outcome.scan
    assert (scan.status, scan.project_id, scan.regions) == ("done", "acme", ["us-east-1", "eu-west-1"])
    assert (scan.requested_by, scan.source, scan.role_arn) == ("slack:T1:UVIEWER", "slack", ROLE)
    assert scan.counts["vpc"] >= 3 and scan.counts["load_balancer"] == 2 and scan.missing == []
    assert scan.adopted >= 60 and sum(scan.api_calls.values()) > 0 and scan.finished_at is not None
    pillars = {f["pillar"] for f in scan.findings}
    assert "security" in pillars  # the public bucket, SSH open to the world
    found = {(f["check_id"], f["address"]) for f in scan.findings}
    assert ("ARCHOPS_S3_PUBLIC", "aws_s3_bucket.acme_public_site") in found
    assert ("ARCHOPS_SG_OPEN_INGRESS", "aws_vpc_security_group_ingress_rule.acme_prod_app_tcp_22") in found
    assert await asyncio.to_thread(os.path.isfile, f"{scan.out_dir}/imports.tf")
    assert scan.checkpoint is None  # done: nothing to resume
    records = ScanStore(store)
    diagram = await records.scan_diagram(scan.id)
    assert diagram is not None and any(n["id"] == "acme-prod-pg" for n in diagram["nodes"])
    inventory = await records.scan_inventory(scan.id)
    assert inventory is not None and "plain-text-secret" not in json.dumps(inventory)
    assert (await last_scan(store, project_id, principal="slack:T1:UAPPROVER")).id == scan.id
    assert scan_text(scan).startswith(f"Scan {scan.id} of project acme (us-east-1, eu-west-1): done")


async def test_a_throttled_service_leaves_a_partial_scan_that_the_next_one_resumes(
        store: Any, moto_url: str, account: dict[str, Any], data_dir: Path) -> None:
    project_id = await _project(store, "acme-throttled")
    session = boto3.Session()

    def throttle(**kwargs: Any) -> Any:
        class Http:
            status_code = 400
            headers: dict[str, str] = {}
        return Http(), {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}

    session.events.register("before-call.lambda.*", throttle)
    first = await scan_project(store, project_id, principal="local", source="cli", data_dir=data_dir,
                               review=False, endpoint_url=moto_url, session=session, max_attempts=2,
                               backoff_base=0.01)
    assert first.scan.status == "partial" and not first.resumed
    missing = {(m["service"], m["cause"]) for m in first.scan.missing}
    assert missing == {("lambda", "throttled")}
    assert "lambda_function" not in first.scan.counts
    assert await asyncio.to_thread(os.path.isfile, first.scan.checkpoint)
    second = await scan_project(store, project_id, principal="local", source="cli", data_dir=data_dir,
                                review=False, endpoint_url=moto_url)
    assert second.resumed and second.scan.id == first.scan.id and second.scan.attempts == 2
    assert second.scan.status == "done" and second.scan.counts["lambda_function"] == 4
    # only what was missing was read again (and the IAM roles the functions use)
    assert set(second.scan.api_calls) <= {"lambda", "iam", "sts"}, second.scan.api_calls


def _answers(checkpoint: str) -> dict[str, Any]:
    with open(checkpoint) as f:
        return dict(json.load(f)["raw"])


SCAN_IN_A_PROCESS = textwrap.dedent("""
    import asyncio, sys, time
    import boto3
    from pathlib import Path
    from core.store.store import Store
    from scanner.service import scan_project

    async def main():
        store = await Store.open(sys.argv[1])
        session = boto3.Session()
        session.events.register("before-send", lambda **kw: time.sleep(0.05))  # a slow network
        await scan_project(store, "acme-killed", principal="local", source="cli", data_dir=Path(sys.argv[2]),
                           review=False, endpoint_url=sys.argv[3], session=session, concurrent=False)

    asyncio.run(main())
""")


async def test_a_killed_scan_resumes_from_its_checkpoint(
        store: Any, database_url: str, moto_url: str, account: dict[str, Any], data_dir: Path) -> None:
    project_id = await _project(store, "acme-killed")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", SCAN_IN_A_PROCESS, database_url,
                                                str(data_dir), moto_url, env=env,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = ScanStore(store)
    checkpoint: str | None = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until it has kept some of what it read
        scan = await records.last_scan(project_id)
        if scan is not None and scan.checkpoint and await asyncio.to_thread(os.path.isfile, scan.checkpoint):
            checkpoint = scan.checkpoint
            if len(await asyncio.to_thread(_answers, checkpoint)) >= 5:
                break
        assert proc.returncode is None, "the scan ended before it could be killed"
        await asyncio.sleep(0.2)
    assert checkpoint is not None
    proc.send_signal(signal.SIGKILL)
    await asyncio.wait_for(proc.wait(), 30)
    kept = len(await asyncio.to_thread(_answers, checkpoint))
    dead = await records.last_scan(project_id)
    assert dead is not None and dead.status == "running"  # nobody said otherwise: its heartbeat stopped
    with pytest.raises(Conflict, match="is running"):  # ... not long enough ago to be called dead
        await scan_project(store, project_id, principal="local", source="cli", data_dir=data_dir,
                           review=False, endpoint_url=moto_url)
    outcome = await scan_project(store, project_id, principal="local", source="cli", data_dir=data_dir,
                                 review=False, endpoint_url=moto_url, stale_after_s=0)
    assert outcome.resumed and outcome.scan.id == dead.id and outcome.scan.status == "done"
    full = sum(1 for _ in outcome.result.inventory.resources) if outcome.result else 0
    assert full >= 60 and kept >= 5
    fresh = await scan_project(store, project_id, principal="local", source="cli", data_dir=data_dir,
                               review=False, endpoint_url=moto_url)
    # the resumed scan made fewer calls than a whole scan: what the checkpoint kept was not read again
    assert sum(outcome.scan.api_calls.values()) < sum(fresh.scan.api_calls.values())


def test_a_profile_with_a_role_and_an_endpoint_is_taken_as_the_sdk_takes_it(
        moto_url: str, account: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner import Scanner

    config, credentials = tmp_path / "config", tmp_path / "credentials"
    credentials.write_text("[base]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    config.write_text(textwrap.dedent(f"""
        [profile base]
        region = us-east-1
        endpoint_url = {moto_url}

        [profile acme]
        role_arn = {ROLE}
        source_profile = base
        external_id = {EXTERNAL_ID}
        role_session_name = archops-profile
        region = us-east-1
        endpoint_url = {moto_url}
    """))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    scanner = Scanner(["eu-west-1"], profile="acme")  # no endpoint given: the profile's
    inv = scanner.scan()
    assert not inv.partial and {r.id for r in inv.of("lambda_function")} == {"acme-eu-api"}
    frozen = scanner.session.get_credentials().get_frozen_credentials()
    assert frozen.access_key != "testing" and frozen.token  # the role's, through STS
    identity = scanner.session.client("sts").get_caller_identity()
    assert identity["Arn"].endswith(":assumed-role/acme-app-ec2/archops-profile")


async def test_a_tag_plan_is_dry_run_approved_and_applied_with_its_audit_record(
        store: Any, own_account: tuple[str, dict[str, Any]], data_dir: Path) -> None:
    url, account = own_account
    project_id = await _project(store, "acme-tags")
    await store.upsert_project(project_id, tag_policy={"key": "Owner", "value": "platform"})
    await scan_project(store, project_id, principal="slack:T1:UVIEWER", source="slack", data_dir=data_dir,
                       review=False, endpoint_url=url)
    chosen = [account["lb"], account["nlb"], "acme-logs", "acme-sessions", "acme-api-lambda", account["bastion"]]
    plan = await plan_project_tags(store, project_id, principal="slack:T1:UVIEWER", source="slack",
                                   select=chosen)
    assert (plan.key, plan.value, plan.status) == ("Owner", "platform", "proposed")
    assert {c["id"] for c in plan.changes} == set(chosen)
    with pytest.raises(Conflict, match="dry-run it first"):
        await approve_tags(store, plan.id, principal="slack:T1:UAPPROVER", source="slack")
    plan = await dry_run_tags(store, plan.id, principal="slack:T1:UVIEWER", source="web")
    assert plan.dry_run is not None and plan.dry_run["would_tag"] == 6
    lb_tags = client(url, "elbv2", "us-east-1").describe_tags(ResourceArns=[account["lb"]])["TagDescriptions"][0]
    assert "Owner" not in {t["Key"] for t in lb_tags["Tags"]}  # a dry run changes nothing
    with pytest.raises(Forbidden, match="not approve"):
        await approve_tags(store, plan.id, principal="slack:T1:UVIEWER", source="slack")
    plan = await approve_tags(store, plan.id, principal="slack:T1:UAPPROVER", source="slack")
    with pytest.raises(Forbidden, match="not approve"):
        await apply_project_tags(store, plan.id, principal="slack:T1:UVIEWER", source="slack", endpoint_url=url)
    app = await apply_project_tags(store, plan.id, principal="slack:T1:UAPPROVER", source="slack", endpoint_url=url)
    by_id = {o["id"]: o for o in app.outcomes}
    assert app.status == "done" and all(o["status"] == "tagged" for o in app.outcomes), app.outcomes
    assert (app.approved_by, app.approved_via, app.applied_by) == ("slack:T1:UAPPROVER", "slack", "slack:T1:UAPPROVER")
    assert by_id[account["lb"]]["via"] == "elasticloadbalancing:AddTags"  # the Tagging API refused it
    assert by_id[account["nlb"]]["via"] == "elasticloadbalancing:AddTags"
    assert by_id["acme-logs"]["before"] == {} and by_id["acme-logs"]["after"] == {"Owner": "platform"}
    assert by_id["acme-api-lambda"]["after"] == {"Name": "acme-api-lambda", TAG_KEY: TAG_VALUE, "Owner": "platform"}
    assert app.calls >= 2 and (await ScanStore(store).get_tag_plan(plan.id)).status == "applied"
    assert "6 of 6 tagged, 0 failed" in application_text(app)
    nlb_tags = client(url, "elbv2", "eu-west-1").describe_tags(ResourceArns=[account["nlb"]])["TagDescriptions"][0]
    assert {"Key": "Owner", "Value": "platform"} in nlb_tags["Tags"]
    role = client(url, "iam", "us-east-1").list_role_tags(RoleName="acme-api-lambda")["Tags"]
    assert {"Key": "Owner", "Value": "platform"} in role
