"""The model engine: the offline engine's steps, widened by a model, never loosened.

:class:`LLMEngine` is shared by a worker's requests; :meth:`LLMEngine.bind` gives each request a
:class:`RequestEngine` that implements the :class:`agents.engine.Engine` methods with the model:

* ``classify``: the deterministic guard first (a refusal stands, the model is not asked), then
  the model's route, then the guard again on the model's restatement of the request (which
  catches, in English, what was said in a language the rules do not read). The model can add a
  refusal, never lift one.
* ``extract``: the offline extractor, then the model's reading (any language) merged into it:
  the rules' reading of this message wins, a value the model gives counts only with a quote of
  the user's own words, and the merge is validated as :class:`Requirements`. Then the model
  says which open questions the user's words already answer (each answer validated by the
  question itself, and recorded as assumed so the user sees it).
* ``plan``: the offline plan; the model sizes the planned blueprints where the user said
  nothing (values from fixed lists), and names parts the catalog lacks (provider resource types
  that exist), built last by model-written Terraform under the same review (agents.llm.extra).
* ``build``: the catalog's blueprints offline (with the sizes chosen); an extra part as the
  model writes it, or not at all.

Every step that fails falls back to the offline engine's answer for that step alone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from agents import guard
from agents.catalog import CATALOG, Fragment
from agents.engine import OfflineEngine
from agents.llm import prompts
from agents.llm.accounting import Usage
from agents.llm.client import ModelClient
from agents.llm.schemas import ExtractOut, ParamsOut, PlanOut, QuestionsOut, RouteOut
from agents.llm.steps import Asker, Rejected, Step, screen
from agents.messages import t
from agents.questions import ORDER, QUESTIONS
from agents.requirements import Requirements, components
from core.context import RequestContext
from core.errors import ArchopsError
from core.offload import in_thread
from core.settings import Settings

_CLOUD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")
_REFUSALS = {"destroy": "guard.destroy", "other_cloud": "guard.other_cloud", "secrets": "guard.secrets", "injection": "guard.injection"}
LIST_FIELDS = ("compliance", "asked", "ports")
DICT_FIELDS = ("tags", "names")


def _sizes() -> dict[str, dict[str, list[Any]]]:
    """What the model may size per blueprint: each field's allowed values (the price table's
    instance types, so that the cost estimate knows them)."""
    import json
    from pathlib import Path

    from core.terraform import cost

    prices = json.loads(Path(cost.__file__).with_name("prices.json").read_text())["instance_hourly"]
    ec2, rds, aurora = sorted(prices["ec2"]), sorted(prices["rds"]), sorted(p for p in prices["aurora"] if p != "db.serverless")
    counts = list(range(1, 11))
    return {
        "ecs": {"instance_count": counts, "memory_mb": [512, 1024, 2048, 4096, 8192]},
        "asg": {"instance_type": ec2, "instance_count": counts},
        "ec2": {"instance_type": ec2, "instance_count": counts},
        "lambda": {"memory_mb": [128, 256, 512, 1024, 2048, 4096]},
        "rds": {"db_instance_class": rds, "db_storage_gb": [20, 50, 100, 200, 500, 1000]},
        "aurora": {"db_instance_class": aurora},
    }


class LLMEngine:
    """The engine a worker shares; without a request bound it answers as the offline engine."""

    name = "llm"

    def __init__(self, client: ModelClient, *, budget: int = 200_000, schema_retries: int = 2,
                 repair_rounds: int = 2, offline: OfflineEngine | None = None) -> None:
        self.client = client
        self.budget = budget
        self.schema_retries = schema_retries
        self.repair_rounds = repair_rounds
        self.offline = offline or OfflineEngine()
        self.sizes = _sizes()

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMEngine:
        return cls(ModelClient.from_settings(settings), budget=settings.openai_token_budget,
                   schema_retries=settings.openai_schema_retries, repair_rounds=settings.openai_repair_rounds)

    @property
    def model(self) -> str:
        return self.client.model

    # the Engine protocol with no request to record model answers under: the offline engine
    def classify(self, text: str | None, *, has_design: bool, max_chars: int) -> guard.Verdict:
        return self.offline.classify(text, has_design=has_design, max_chars=max_chars)

    def extract(self, text: str, current: Requirements | None) -> Requirements:
        return self.offline.extract(text, current)

    def plan(self, req: Requirements) -> dict[str, Any]:
        return self.offline.plan(req).model_dump()

    def build(self, blueprint_id: str, req: Requirements, present: frozenset[str]) -> Fragment:
        return self.offline.build(blueprint_id, req, present)

    def bind(self, ctx: RequestContext, *, said: list[str], design: list[str], spent: int,
             review_checks: set[str] | None = None, offload: Callable[..., Awaitable[Any]] = in_thread) -> RequestEngine:
        usage = Usage(self.model, prompts.PROMPT_VERSION)
        return RequestEngine(self, ctx, usage, said=said, design=design, spent=spent,
                             review_checks=review_checks, offload=offload)


class RequestEngine:
    """The engine of one request: model answers recorded under the request, replayed on
    redelivery. ``classify``, ``extract`` and ``plan`` are coroutines; ``build`` is one for the
    parts the model writes."""

    name = "llm"

    def __init__(self, shared: LLMEngine, ctx: RequestContext, usage: Usage, *, said: list[str],
                 design: list[str], spent: int, review_checks: set[str] | None,
                 offload: Callable[..., Awaitable[Any]]) -> None:
        self.shared = shared
        self.offline = shared.offline
        self.ctx = ctx
        self.usage = usage
        self.said = said
        self.design = design
        self.review_checks = review_checks
        self.offload = offload
        self.language = "en"
        self.asker = Asker(shared.client, ctx, usage, budget=shared.budget, spent=spent,
                           schema_retries=shared.schema_retries, lang=lambda: self.language)
        self.params: dict[str, dict[str, Any]] = {}
        self.extras: dict[str, dict[str, Any]] = {}
        self.fragments: dict[str, Fragment] = {}
        self._done: dict[str, asyncio.Event] = {}

    # -- route -------------------------------------------------------------------------------
    async def classify(self, text: str | None, *, has_design: bool, max_chars: int) -> guard.Verdict:
        verdict = guard.classify(text, has_design=has_design, max_chars=max_chars)
        if verdict.route == "refuse" or not text:
            return verdict
        self.language = _lang(text)
        out, _why = await self.asker.ask(Step("route", "route", prompts.route(text, has_design=has_design, design=self.design), RouteOut, lambda v: v))
        if out is None:
            return verdict
        if out.restated.strip():
            after = guard.classify(out.restated, has_design=has_design, max_chars=max_chars)
            if after.route == "refuse":
                return after
        if out.route == "refuse":
            if out.refusal not in _REFUSALS:  # a refusal without a reason archops knows
                return verdict
            fields = {"cloud": out.cloud if out.cloud and _CLOUD.match(out.cloud) else "another cloud"} if out.refusal == "other_cloud" else {}
            key = _REFUSALS[out.refusal]
            return guard.Verdict("refuse", t(key, "en", can_do=t("guard.can_do", "en"), **fields), key, fields)
        # with no design yet there is nothing to change or ask about
        return guard.Verdict(out.route if has_design else "new")

    # -- requirements ------------------------------------------------------------------------
    async def extract(self, text: str, current: Requirements | None) -> Requirements:
        offline = self.offline.extract(text, current)
        self.language = offline.language
        base = current or Requirements()
        read = _changed(offline, base)
        messages = prompts.extract(text, current=_known(base), read=read, components=components())
        merged, _why = await self.asker.ask(Step("extract", "extract", messages, ExtractOut, lambda v: merge(offline, base, v, text)))
        req = merged if merged is not None else offline
        return await self._answered(req)

    async def _answered(self, req: Requirements) -> Requirements:
        open_ids = [qid for qid in ORDER if qid not in req.answers and QUESTIONS[qid].matters(req)]
        if not open_ids or not self.said:
            return req
        listed = [{"id": qid, "question": QUESTIONS[qid].question(req).prompt,
                   "choices": [c.value for c in QUESTIONS[qid].choices], "free_text": QUESTIONS[qid].free_text}
                  for qid in open_ids]
        step = Step("questions", "questions", prompts.questions(self.said, listed), QuestionsOut,
                    lambda v: answered(req, v, self.said))
        out, _why = await self.asker.ask(step)
        return out if out is not None else req

    # -- plan --------------------------------------------------------------------------------
    async def plan(self, req: Requirements) -> dict[str, Any]:
        self.language = req.language
        plan = self.offline.plan(req).model_dump()
        ids = [item["id"] for item in plan["items"]]
        choices = {bid: {f: v for f, v in fields.items() if getattr(req, f) is None and f not in req.assumed}
                   for bid, fields in self.shared.sizes.items() if bid in ids}
        choices = {bid: fields for bid, fields in choices.items() if fields}
        if choices:
            step = Step("params", "params", prompts.params(_known(req), choices=choices), ParamsOut, lambda v: sizes(v, choices))
            self.params = (await self.asker.ask(step))[0] or {}
        if req.asked:
            planned = [{"id": i["id"], "title": i["title"]} for i in plan["items"]]
            catalog = sorted(set(CATALOG) - set(ids))
            step = Step("plan", "plan", prompts.plan(_known(req), planned=planned, catalog=catalog, said=self.said), PlanOut,
                        lambda v: extras(v, ids))
            for item in (await self.asker.ask(step))[0] or []:
                self.extras[item["id"]] = item
        return with_model(plan, self.params, list(self.extras.values()))

    # -- build -------------------------------------------------------------------------------
    def build(self, blueprint_id: str, req: Requirements, present: frozenset[str]) -> Any:
        if blueprint_id in self.extras:
            from agents.llm.extra import write_extra

            return self._in_turn(blueprint_id, write_extra(self, self.extras[blueprint_id], req))
        chosen = self.params.get(blueprint_id)
        use = Requirements.model_validate({**req.model_dump(), **chosen}) if chosen else req
        fragment = self.offline.build(blueprint_id, use, present)
        self.fragments[blueprint_id] = fragment
        return fragment


    async def _in_turn(self, blueprint_id: str, work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        """Model-written parts one after another in plan order, so that their events come in
        the same order on every delivery."""
        order = list(self.extras)
        for earlier in order[: order.index(blueprint_id)]:
            await self._done.setdefault(earlier, asyncio.Event()).wait()
        try:
            return await work
        finally:
            self._done.setdefault(blueprint_id, asyncio.Event()).set()


# -- checks of the model's answers (pure: the same answer always gives the same value) -------------
def merge(offline: Requirements, base: Requirements, out: ExtractOut, text: str) -> Requirements:
    """The rules' reading of the message, with what the model read that the rules did not;
    only fields the user's own words state (a quote found in the message)."""
    said = _fold(text)
    quoted = {e.field for e in out.evidence if e.quote.strip() and _fold(e.quote) in said}
    patch = {k: v for k, v in out.requirements.model_dump().items() if v is not None and k in quoted}  # type: ignore[attr-defined]
    screen({k: v for k, v in patch.items() if k not in {"region", "workload", "environment"}}, "requirements")
    data = offline.model_dump()
    rules_read = set(_changed(offline, base))
    if offline.workload == "custom":  # the rules' fallback when they read no workload
        rules_read.discard("workload")
    for field, value in patch.items():
        if field == "components":
            data["components"] = sorted({*data["components"], *(c for c in value if c not in offline.removed or c in base.removed)})
            data["removed"] = [c for c in data["removed"] if c not in data["components"]]
        elif field == "removed":
            keep = {c for c in value if c not in offline.components or c in base.components}
            data["removed"] = sorted({*data["removed"], *keep})
            data["components"] = [c for c in data["components"] if c not in data["removed"]]
        elif field in LIST_FIELDS:
            data[field] = sorted({*data[field], *value})
        elif field in DICT_FIELDS:
            data[field] = {**value, **data[field]}
        elif field not in rules_read:
            data[field] = value
    data["assumed"] = {k: v for k, v in data["assumed"].items() if k not in patch}
    if data.get("workload") is None and (data["components"] or data.get("compute") or data.get("wants_database")):
        data["workload"] = "custom"
    try:
        return Requirements.model_validate(data)
    except ValueError as exc:
        raise Rejected(f"the requirements do not validate: {exc}") from exc


