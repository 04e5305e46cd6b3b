"""The scanner's door for every edge (the CLI, the web app, Slack's ``/archops scan|tags``).

Each function takes the open :class:`~core.store.Store`, the project, and who asks (a principal
id as the edges name them: ``local`` for the installation's owner, ``slack:<team>:<user>``) with
the edge it came through (``source``: cli, web, slack), checks that this principal may act on
the project, does the work and records it in the system of record::

    outcome = await scan_project(store, "acme", principal="slack:T1:U1", source="slack", data_dir=...)
    scan_text(outcome.scan)                                   # the reply
    plan = await plan_project_tags(store, "acme", principal=..., source=...)
    plan = await dry_run_tags(store, plan.id, principal=..., source=...)       # first, always
    plan = await approve_tags(store, plan.id, principal=..., source=...)       # an approver
    app = await apply_project_tags(store, plan.id, principal=..., source=...)  # an approver
    application_text(app)

Who may: the installation's owner (``local``) on every project; a project's members
(:class:`~core.store.scans.ProjectMember`): ``viewer`` scans and plans, ``approver`` also
approves and applies. Anyone else gets :class:`~core.errors.Forbidden`. A state that does not
allow the step (apply before approval, approval before the dry run, a second scan while one
runs) is a :class:`~core.errors.Conflict`; an unknown project, scan or plan :class:`NotFound`.

The project record drives a scan: its regions, its role (assumed through STS with its external
id, the session named after the project and the principal, so CloudTrail says who asked) and its
tag policy. The caller's own credentials and endpoints are the SDK's: the default chain, a
profile, ``AWS_ENDPOINT_URL``; ``aws`` options (endpoint_url, profile, session...) go to
:class:`~scanner.inventory.Scanner`. A scan runs on a thread (boto3 blocks) while its record's
heartbeat is kept; a scan whose process died is resumed from its checkpoint by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core.errors import Forbidden, NotFound, ValidationError
from core.store.scans import OWNER, STALE_AFTER_S, Scan, ScanStore, TagApplication, TagPlanRecord
from scanner.adopt import ScanResult, record_of, scan_to_dir, summary
from scanner.inventory import Interrupted, Scanner, session_name_for
from scanner.models import GLOBAL, Inventory
from scanner.tags import TagChange, TagPlan, apply_tags, plan_tags

Action = Literal["read", "approve"]
HEARTBEAT_S = 10.0


@dataclass
class ProjectScope:
    """What a scan of a project takes from its record: regions, role, external id, tag."""

    project_id: str
    regions: list[str]
    role_arn: str | None
    external_id: str | None
    account_id: str | None
    tag: tuple[str, str] | None


@dataclass
class ProjectScan:
    """A finished scan: its record, the module written (None when it failed) and whether it
    resumed an interrupted one."""

    scan: Scan
    result: ScanResult | None
    resumed: bool


def tag_of(policy: dict[str, Any]) -> tuple[str, str] | None:
    """The project's identification tag from its tag policy: ``{"key": K, "value": V}``,
    ``{"tags": {K: V}}`` or ``{K: V}`` (the first pair)."""
    if isinstance(policy.get("key"), str) and isinstance(policy.get("value"), str):
        return policy["key"], policy["value"]
    tags: dict[str, Any] = policy["tags"] if isinstance(policy.get("tags"), dict) else policy
    for k, v in tags.items():
        if isinstance(k, str) and isinstance(v, str):
            return k, v
    return None


async def project_scope(store: Any, project_id: str) -> ProjectScope:
    p = await store.get_project(project_id)
    return ProjectScope(project_id, list(p.aws_regions or []), p.aws_role_arn, p.aws_external_id,
                        p.aws_account_id, tag_of(dict(p.tag_policy or {})))


async def authorize(store: Any, project_id: str | None, principal: str, action: Action) -> None:
    """Forbidden unless ``principal`` may ``action`` (read: scan, plan, look; approve: approve
    and apply) on the project. Without a project only the installation's owner acts."""
    if project_id is None:
        if principal != OWNER:
            raise Forbidden("only the installation's owner scans without a project")
        return
    await store.get_project(project_id)  # NotFound first: a project that does not exist
    role = await ScanStore(store).role_of(project_id, principal)
    if role is None:
        raise Forbidden(f"{principal} is not a member of project {project_id}",
                        hint="a project approver (or the installation's owner) can add you")
    if action == "approve" and role != "approver":
        raise Forbidden(f"{principal} may look at project {project_id} but not approve or apply changes",
                        hint="ask one of its approvers")


