"""The graph's nodes. Each emits its events through the request context, in a fixed order."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from agents.combiner import combine, render_fragment
from agents.fixer import check_and_repair, review_checks, with_checkov
from agents.questions import pending, take_defaults
from agents.requirements import Requirements, apply_answer
from agents.state import AgentState, RunContext

R = Runtime[RunContext]


async def route(state: AgentState, runtime: R) -> dict[str, Any]:
    run = runtime.context
    request = state.get("request") or {}
    await run.ctx.emit("status", "Reading the request", node="route")
    action = request.get("action")
    if action:
        open_q = state.get("pending_question")
        if not open_q or open_q.get("id") != action.get("question_id"):
            return {"route": "refuse", "route_reason": f"There is no open question {action.get('question_id')!r} in this conversation; send a new request instead."}
        return {"route": "answer", "route_reason": ""}
    has_design = bool(state.get("gathered_requirements"))
    verdict = run.engine.classify(request.get("text"), has_design=has_design, max_chars=run.max_chars)
    if verdict.route == "question":
        text = describe_design(state)
        await run.ctx.emit("done", text)
        return {"route": "question", "route_reason": "", "final_response": text, "messages": [{"role": "assistant", "text": text}]}
    return {"route": verdict.route, "route_reason": verdict.reason}


def route_after_route(state: AgentState) -> str:
    kind = state.get("route")
    if kind == "refuse":
        return "invalid_request"
    if kind == "question":
        return "__end__"
    return "requirement_gatherer"


async def invalid_request(state: AgentState, runtime: R) -> dict[str, Any]:
    reason = state.get("route_reason") or "archops cannot do that."
    await runtime.context.ctx.emit("error", reason, refused=True)
    return {"final_response": reason, "messages": [{"role": "assistant", "text": reason}]}


async def requirement_gatherer(state: AgentState, runtime: R) -> dict[str, Any]:
    run = runtime.context
    request = state.get("request") or {}
    await run.ctx.emit("status", "Gathering requirements", node="requirement_gatherer")
    base = None if state.get("route") == "new" else state.get("gathered_requirements")
    req = Requirements.model_validate(base) if base else None
    if request.get("action"):
        action = request["action"]
        req = apply_answer(req or Requirements(), action["question_id"], action["value"])
    else:
        req = run.engine.extract(request.get("text") or "", req)
    for qid, value in (request.get("answers") or {}).items():
        req = apply_answer(req, qid, value)
    if req.workload is None:
        text = (
            "archops could not find infrastructure to build in that request. Describe what you "
            "want to run, e.g. 'a SaaS web app with Postgres', 'a static website' or 'an API on Lambda'."
        )
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
    req = _settle(req, run.default_region)
    return {"gathered_requirements": req.model_dump(), "pending_question": None}


def _settle(req: Requirements, default_region: str) -> Requirements:
    """Fill what archops never asks about with defaults, each recorded as assumed."""
    out = req.model_copy(deep=True)
    assumed = dict(out.assumed)
    for field, value in (("project", "app"), ("region", default_region), ("environment", "production")):
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
    plan = run.engine.plan(req)
    titles = ", ".join(item["title"] for item in plan["items"])
    await run.ctx.emit("status", f"Planned {len(plan['items'])} blueprints in {len(plan['levels'])} levels: {titles}", node="resource_planner")
    await run.ctx.emit("artifact", "Resource plan", kind="plan", plan=plan, assumed=req.assumed)
    return {"resource_plan": plan}


async def level_executor(state: AgentState, runtime: R) -> dict[str, Any]:
    run = runtime.context
    req = Requirements.model_validate(state["gathered_requirements"])
    plan = state["resource_plan"]
    present = frozenset(item["id"] for item in plan["items"])
    scripts: dict[str, Any] = {}

    def build(bid: str) -> dict[str, Any]:
        return render_fragment(run.engine.build(bid, req, present))

    for number, level in enumerate(plan["levels"], start=1):
        parts = await asyncio.gather(*(asyncio.to_thread(build, bid) for bid in level))
        scripts.update(zip(level, parts, strict=True))
        await run.ctx.emit("status", f"Level {number}/{len(plan['levels'])}: {', '.join(level)}", node="level_executor")
    return {"scripts": scripts}


async def resource_combiner(state: AgentState, runtime: R) -> dict[str, Any]:
    req = Requirements.model_validate(state["gathered_requirements"])
    combined = await runtime.context.offload(combine, req, state["resource_plan"], state["scripts"])
    await runtime.context.ctx.emit("status", f"Combined {len(combined['files'])} files", node="resource_combiner")
    return {"final_script": combined["files"], "diagram": combined["diagram"]}


async def terraform_fixer(state: AgentState, runtime: R) -> dict[str, Any]:
    run = runtime.context
    await run.ctx.emit("status", "Checking the module", node="terraform_fixer")
    files, report = await review(run, dict(state["final_script"]))
    req = Requirements.model_validate(state["gathered_requirements"])
    version = int(state.get("design_version") or 0) + 1
    await run.ctx.emit(
        "artifact",
        "Terraform module",
        kind="module",
        files=files,
        diagram=state.get("diagram"),
        plan=state["resource_plan"],
        findings=report["findings"],
        repairs=report["repairs"],
        cost=report.get("cost"),
        assumed=req.assumed,
        version=version,
    )
    summary = summarise(req, state["resource_plan"], report)
    await run.ctx.emit("done", summary, passed=report["passed"])
    return {
        "final_script": files,
        "terraform_validated": report["passed"],
        "validation_output": report,
        "final_response": summary,
        "design_version": version,
        "messages": [{"role": "assistant", "text": summary}],
    }


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


def summarise(req: Requirements, plan: dict[str, Any], report: dict[str, Any]) -> str:
    open_findings = [f for f in report["findings"] if not f.get("skip_reason")]
    skipped = len(report["findings"]) - len(open_findings)
    failing = [f for f in open_findings if str(f.get("severity", "")).lower() in {"error", "high", "critical"}]
    kind = req.workload.replace("_", " ") if req.workload and req.workload != "custom" else "infrastructure"
    head = f"Designed {kind} for {req.project} ({req.environment}, {req.region}): {len(plan['items'])} blueprints."
    if report["passed"]:
        check = "All checks passed"
    else:
        check = f"{len(open_findings)} findings remain ({len(failing)} failing)"
    check += f", {skipped} documented skips." if skipped else "."
    if report.get("plan") and report["passed"]:
        check += f" Terraform {report['plan'][0].lower()}{report['plan'][1:]}"
    cost = report.get("cost")
    if cost and cost.get("monthly_total") is not None:
        check += f" Estimated ≈ ${cost['monthly_total']:,.0f}/month before usage-based charges."
    assumed = ""
    if req.assumed:
        assumed = " Assumed: " + ", ".join(f"{k}={v}" for k, v in sorted(req.assumed.items())) + "."
    return f"{head} {check}{assumed}{uploads_note(req)}"


def uploads_note(req: Requirements) -> str:
    """What the user must know about the files to upload: names in the module's folder."""
    if not req.uploads:
        return ""
    note = (f" Files to upload: {', '.join(req.uploads)}. Put them in the module's folder, next to "
            "the .tf files: archops' Terraform reads files only from inside the module, never a path")
    renamed = [f"{path} is taken as {name} in the module's folder" for name, path in sorted(req.upload_paths.items())
               if name in req.uploads]
    return note + (f" ({'; '.join(renamed)})." if renamed else ".")


def describe_design(state: AgentState) -> str:
    req = Requirements.model_validate(state.get("gathered_requirements") or {})
    plan = state.get("resource_plan") or {"items": []}
    parts = [f"{item['title']}: {item['why']}" for item in plan["items"]]
    if not parts:
        return "There is no design yet. Describe what you want to run."
    return f"The current design for {req.project} ({req.environment}, {req.region}):\n- " + "\n- ".join(parts)


