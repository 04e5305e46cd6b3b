"""The graph's nodes. Each emits its events through the request context, in a fixed order."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from langgraph.runtime import Runtime

from agents.changes import CHEAPER_RE, diff, explain, render, snapshot
from agents.combiner import combine, described, fragment_data
from agents.extractor import named_components
from agents.fixer import check_and_repair, review_checks, with_checkov
from agents.honesty import kept, not_built, readme_section
from agents.messages import t
from agents.naming import default_project
from agents.questions import pending, take_defaults
from agents.requirements import Requirements, apply_answer
from agents.state import AgentState, Design, Plan, RunContext
from agents.text import language
from core import metrics

R = Runtime[RunContext]


async def route(state: AgentState, runtime: R) -> dict[str, Any]:
    run = runtime.context
    request = state.get("request") or {}
    lang = _lang(state, request.get("text"))
    await run.ctx.emit("status", t("status.route", lang), node="route")
    action = request.get("action")
    if action:
        open_q = state.get("pending_question")
        if not open_q or open_q.get("id") != action.get("question_id"):
            return {"route": "refuse", "route_reason": t("err.no_question", lang, question=action.get("question_id"))}
        return {"route": "answer", "route_reason": ""}
    has_design = bool(state.get("gathered_requirements"))
    verdict = await _answer(run.engine.classify(request.get("text"), has_design=has_design, max_chars=run.max_chars))
    if verdict.route == "refuse" and getattr(verdict, "key", "") and lang != "en":
        # the guard's refusal, in the conversation's language
        from agents.guard import localized

        verdict = localized(verdict, lang)
    if verdict.route == "question":
        text = describe_design(state)
        if run.delivery is not None:  # "what changed since the last version?": the branch says
            text = await run.delivery.answer(run.ctx.envelope, request.get("text"), text)
        await run.ctx.emit("done", text)
        return {"route": "question", "route_reason": "", "final_response": text, "messages": [{"role": "assistant", "text": text}]}
    return {"route": verdict.route, "route_reason": verdict.reason}


def _lang(state: AgentState, text: str | None = None) -> str:
    """The language to answer in: the message's own, else the conversation's so far."""
    known = (state.get("gathered_requirements") or {}).get("language")
    return language(text, known) if text else (known or "en")


def route_after_route(state: AgentState) -> str:
    kind = state.get("route")
    if kind == "refuse":
        return "invalid_request"
    if kind == "question":
        return "__end__"
    return "requirement_gatherer"


async def invalid_request(state: AgentState, runtime: R) -> dict[str, Any]:
    reason = state.get("route_reason") or t("err.cannot", _lang(state))
    await runtime.context.ctx.emit("error", reason, refused=True)
    return {"final_response": reason, "messages": [{"role": "assistant", "text": reason}]}


async def requirement_gatherer(state: AgentState, runtime: R) -> dict[str, Any]:
    run = runtime.context
    request = state.get("request") or {}
    await run.ctx.emit("status", t("status.gather", _lang(state, request.get("text"))), node="requirement_gatherer")
    base = None if state.get("route") == "new" else state.get("gathered_requirements")
    req = Requirements.model_validate(base) if base else None
    if request.get("action"):
        action = request["action"]
        req = apply_answer(req or Requirements(), action["question_id"], action["value"])
    else:
        req = await _answer(run.engine.extract(request.get("text") or "", req))
    for qid, value in (request.get("answers") or {}).items():
        req = apply_answer(req, qid, value)
    if req.workload is None:
        text = t("err.no_workload", req.language)
        await run.ctx.emit("error", text)
        return {"final_response": text, "pending_question": None, "gathered_requirements": {}}
    if request.get("non_interactive"):
        req = take_defaults(req)
    ask = pending(req)
    if ask is not None:
        question = ask.question(req)
        await run.ctx.emit("question", question.prompt, question=question.model_dump())
        return {
            "gathered_requirements": req.model_dump(),
            "pending_question": question.model_dump(),
            "messages": [{"role": "assistant", "text": question.prompt}],
        }
    req = _settle(req, run.default_region, run.ctx.envelope.conversation_id)
    return {"gathered_requirements": req.model_dump(), "pending_question": None}


def _settle(req: Requirements, default_region: str, conversation_id: str = "") -> Requirements:
    """Fill what archops never asks about with defaults, each recorded as assumed (the project's
    name from the request, else one of the conversation's own: agents.naming)."""
    out = req.model_copy(deep=True)
    assumed = dict(out.assumed)
    for field, value in (("project", default_project(req, conversation_id)), ("region", default_region), ("environment", "production")):
        if getattr(out, field) is None:
            setattr(out, field, value)
            assumed[field] = value
    out.assumed = assumed
    return out


def route_after_gatherer(state: AgentState) -> str:
    req = state.get("gathered_requirements")
    if state.get("pending_question") or not req or req.get("workload") is None:
        return "__end__"
    return "resource_planner"


async def resource_planner(state: AgentState, runtime: R) -> dict[str, Any]:
    run = runtime.context
    req = Requirements.model_validate(state["gathered_requirements"])
    made = await _answer(run.engine.plan(req))
    plan = made if isinstance(made, Plan) else Plan.model_validate(made)
    titles = ", ".join(item.title for item in plan.items)
    await run.ctx.emit("status", t("status.planned", req.language, count=len(plan.items), levels=len(plan.levels), titles=titles), node="resource_planner")
    await run.ctx.emit("artifact", t("art.plan", req.language), kind="plan", plan=plan.model_dump(exclude_defaults=True), assumed=req.assumed)
    return {"resource_plan": plan.model_dump()}


async def level_executor(state: AgentState, runtime: R) -> dict[str, Any]:
    run = runtime.context
    req = Requirements.model_validate(state["gathered_requirements"])
    plan = Plan.model_validate(state["resource_plan"])
    present = frozenset(plan.ids)
    scripts: dict[str, Any] = {}

    def build(bid: str) -> Any:
        made = run.engine.build(bid, req, present)
        # the typed fragment, kept as data that rebuilds it (the checkpoint holds plain data);
        # a model-written part arrives as its reviewed text
        return made if inspect.isawaitable(made) else fragment_data(made)

    async def one(bid: str) -> dict[str, Any]:
        return await _answer(await asyncio.to_thread(build, bid))  # type: ignore[no-any-return]

    for number, level in enumerate(plan.levels, start=1):
        parts = await asyncio.gather(*(one(bid) for bid in level))
        scripts.update(zip(level, parts, strict=True))
        await run.ctx.emit("status", t("status.level", req.language, number=number, levels=len(plan.levels), ids=", ".join(level)), node="level_executor")
    items = described(plan, scripts).items  # what each part says it does in this design
    # a part an engine could not build clean (model-written Terraform) leaves the plan, said why
    dropped = [bid for bid, part in scripts.items() if part.get("not_built")]
    if not dropped and items == plan.items:
        return {"scripts": scripts}
    kept_plan = plan.model_copy(update={
        "items": [item for item in items if item.id not in dropped],
        "levels": [kept for level in plan.levels if (kept := [b for b in level if b not in dropped])],
        "not_built": [*plan.not_built, *(list(entry) for bid in dropped for entry in scripts[bid]["not_built"])],
    })
    return {"scripts": {k: v for k, v in scripts.items() if k not in dropped}, "resource_plan": kept_plan.model_dump()}


async def _answer(value: Any) -> Any:
    """An engine's answer: a value, or an awaitable of it (the model engine asks a model)."""
    return await value if inspect.isawaitable(value) else value


async def resource_combiner(state: AgentState, runtime: R) -> dict[str, Any]:
    req = Requirements.model_validate(state["gathered_requirements"])
    plan = Plan.model_validate(state["resource_plan"])
    design: Design = await runtime.context.offload(combine, req, plan, state["scripts"])
    await runtime.context.ctx.emit("status", t("status.combined", req.language, count=len(design.files)), node="resource_combiner")
    return {"final_script": design.files, "diagram": design.diagram, "design_required": design.required}


async def terraform_fixer(state: AgentState, runtime: R) -> dict[str, Any]:
    run = runtime.context
    req = Requirements.model_validate(state["gathered_requirements"])
    await run.ctx.emit("status", t("status.check", req.language), node="terraform_fixer")
    files, report = await review(run, dict(state["final_script"]))
    metrics.observe_review(report.get("timings") or {})  # the worker's /metrics (the review ran in a pool)
    version = int(state.get("design_version") or 0) + 1
    plan = state["resource_plan"]
    missing = not_built(req, plan, files, report.get("cost"))
    # what the model engine planned but could not make clean
    missing += [(what, why) for what, why in plan.get("not_built", []) if (what, why) not in missing]
    held = kept(req, plan)
    files = _readme_not_built(files, missing, req.language, held)
    after = snapshot(req, plan, files, report.get("cost"))
    changes, change_text = _changes(state, req, after, version)
    await run.ctx.emit(
        "artifact",
        t("art.module", req.language),
        kind="module",
        files=files,
        diagram=state.get("diagram"),
        plan=state["resource_plan"],
        findings=report["findings"],
        repairs=report["repairs"],
        cost=report.get("cost"),
        assumed=req.assumed,
        version=version,
        not_built=[{"what": what, "why": why} for what, why in missing],
        kept=[{"what": what, "why": why} for what, why in held],
        changes=changes,
        language=req.language,
    )
    summary = summarise(req, plan, report, missing, changes=change_text, held=held)
    summary += before_apply(req, state.get("design_required") or {})
    done: dict[str, Any] = {}
    if run.delivery is not None:  # the design reaches its repository as a pull request
        pull, line = await run.delivery.deliver(run.ctx, state, req.model_dump(), files, report,
                                                missing, version)
        summary = f"{summary}\n{line}"
        done = {"pull_request_url": pull["url"]} if pull.get("url") else {}
    await run.ctx.emit("done", summary, passed=report["passed"], **done)
    return {
        "final_script": files,
        "terraform_validated": report["passed"],
        "validation_output": report,
        "final_response": summary,
        "design_version": version,
        "design_snapshot": after,
        "messages": [{"role": "assistant", "text": summary}],
    }


def _changes(state: AgentState, req: Requirements, after: dict[str, Any], version: int) -> tuple[dict[str, Any] | None, str]:
    """The change list of a follow-up against the conversation's previous design (none for a
    conversation's first design or a new one), with why what the message named did not change."""
    before = state.get("design_snapshot")
    if not before or state.get("route") == "new":
        return None, ""
    changes = diff(before, after)
    said = (state.get("request") or {}).get("text") or ""
    notes = explain(changes, before, req, named_components(said) if said else set(), bool(CHEAPER_RE.search(said)))
    changes["notes"] = notes
    return changes, render(changes, notes, req.language, version)


def before_apply(req: Requirements, required: dict[str, str]) -> str:
    """What the team sets before apply (variables with no default), for the reply."""
    if not required:
        return ""
    items = "; ".join(f"`{name}` ({why})" for name, why in required.items())
    return "\n" + t("sum.before_apply", req.language, items=items)


async def review(run: RunContext, files: dict[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    """The review off the event loop; with a batched checkov, the review's other checks first
    and checkov together with the other requests' modules (one checkov start-up for many)."""
    every = set(review_checks())
    wanted = every if run.review_checks is None else set(run.review_checks)
    if run.checkov is None or "checkov" not in wanted or "checkov" not in every:
        return await run.offload(check_and_repair, files, run.fix_rounds, run.review_checks)  # type: ignore[no-any-return]
    own = wanted - {"checkov"}
    fixed, report = await run.offload(check_and_repair, files, run.fix_rounds, own)
    if report["passed"]:
        merged = with_checkov(report, await run.checkov(fixed))
        if merged is not None:
            return fixed, merged
    # something fails: the whole review with its repair rounds, as without batching
    return await run.offload(check_and_repair, files, run.fix_rounds, run.review_checks)  # type: ignore[no-any-return]


def summarise(req: Requirements, plan: dict[str, Any], report: dict[str, Any], missing: list[tuple[str, str]] | None = None,
              *, changes: str = "", held: list[tuple[str, str]] | None = None) -> str:
    """The reply, in the conversation's language, from the final module: what was built, the
    review, the cost, what a follow-up changed, and under "Not built" each thing the request
    named that it lacks (never "All checks passed" alone while that list is not empty)."""
    lang = req.language
    open_findings = [f for f in report["findings"] if not f.get("skip_reason")]
    skipped = len(report["findings"]) - len(open_findings)
    # failing as the review counts it: every open finding but a notice (core.terraform.findings)
    failing = [f for f in open_findings
               if str(f.get("severity", "")).lower() in {"error", "critical", "high", "medium", "low"}]
    kind = t(f"sum.kind.{req.workload}" if req.workload and req.workload != "custom" else "sum.kind.infrastructure", lang)
    environment = t(f"env.{req.environment}", lang) if req.environment else req.environment
    head = t("sum.head", lang, kind=kind, project=req.project, environment=environment, region=req.region, count=len(plan["items"]))
    if report["passed"]:
        check = t("sum.passed_partial" if missing else "sum.passed", lang)
    else:
        check = t("sum.findings", lang, open=len(open_findings), failing=len(failing))
    check += t("sum.skips", lang, skipped=skipped) if skipped else t("sum.end", lang)
    if report.get("plan") and report["passed"]:
        check += t("sum.plan", lang, plan=f"{report['plan'][0].lower()}{report['plan'][1:]}")
    cost = report.get("cost")
    if cost and cost.get("monthly_total") is not None:
        check += t("sum.cost", lang, total=f"{cost['monthly_total']:,.0f}")
    assumed = ""
    if req.assumed:
        assumed = t("sum.assumed", lang, items=", ".join(f"{_field(k, lang)}={v}" for k, v in sorted(req.assumed.items())))
    # "Not built" right after the review's verdict (a front end that shortens a long reply keeps
    # it), then what was kept, then a follow-up's change list
    gaps = ""
    for heading, rows in ((t("sum.not_built", lang), missing or []), (t("sum.kept", lang), held or [])):
        if rows:
            gaps += "\n" + "\n".join([heading, *(t("sum.not_built.item", lang, what=w, why=y) for w, y in rows)])
    listed = f"\n{changes}" if changes else ""
    return f"{head} {check}{assumed}{uploads_note(req)}{gaps}{listed}"


def _readme_not_built(files: dict[str, str], missing: list[tuple[str, str]], lang: str,
                      held: list[tuple[str, str]] | None = None) -> dict[str, str]:
    """The module's README says what was not built (and what was kept), as the reply does."""
    section = readme_section(missing, lang, held)
    if not section or "README.md" not in files:
        return files
    return {**files, "README.md": files["README.md"].rstrip("\n") + "\n\n" + section}


def _field(name: str, lang: str) -> str:
    """A requirement's name as the summary says it (``region``, ``리전``)."""
    from agents.messages import has

    return t(f"field.{name}", lang) if lang != "en" and has(f"field.{name}") else name


def uploads_note(req: Requirements) -> str:
    """What the user must know about the files to upload: names in the module's folder."""
    if not req.uploads:
        return ""
    lang = req.language
    note = t("sum.uploads", lang, names=", ".join(req.uploads))
    renamed = [t("sum.uploads.renamed", lang, path=path, name=name) for name, path in sorted(req.upload_paths.items())
               if name in req.uploads]
    return note + (f" ({'; '.join(renamed)})." if renamed else ".")


def describe_design(state: AgentState) -> str:
    req = Requirements.model_validate(state.get("gathered_requirements") or {})
    plan = state.get("resource_plan") or {"items": []}
    parts = [f"{item['title']}: {item['why']}" for item in plan["items"]]
    if not parts:
        return t("design.none", req.language)
    return t("design.current", req.language, project=req.project, environment=req.environment, region=req.region) + "\n- " + "\n- ".join(parts)