# -- scans ------------------------------------------------------------------------------------
async def scan_project(
    store: Any, project_id: str | None, *, principal: str, source: str, data_dir: Path,
    regions: list[str] | None = None, role_arn: str | None = None, out_dir: str | Path | None = None,
    review: bool | set[str] = True, resume: bool = True, heartbeat_s: float = HEARTBEAT_S,
    stale_after_s: float = STALE_AFTER_S, **aws: Any,
) -> ProjectScan:
    """Scan the project's account (its regions and role unless given) into ``out_dir`` (else a
    folder of the scan in ``data_dir``), and record it; see the module docstring."""
    await authorize(store, project_id, principal, "read")
    external_id = aws.pop("external_id", None)
    if project_id is not None:
        scope = await project_scope(store, project_id)
        regions = regions or scope.regions
        role_arn = role_arn or scope.role_arn
        external_id = external_id or scope.external_id
    if not regions:
        raise ValidationError("no region to scan",
                              hint="give regions, or set the project's regions in its record")
    records = ScanStore(store)
    # a scan without a project resumes only from a checkpoint its caller names: nothing else
    # says that the account behind the same regions is the same one
    given = aws.pop("checkpoint", None)
    scan, resumed = await records.start_scan(project_id, regions=list(regions), requested_by=principal,
                                             source=source, role_arn=role_arn, stale_after_s=stale_after_s,
                                             resume=resume and project_id is not None)
    home = Path(data_dir) / "scans"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    checkpoint = (Path(given) if given else Path(scan.checkpoint) if resumed and scan.checkpoint
                  else home / f"{scan.id}.checkpoint.json")
    out = Path(out_dir) if out_dir else home / scan.id
    await records.set_scan_files(scan.id, checkpoint=str(checkpoint), out_dir=str(out))
    try:
        scanner = Scanner(regions, role_arn=role_arn, external_id=external_id, checkpoint=checkpoint,
                          session_name=session_name_for(project_id or "", principal.split(":")[-1]), **aws)
    except Exception as exc:
        await records.finish_scan(scan.id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise

    async def beat() -> None:
        while True:
            await asyncio.sleep(heartbeat_s)
            with contextlib.suppress(Exception):  # a missed beat only makes the scan look older
                await records.heartbeat(scan.id)

    beating = asyncio.create_task(beat())
    try:
        result = await asyncio.to_thread(scan_to_dir, list(regions), out, review=review, scanner=scanner)
    except (asyncio.CancelledError, Interrupted, KeyboardInterrupt):
        scanner.cancel()  # the thread stops at its next call; the checkpoint keeps what it read
        await asyncio.shield(records.finish_scan(scan.id, "interrupted", error="interrupted; the next scan resumes it"))
        raise
    except Exception as exc:
        await records.finish_scan(scan.id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        beating.cancel()
    status = "partial" if result.inventory.partial else "done"
    record = await records.finish_scan(
        scan.id, status, summary=record_of(result), diagram=result.diagram,
        inventory=result.inventory.model_dump(mode="json"))
    if status == "done" and not given:  # nothing left to resume: the checkpoint goes
        with contextlib.suppress(FileNotFoundError):
            os.unlink(checkpoint)
        await records.set_scan_files(scan.id, checkpoint=None, out_dir=str(out))
        record = await records.get_scan(scan.id)
    return ProjectScan(record, result, resumed)


async def last_scan(store: Any, project_id: str, *, principal: str) -> Scan | None:
    """The project's newest scan (running, interrupted or finished), or None."""
    await authorize(store, project_id, principal, "read")
    return await ScanStore(store).last_scan(project_id)


async def get_scan(store: Any, scan_id: str, *, principal: str) -> Scan:
    scan = await ScanStore(store).get_scan(scan_id)
    await authorize(store, scan.project_id, principal, "read")
    return scan


# -- tags ------------------------------------------------------------------------------------
def _plan_of(record: TagPlanRecord) -> TagPlan:
    return TagPlan(key=record.key, value=record.value, already=record.already,
                   changes=[TagChange.model_validate(c) for c in record.changes])


async def _plan(store: Any, plan_id: str, principal: str, action: Action) -> TagPlanRecord:
    plan = await ScanStore(store).get_tag_plan(plan_id)
    await authorize(store, plan.project_id, principal, action)
    return plan


async def get_tag_plan(store: Any, plan_id: str, *, principal: str) -> TagPlanRecord:
    return await _plan(store, plan_id, principal, "read")


async def tag_applications(store: Any, plan_id: str, *, principal: str) -> list[TagApplication]:
    """A plan's audit trail: each apply, who approved and applied it, each resource's result."""
    await _plan(store, plan_id, principal, "read")
    return await ScanStore(store).applications(plan_id)


async def plan_project_tags(
    store: Any, project_id: str | None, *, principal: str, source: str, data_dir: Path | None = None,
    key: str | None = None, value: str | None = None, vpcs: list[str] | None = None,
    name_pattern: str | None = None, select: list[str] | None = None, scan_id: str | None = None,
    inventory: Inventory | None = None, **aws: Any,
) -> TagPlanRecord:
    """Propose tagging what lacks the project's tag (its tag policy's unless ``key``/``value``
    are given) by VPC, naming rule or selection, from ``scan_id``, the project's last finished
    scan, or (when it has none, or ``inventory`` is not given without a project) a scan made now."""
    await authorize(store, project_id, principal, "read")
    if project_id is not None and not (key and value):
        tag = (await project_scope(store, project_id)).tag
        if tag is None:
            raise ValidationError(f"project {project_id} has no tag policy",
                                  hint='give a key and value, or set its tag_policy to {"key": K, "value": V}')
        key, value = key or tag[0], value or tag[1]
    if not (key and value):
        raise ValidationError("no tag to plan", hint="give a key and a value")
    records = ScanStore(store)
    if inventory is None:
        if scan_id is None and project_id is not None:
            last = await records.last_scan(project_id, finished=True)
            scan_id = last.id if last is not None else None
        if scan_id is not None:
            scan = await records.get_scan(scan_id)
            if scan.project_id != project_id:
                raise ValidationError(f"scan {scan_id} is not of project {project_id}")
            stored = await records.scan_inventory(scan_id)
            if stored is None:
                raise NotFound(f"scan {scan_id} has no inventory", hint="scan the project again")
            inventory = Inventory.model_validate(stored)
        else:
            if data_dir is None:
                raise ValidationError("no scan to plan from", hint="scan the project first")
            outcome = await scan_project(store, project_id, principal=principal, source=source,
                                         data_dir=data_dir, review=False, **aws)
            inventory, scan_id = outcome.result.inventory if outcome.result else None, outcome.scan.id
            assert inventory is not None
    plan = plan_tags(inventory, key, value, vpcs=vpcs, name_pattern=name_pattern, select=select)
    rule = {k: v for k, v in {"vpcs": vpcs, "name_pattern": name_pattern, "select": select}.items() if v}
    rule = rule or {"default": "what sits in the VPCs already tagged for the project"}
    return await records.create_tag_plan(
        project_id, scan_id, key=key, value=value, rule=rule,
        changes=[c.model_dump() for c in plan.changes], already=plan.already, created_by=principal,
        source=source)


async def dry_run_tags(store: Any, plan_id: str, *, principal: str, source: str) -> TagPlanRecord:
    """What the plan would change, per resource (no call to AWS); recorded, and required
    before the plan can be approved."""
    record = await _plan(store, plan_id, principal, "read")
    report = apply_tags(_plan_of(record), dry_run=True)
    return await ScanStore(store).record_dry_run(plan_id, by=principal, source=source, report={
        "would_tag": report.count("would tag"), "outcomes": [o.model_dump() for o in report.outcomes]})


async def approve_tags(store: Any, plan_id: str, *, principal: str, source: str) -> TagPlanRecord:
    """The principal (an approver) approves the dry-run plan: the record carries who and how."""
    await _plan(store, plan_id, principal, "approve")
    return await ScanStore(store).approve_tag_plan(plan_id, approver=principal, source=source)


async def apply_project_tags(store: Any, plan_id: str, *, principal: str, source: str,
                             **aws: Any) -> TagApplication:
    """Tag what the approved plan names (Tagging API batches, per-service fallbacks) and record
    the audit: who approved, who applied, each resource's tags before and after, its result."""
    record = await _plan(store, plan_id, principal, "approve")
    records = ScanStore(store)
    app = await records.begin_application(plan_id, by=principal, source=source)
    plan = _plan_of(record)
    regions = sorted({c.region for c in plan.changes if c.region != GLOBAL}) or ["us-east-1"]
    role_arn, external_id = aws.pop("role_arn", None), aws.pop("external_id", None)
    if record.project_id is not None:
        scope = await project_scope(store, record.project_id)
        role_arn, external_id = role_arn or scope.role_arn, external_id or scope.external_id
    try:
        scanner = Scanner(regions, role_arn=role_arn, external_id=external_id,
                          session_name=session_name_for(record.project_id or "", "tags",
                                                        principal.split(":")[-1]), **aws)
        report = await asyncio.to_thread(apply_tags, plan, scanner, dry_run=False)
        outcomes, calls = [o.model_dump() for o in report.outcomes], report.calls
    except Exception as exc:  # nothing could be tried: every resource is reported as failed
        outcomes = [{"id": c.id, "arn": c.arn, "kind": c.kind, "region": c.region, "status": "failed",
                     "via": "", "error": f"{type(exc).__name__}: {exc}"[:400], "before": c.before,
                     "after": c.before} for c in plan.changes]
        calls = 0
    return await records.finish_application(app.id, outcomes=outcomes, calls=calls)


def next_steps(plan: TagPlanRecord) -> list[str]:
    """What may be done with a plan now: the buttons an edge offers."""
    return {"proposed": ["dry_run"], "dry_run": ["dry_run", "approve"], "approved": ["apply"],
            "partial": ["apply"]}.get(plan.status, [])


# -- replies ---------------------------------------------------------------------------------
def scan_text(scan: Scan, *, limit: int = 8) -> str:
    """A scan record as a short reply (Slack, the CLI)."""
    where = f"project {scan.project_id}" if scan.project_id else "the account"
    head = f"Scan {scan.id} of {where} ({', '.join(scan.regions)}): {scan.status}"
    if scan.status == "running":
        return head + f", asked by {scan.requested_by}"
    if scan.status in ("failed", "interrupted"):
        return head + (f": {scan.error}" if scan.error else "")
    lines = [head + f", {scan.resources} resources ({scan.adopted} to adopt) in {scan.seconds:.1f} s, "
             f"{sum(scan.api_calls.values())} API calls"]
    lines.append("  " + ", ".join(f"{n} {kind}" for kind, n in scan.counts.items()))
    if scan.missing:
        lines.append(f"Not read ({len(scan.missing)}):")
        lines += [f"  - {m.get('text') or m.get('operation')}" for m in scan.missing[:limit]]
    if scan.review:
        verdict = "passed" if scan.review.get("passed") else f"failed ({len(scan.review.get('failing') or [])})"
        lines.append(f"Terraform review ({', '.join(scan.review.get('checks_run') or [])}): {verdict}")
    if scan.findings:
        by: dict[str, int] = {}
        for f in scan.findings:
            by[f["pillar"]] = by.get(f["pillar"], 0) + 1
        lines.append("What exists, by pillar: " + ", ".join(f"{p} {n}" for p, n in sorted(by.items())))
    return "\n".join(lines)


def plan_text(plan: TagPlanRecord, *, limit: int = 10) -> str:
    lines = [f"Tag plan {plan.id}: {len(plan.changes)} resource(s) to tag {plan.key}={plan.value} "
             f"({plan.already} carry it already), {plan.status.replace('_', ' ')}"]
    if plan.approved_by:
        lines[0] += f", approved by {plan.approved_by} via {plan.approved_via}"
    lines += [f"  {c['kind']} {c['id']} ({c['region']}): {c['reason']}" for c in plan.changes[:limit]]
    if len(plan.changes) > limit:
        lines.append(f"  ... and {len(plan.changes) - limit} more")
    steps = next_steps(plan)
    if steps:
        lines.append("Next: " + " or ".join(s.replace("_", " ") for s in steps))
    return "\n".join(lines)


def application_text(app: TagApplication, *, limit: int = 10) -> str:
    tagged = [o for o in app.outcomes if o["status"] == "tagged"]
    failed = [o for o in app.outcomes if o["status"] == "failed"]
    lines = [f"Tags {app.key}={app.value}: {len(tagged)} of {len(app.outcomes)} tagged, {len(failed)} failed "
             f"(plan {app.plan_id}, approved by {app.approved_by}, applied by {app.applied_by})"]
    lines += [f"  failed {o['id']}: {o['error']}" for o in failed[:limit]]
    return "\n".join(lines)


__all__ = [
    "ProjectScan", "ProjectScope", "ScanResult", "application_text", "apply_project_tags", "approve_tags",
    "authorize", "dry_run_tags", "get_scan", "get_tag_plan", "last_scan", "next_steps", "plan_project_tags", "plan_text",
    "project_scope", "scan_project", "scan_text", "scan_to_dir", "summary", "tag_applications", "tag_of",
]
