"""What archops records about a project's AWS account: who may act on it, its scans, its tag
plans and their audit trail.

    records = ScanStore(store)                       # beside the Store, on its engine
    scan, resumed = await records.start_scan("acme", regions=[...], requested_by="local", source="cli")
    await records.finish_scan(scan.id, "done", summary={...})
    plan = await records.create_tag_plan("acme", scan.id, key="Project", value="acme", ...)
    await records.record_dry_run(plan.id, by="local", source="cli", report={...})
    await records.approve_tag_plan(plan.id, approver="slack:T1:U1", source="slack")
    app = await records.begin_application(plan.id, by="slack:T1:U1", source="slack")
    await records.finish_application(app.id, outcomes=[...], calls=3)

A tag plan moves ``proposed -> dry_run -> approved -> applying -> applied | partial``; each
step checks the one before (:class:`~core.errors.Conflict` otherwise), so nothing is applied
that was not dry-run and approved, and two applies of one plan never run at once. A scan is
``running`` while its runner beats its heartbeat; a running scan whose heartbeat stopped (its
process died) is interrupted, and the next scan of the project with the same regions resumes it
from its checkpoint instead of starting over.

Nothing secret is stored: tag keys and values that look like credentials are refused, error
text goes through :mod:`core.redaction`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from core.errors import Conflict, NotFound, ValidationError
from core.redaction import redact, redact_data
from core.store.models import Base, Timestamps, UTCDateTime, utcnow

ScanStatus = Literal["running", "done", "partial", "failed", "interrupted"]
SCAN_STATUSES: tuple[str, ...] = get_args(ScanStatus)
PlanStatus = Literal["proposed", "dry_run", "approved", "applying", "applied", "partial"]
PLAN_STATUSES: tuple[str, ...] = get_args(PlanStatus)
ApplicationStatus = Literal["running", "done", "partial", "failed"]
Role = Literal["viewer", "approver"]
ROLES: tuple[str, ...] = get_args(Role)
# the installation's owner (the CLI token, the `archops up` sign-in): every project is theirs
OWNER = "local"
# a running scan whose heartbeat is older than this was interrupted (its process is gone)
STALE_AFTER_S = 60.0
# a checkpoint older than this is not resumed: what it holds is no longer the account
RESUME_WITHIN_S = 3600.0
# an apply that has not finished in this long died with its process: it may be taken over
APPLY_STALE_AFTER_S = 600.0
MAX_TEXT = 4000


def new_record_id(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(8)}"


class ProjectMember(Timestamps, Base):
    """Who may see a project's account (``viewer``) and approve changes to it (``approver``).

    ``principal`` is a principal id as the edges name them: ``slack:<team>:<user>`` (Sign in
    with Slack on the web, a Slack user in a channel), ``local`` (the installation's owner, who
    may act on every project without being listed)."""

    __tablename__ = "project_members"

    project_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    added_by: Mapped[str] = mapped_column(String(200), nullable=False)


class Scan(Timestamps, Base):
    """One scan of an account: what was asked, what was found, what could not be read."""

    __tablename__ = "scans"
    __table_args__ = (Index("ix_scans_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(100), ForeignKey("projects.id"))
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    regions: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    role_arn: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    resources: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    adopted: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, nullable=False)
    # what could not be read and the IAM action that fixes it (scanner.models.Missing)
    missing: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    # what exists, judged by the review's policy rules, by Well-Architected pillar
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    api_calls: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, nullable=False)
    throttled: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    seconds: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    out_dir: Mapped[str | None] = mapped_column(String(1000))
    checkpoint: Mapped[str | None] = mapped_column(String(1000))
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # large: loaded only when asked for (ScanStore.scan_diagram / scan_inventory)
    diagram: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSON))
    inventory: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSON))


class TagPlanRecord(Timestamps, Base):
    """A proposed tagging of a project's resources and where it stands (dry run, approval)."""

    __tablename__ = "tag_plans"
    __table_args__ = (Index("ix_tag_plans_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(100), ForeignKey("projects.id"))
    scan_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("scans.id"))
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    value: Mapped[str] = mapped_column(String(256), nullable=False)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    # [{id, arn, kind, region, reason, before, after}] (scanner.tags.TagChange)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    already: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    dry_run_by: Mapped[str | None] = mapped_column(String(200))
    dry_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dry_run: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_via: Mapped[str | None] = mapped_column(String(20))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TagApplication(Timestamps, Base):
    """The audit record of one apply of a tag plan: who approved it, who applied it, and each
    resource's tags before and after with what became of it."""

    __tablename__ = "tag_applications"
    __table_args__ = (Index("ix_tag_applications_plan_created", "plan_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40), ForeignKey("tag_plans.id"), nullable=False)
    project_id: Mapped[str | None] = mapped_column(String(100), ForeignKey("projects.id"))
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    value: Mapped[str] = mapped_column(String(256), nullable=False)
    approved_by: Mapped[str] = mapped_column(String(200), nullable=False)
    approved_via: Mapped[str] = mapped_column(String(20), nullable=False)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    applied_by: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    # [{id, arn, kind, region, status, via, error, before, after}]
    outcomes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    calls: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def check_tag(key: str, value: str) -> tuple[str, str]:
    """A tag AWS accepts on every service, and no credential: say which rule it breaks."""
    if not isinstance(key, str) or not isinstance(value, str):
        raise ValidationError("a tag key and value are text")
    if not 1 <= len(key) <= 128:
        raise ValidationError(f"tag key {key[:40]!r} must be 1 to 128 characters")
    if len(value) > 256:
        raise ValidationError("a tag value is at most 256 characters")
    if key.lower().startswith("aws:"):
        raise ValidationError(f"tag key {key!r} uses the reserved prefix 'aws:'")
    allowed = set(" _.:/=+-@")
    for label, part in (("key", key), ("value", value)):
        bad = sorted({c for c in part if not (c.isalnum() or c in allowed)})
        if bad:
            raise ValidationError(f"tag {label} {part[:40]!r} has characters AWS refuses: {''.join(bad)!r}",
                                  hint="letters, digits, spaces and _ . : / = + - @")
        if redact(part) != part:
            raise ValidationError(f"the tag {label} looks like a credential; it is not stored")
    return key, value


def _text(value: str | None) -> str | None:
    return redact(value)[:MAX_TEXT] if value else value


class ScanStore:
    """Scans, tag plans, applications and project members, on a :class:`~core.store.Store`'s
    engine (the same transactions and SQLite write queue)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._sessions = store._sessions
        self._writing = store._writing
        self._insert = store._insert
        self._backend = store.db.backend

    async def _begin_write(self, session: Any, project_id: str | None = None) -> None:
        """Serialise the writers of one project's records: a row lock on PostgreSQL; on SQLite
        the transaction's first statement is a write, which takes the database's write lock at
        once (a read lock upgraded later could fail instead of waiting)."""
        if self._backend == "postgresql":
            if project_id is not None:
                await session.execute(text("SELECT id FROM projects WHERE id = :p FOR UPDATE"),
                                      {"p": project_id})
        else:
            await session.execute(update(Scan).where(text("1 = 0")).values(status=Scan.status))

    # -- members ------------------------------------------------------------------------------
    async def set_member(self, project_id: str, principal: str, role: str, *, added_by: str) -> None:
        if role not in ROLES:
            raise ValidationError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not principal or len(principal) > 200:
            raise ValidationError("a principal id is 1 to 200 characters")
        await self.store.get_project(project_id)
        now = utcnow()
        stmt = self._insert(ProjectMember).values(project_id=project_id, principal=principal, role=role,
                                                  added_by=added_by, created_at=now, updated_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=[ProjectMember.project_id, ProjectMember.principal],
                                          set_={"role": role, "added_by": added_by, "updated_at": now})
        async with self._writing() as session:
            await session.execute(stmt)

    async def members(self, project_id: str) -> dict[str, str]:
        async with self._sessions() as session:
            rows = await session.execute(select(ProjectMember.principal, ProjectMember.role)
                                         .where(ProjectMember.project_id == project_id))
            return {p: r for p, r in rows.all()}

    async def role_of(self, project_id: str, principal: str) -> str | None:
        """``approver`` for the installation's owner and approvers, ``viewer``, or None."""
        if principal == OWNER:
            return "approver"
        async with self._sessions() as session:
            member = await session.get(ProjectMember, (project_id, principal))
        return member.role if member is not None else None

    # -- scans --------------------------------------------------------------------------------
    async def start_scan(
        self, project_id: str | None, *, regions: list[str], requested_by: str, source: str,
        role_arn: str | None = None, resume: bool = True, stale_after_s: float = STALE_AFTER_S,
        resume_within_s: float = RESUME_WITHIN_S,
    ) -> tuple[Scan, bool]:
        """A new running scan, or the project's interrupted (or partial) one taken over (True)
        so that it resumes from its checkpoint: the same regions and role, left less than
        ``resume_within_s`` ago (older answers would be stale). Conflict while another scan of
        the project is running."""
        if not regions:
            raise ValidationError("a scan needs at least one region")
        if project_id is not None:
            await self.store.get_project(project_id)
        now = utcnow()
        async with self._writing() as session:
            await self._begin_write(session, project_id)
            latest = None
            if project_id is not None:
                latest = (await session.execute(
                    select(Scan).where(Scan.project_id == project_id)
                    .order_by(Scan.created_at.desc(), Scan.id).limit(1))).scalar_one_or_none()
            if latest is not None and latest.status == "running":
                if now - latest.heartbeat_at < timedelta(seconds=stale_after_s):
                    raise Conflict(f"a scan of {project_id} is running ({latest.id}, asked by "
                                   f"{latest.requested_by} at {latest.created_at:%H:%M:%S} UTC)",
                                   hint="wait for it: its result is posted when it ends")
                latest.status = "interrupted"
            if (resume and latest is not None and latest.status in ("interrupted", "partial")
                    and latest.regions == regions and latest.role_arn == role_arn and latest.checkpoint
                    and now - latest.updated_at < timedelta(seconds=resume_within_s)):
                latest.status, latest.heartbeat_at, latest.error = "running", now, None
                latest.attempts += 1
                latest.requested_by, latest.source = requested_by, source
                latest.finished_at = None
                await session.flush()
                scan, resumed = latest, True
            else:
                scan = Scan(id=new_record_id("scan"), project_id=project_id, requested_by=requested_by,
                            source=source, regions=list(regions), role_arn=role_arn, status="running",
                            heartbeat_at=now, counts={}, missing=[], findings=[], api_calls={},
                            created_at=now, updated_at=now)
                session.add(scan)
                resumed = False
        return await self.get_scan(scan.id), resumed

    async def set_scan_files(self, scan_id: str, *, checkpoint: str | None, out_dir: str | None) -> None:
        async with self._writing() as session:
            await session.execute(update(Scan).where(Scan.id == scan_id).values(
                checkpoint=checkpoint, out_dir=out_dir, updated_at=utcnow()))

    async def heartbeat(self, scan_id: str) -> None:
        async with self._writing() as session:
            await session.execute(update(Scan).where(Scan.id == scan_id, Scan.status == "running")
                                  .values(heartbeat_at=utcnow()))

    async def finish_scan(self, scan_id: str, status: str, *, summary: dict[str, Any] | None = None,
                          diagram: dict[str, Any] | None = None, inventory: dict[str, Any] | None = None,
                          error: str | None = None) -> Scan:
        """Record what a scan found (``summary``: resources, adopted, counts, missing, findings,
        review, api_calls, throttled, seconds) and its final status."""
        if status not in SCAN_STATUSES or status == "running":
            raise ValidationError(f"a scan finishes as one of done, partial, failed, interrupted, not {status!r}")
        fields = {k: v for k, v in (summary or {}).items() if k in {
            "resources", "adopted", "counts", "missing", "findings", "review", "api_calls", "throttled",
            "seconds"}}
        if "missing" in fields:
            fields["missing"] = redact_data(fields["missing"])
        now = utcnow()
        values: dict[str, Any] = {**fields, "status": status, "error": _text(error), "updated_at": now,
                                  "finished_at": now if status != "interrupted" else None}
        if diagram is not None:
            values["diagram"] = diagram
        if inventory is not None:
            values["inventory"] = inventory
        async with self._writing() as session:
            result = await session.execute(update(Scan).where(Scan.id == scan_id).values(**values))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"no scan {scan_id!r}")
        return await self.get_scan(scan_id)

    async def get_scan(self, scan_id: str) -> Scan:
        async with self._sessions() as session:
            scan = await session.get(Scan, scan_id)
        if scan is None:
            raise NotFound(f"no scan {scan_id!r}")
        return scan

    async def last_scan(self, project_id: str, *, finished: bool = False) -> Scan | None:
        """The project's newest scan (with ``finished``, the newest that ended with a result)."""
        query = select(Scan).where(Scan.project_id == project_id)
        if finished:
            query = query.where(Scan.status.in_(("done", "partial")))
        async with self._sessions() as session:
            return (await session.execute(query.order_by(Scan.created_at.desc(), Scan.id).limit(1))
                    ).scalar_one_or_none()

    async def list_scans(self, project_id: str, limit: int = 20) -> list[Scan]:
        if not 1 <= limit <= 1000:
            raise ValidationError(f"limit must be between 1 and 1000, not {limit}")
        async with self._sessions() as session:
            rows = await session.execute(select(Scan).where(Scan.project_id == project_id)
                                         .order_by(Scan.created_at.desc(), Scan.id).limit(limit))
            return list(rows.scalars())

    async def _column(self, scan_id: str, column: Any) -> Any:
        async with self._sessions() as session:
            row = (await session.execute(select(Scan.id, column).where(Scan.id == scan_id))).one_or_none()
        if row is None:
            raise NotFound(f"no scan {scan_id!r}")
        return row[1]

    async def scan_diagram(self, scan_id: str) -> dict[str, Any] | None:
        return await self._column(scan_id, Scan.diagram)  # type: ignore[no-any-return]

    async def scan_inventory(self, scan_id: str) -> dict[str, Any] | None:
        return await self._column(scan_id, Scan.inventory)  # type: ignore[no-any-return]

    # -- tag plans ----------------------------------------------------------------------------
    async def create_tag_plan(
        self, project_id: str | None, scan_id: str | None, *, key: str, value: str, rule: dict[str, Any],
        changes: list[dict[str, Any]], already: int, created_by: str, source: str,
    ) -> TagPlanRecord:
        check_tag(key, value)
        now = utcnow()
        plan = TagPlanRecord(id=new_record_id("tagplan"), project_id=project_id, scan_id=scan_id, key=key,
                             value=value, rule=rule, changes=changes, already=already, status="proposed",
                             created_by=created_by, source=source, created_at=now, updated_at=now)
        async with self._writing() as session:
            session.add(plan)
        return await self.get_tag_plan(plan.id)

    async def get_tag_plan(self, plan_id: str) -> TagPlanRecord:
        async with self._sessions() as session:
            plan = await session.get(TagPlanRecord, plan_id)
        if plan is None:
            raise NotFound(f"no tag plan {plan_id!r}", hint="`archops tags plan` makes one")
        return plan

    async def list_tag_plans(self, project_id: str, limit: int = 20) -> list[TagPlanRecord]:
        async with self._sessions() as session:
            rows = await session.execute(select(TagPlanRecord).where(TagPlanRecord.project_id == project_id)
                                         .order_by(TagPlanRecord.created_at.desc(), TagPlanRecord.id)
                                         .limit(limit))
            return list(rows.scalars())

    async def _move(self, plan_id: str, allowed: tuple[str, ...], values: dict[str, Any],
                    refusal: str, hint: str) -> TagPlanRecord:
        """Compare-and-set the plan's status: exactly one of two racing moves wins."""
        async with self._writing() as session:
            result = await session.execute(update(TagPlanRecord).where(
                TagPlanRecord.id == plan_id, TagPlanRecord.status.in_(allowed)).values(
                **values, updated_at=utcnow()))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            plan = await self.get_tag_plan(plan_id)  # NotFound when there is none
            raise Conflict(f"tag plan {plan_id} is {plan.status.replace('_', ' ')}: {refusal}", hint=hint)
        return await self.get_tag_plan(plan_id)

    async def record_dry_run(self, plan_id: str, *, by: str, source: str, report: dict[str, Any]) -> TagPlanRecord:
        return await self._move(plan_id, ("proposed", "dry_run"), {
            "status": "dry_run", "dry_run_by": by, "dry_run_at": utcnow(), "dry_run": redact_data(report)},
            "only a proposed plan is dry-run", "make a new plan to change it")

    async def approve_tag_plan(self, plan_id: str, *, approver: str, source: str) -> TagPlanRecord:
        return await self._move(plan_id, ("dry_run",), {
            "status": "approved", "approved_by": approver, "approved_via": source, "approved_at": utcnow()},
            "a plan is approved after its dry run, once", "dry-run it first")

    async def begin_application(self, plan_id: str, *, by: str, source: str,
                                stale_after_s: float = APPLY_STALE_AFTER_S) -> TagApplication:
        """Move an approved (or partly applied) plan to ``applying`` and open its audit record.
        An apply whose process died (``applying`` for longer than ``stale_after_s``) is taken
        over: tagging again with the same value changes nothing that was already tagged."""
        now = utcnow()
        async with self._writing() as session:
            await self._begin_write(session)
            plan = (await session.execute(select(TagPlanRecord).where(TagPlanRecord.id == plan_id)
                                          .with_for_update())).scalar_one_or_none()
            if plan is None:
                raise NotFound(f"no tag plan {plan_id!r}")
            stale = plan.status == "applying" and now - plan.updated_at > timedelta(seconds=stale_after_s)
            if plan.status not in ("approved", "partial") and not stale:
                hint = {"proposed": "dry-run it, then approve it", "dry_run": "approve it first",
                        "applying": "it is being applied now", "applied": "it is applied"}[plan.status]
                raise Conflict(f"tag plan {plan_id} is {plan.status.replace('_', ' ')}: it cannot be applied now",
                               hint=hint)
            if stale:
                await session.execute(update(TagApplication).where(
                    TagApplication.plan_id == plan_id, TagApplication.status == "running").values(
                    status="failed", finished_at=now, updated_at=now))
            assert plan.approved_by and plan.approved_via and plan.approved_at
            app = TagApplication(id=new_record_id("tagapply"), plan_id=plan_id, project_id=plan.project_id,
                                 key=plan.key, value=plan.value, approved_by=plan.approved_by,
                                 approved_via=plan.approved_via, approved_at=plan.approved_at, applied_by=by,
                                 source=source, status="running", outcomes=[], calls=0,
                                 created_at=now, updated_at=now)
            session.add(app)
            plan.status, plan.updated_at = "applying", now
        return await self.get_application(app.id)

    async def finish_application(self, application_id: str, *, outcomes: list[dict[str, Any]],
                                 calls: int) -> TagApplication:
        failed = sum(1 for o in outcomes if o.get("status") == "failed")
        status = "done" if not failed else ("failed" if failed == len(outcomes) else "partial")
        now = utcnow()
        clean = [{**o, "error": _text(o.get("error"))} for o in outcomes]
        async with self._writing() as session:
            await self._begin_write(session)
            app = await session.get(TagApplication, application_id)
            if app is None:
                raise NotFound(f"no tag application {application_id!r}")
            app.status, app.outcomes, app.calls, app.finished_at, app.updated_at = status, clean, calls, now, now
            await session.execute(update(TagPlanRecord).where(TagPlanRecord.id == app.plan_id).values(
                status="applied" if status == "done" else "partial", updated_at=now))
        return await self.get_application(application_id)

    async def get_application(self, application_id: str) -> TagApplication:
        async with self._sessions() as session:
            app = await session.get(TagApplication, application_id)
        if app is None:
            raise NotFound(f"no tag application {application_id!r}")
        return app

    async def applications(self, plan_id: str) -> list[TagApplication]:
        async with self._sessions() as session:
            rows = await session.execute(select(TagApplication).where(TagApplication.plan_id == plan_id)
                                         .order_by(TagApplication.created_at, TagApplication.id))
            return list(rows.scalars())


__all__ = [
    "OWNER", "PLAN_STATUSES", "ROLES", "SCAN_STATUSES", "ProjectMember", "Scan", "ScanStore",
    "TagApplication", "TagPlanRecord", "check_tag", "new_record_id",
]