def answered(req: Requirements, out: QuestionsOut, said: list[str]) -> Requirements:
    """The open questions the user's words answer, applied as each question applies an answer
    and recorded as assumed."""
    text = _fold("\n".join(said))
    result = req
    for item in sorted(out.answered, key=lambda i: ORDER.index(i.id)):
        ask = QUESTIONS[item.id]
        if item.id in result.answers or not ask.matters(result) or not item.quote.strip() or _fold(item.quote) not in text:
            continue
        try:
            result = ask.apply(result, item.value)
        except ArchopsError as exc:
            raise Rejected(f"{item.id}: {exc.message}") from exc
        result.assumed = {**result.assumed, item.id: item.value}
    return result


def sizes(out: ParamsOut, choices: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, Any]]:
    chosen: dict[str, dict[str, Any]] = {}
    for p in out.parameters:
        allowed = choices.get(p.blueprint, {}).get(p.field)
        if allowed is None:
            raise Rejected(f"{p.blueprint}.{p.field} is not a size archops lets the model choose; choose from {sorted(choices)}")
        value: Any = p.value
        if isinstance(allowed[0], int):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise Rejected(f"{p.blueprint}.{p.field} must be a number from {allowed}") from None
        if value not in allowed:
            raise Rejected(f"{p.blueprint}.{p.field} = {value!r} is not one of {allowed}")
        screen(p.why, "why")
        chosen.setdefault(p.blueprint, {})[p.field] = value
    return chosen


def extras(out: PlanOut, planned: list[str]) -> list[dict[str, Any]]:
    """The parts the model adds: new ids, resource types the provider has."""
    from core.errors import ConfigurationError
    from core.terraform.schema import load_schema

    try:
        schema = load_schema()
    except ConfigurationError as exc:
        raise Rejected("the provider schema is not available to check the resource types") from exc
    items: list[dict[str, Any]] = []
    for e in out.extras:
        screen([e.title, e.why, e.covers], f"extras.{e.id}")
        if e.id in CATALOG or e.id in planned or any(i["id"] == e.id for i in items):
            raise Rejected(f"extras id {e.id!r} is taken; give each extra a new id")
        for rtype in e.resource_types:
            if schema.resource(rtype) is None:
                near = schema.nearest_type(rtype)
                raise Rejected(f"{rtype} is not a resource type of the AWS provider" + (f"; did you mean {near}?" if near else ""))
        items.append({"id": e.id, "title": e.title, "why": e.why, "covers": e.covers,
                      "resource_types": sorted(set(e.resource_types)), "depends_on": sorted(set(e.depends_on) & set(planned))})
    return items


def with_model(plan: dict[str, Any], params: dict[str, dict[str, Any]], added: list[dict[str, Any]]) -> dict[str, Any]:
    """The plan with the sizes the model chose on its items and its extra parts, built last."""
    items = [{**item, "parameters": params[item["id"]]} if item["id"] in params else item for item in plan["items"]]
    levels = [list(level) for level in plan["levels"]]
    if added:
        items += [{"id": e["id"], "title": e["title"], "why": e["why"], "file": f"extra_{e['id']}",
                   "depends_on": e["depends_on"], "source": "model", "resource_types": e["resource_types"],
                   "covers": e["covers"]} for e in added]
        levels.append([e["id"] for e in added])
    return {**plan, "items": items, "levels": levels}


def _changed(req: Requirements, base: Requirements) -> dict[str, Any]:
    """The fields ``req`` holds differently from ``base`` (what a message changed)."""
    return {k: v for k, v in req.model_dump().items() if v != getattr(base, k) and k not in {"assumed", "answers"}}


def _known(req: Requirements) -> dict[str, Any]:
    return {k: v for k, v in req.model_dump().items() if v not in (None, [], {}, False) and k not in {"answers"}}


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _lang(text: str) -> str:
    from agents.text import language

    return language(text)
