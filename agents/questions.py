"""The negotiation: what archops asks when a missing answer changes the design.

A question is data (id, prompt, choices with what each costs, a recommended default) that Slack,
the web and the CLI each render. ``pending`` names the next question to ask, in a fixed order,
so a conversation asks the same questions whichever worker runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agents.messages import t
from agents.requirements import Requirements
from core.errors import ValidationError
from core.events import Choice, Question


@dataclass(frozen=True)
class Ask:
    """One question: when it matters, its choices, its default, and how an answer applies."""

    id: str
    prompt: str
    choices: tuple[Choice, ...]
    field: str
    matters: Callable[[Requirements], bool]
    default: Callable[[Requirements], str]
    free_text: bool = False

    def question(self, req: Requirements) -> Question:
        """The question in the conversation's language (agents.messages: ``q.<id>``)."""
        lang = req.language
        return Question(
            id=self.id,
            prompt=t(f"q.{self.id}", lang),
            choices=[
                Choice(value=c.value, label=t(f"q.{self.id}.{c.value}", lang), detail=t(f"q.{self.id}.{c.value}.detail", lang))
                for c in self.choices
            ],
            default=self.default(req),
            free_text=self.free_text,
        )

    def apply(self, req: Requirements, value: str) -> Requirements:
        value = value.strip()
        allowed = {c.value for c in self.choices}
        lang = req.language
        if not self.free_text and value not in allowed:
            raise ValidationError(
                t("q.not_an_answer", lang, value=value, question=self.id),
                hint=t("q.not_an_answer.hint", lang, choices=", ".join(sorted(allowed))),
            )
        out = req.model_copy(deep=True)
        if self.id == "domain" and value == "none":
            out.domain = None
        elif self.id == "domain":
            from agents.extractor import DOMAIN_RE

            if not DOMAIN_RE.fullmatch(value.lower()):
                raise ValidationError(t("q.not_a_domain", lang, value=value), hint=t("q.not_a_domain.hint", lang))
            out.domain = value.lower()
        else:
            setattr(out, self.field, value)
        out.answers = {**out.answers, self.id: value}
        if self.id == "database":
            out.wants_database = True
        return out


def _choices(qid: str, *values: str) -> tuple[Choice, ...]:
    """A question's choices, worded in English here and per language when asked."""
    return tuple(Choice(value=v, label=t(f"q.{qid}.{v}"), detail=t(f"q.{qid}.{v}.detail")) for v in values)


def environment_default(req: Requirements) -> str:
    """The recommended environment: production, unless what the request says about its size
    says otherwise (a handful of users or a budget of $300/month or less is a dev-sized design;
    a copy of production is staging)."""
    if req.copy_of == "production":
        return "staging"
    small_budget = req.budget_usd is not None and req.budget_usd <= 300
    few_users = req.users is not None and req.users <= 10
    return "dev" if small_budget or few_users else "production"


def _needs_network(req: Requirements) -> bool:
    return req.workload in {"web_app", "worker"} or req.compute in {"ecs", "asg", "ec2"} or (
        req.database is not None or req.wants_database or req.has("redis")
    )


QUESTIONS: dict[str, Ask] = {
    a.id: a
    for a in (
        Ask(
            id="environment",
            prompt=t("q.environment"),
            choices=_choices("environment", "production", "staging", "dev"),
            field="environment",
            matters=lambda r: r.environment is None,
            default=lambda r: environment_default(r),
        ),
        Ask(
            id="database",
            prompt=t("q.database"),
            choices=_choices("database", "postgres", "mysql", "aurora-postgresql"),
            field="database",
            matters=lambda r: r.wants_database and r.database is None,
            default=lambda r: "postgres",
        ),
        Ask(
            id="nat",
            prompt=t("q.nat"),
            choices=_choices("nat", "per_az", "single"),
            field="nat",
            matters=lambda r: r.nat is None and r.production and _needs_network(r),
            default=lambda r: "per_az" if r.production else "single",
        ),
        Ask(
            id="gpu_instance",
            prompt=t("q.gpu_instance"),
            choices=_choices("gpu_instance", "g5.xlarge", "g6.xlarge", "g6e.xlarge"),
            field="instance_type",
            # the GPU decides which models fit and most of the bill; a type the request names stands
            matters=lambda r: "gpu" in r.asked and "gpu" not in r.removed and r.instance_type is None,
            default=lambda r: "g5.xlarge",
        ),
        Ask(
            id="domain",
            prompt=t("q.domain"),
            choices=_choices("domain", "none"),
            field="domain",
            matters=lambda r: r.domain is None and "domain" not in r.answers and r.workload in {"web_app", "static_site"},
            default=lambda r: "none",
            free_text=True,
        ),
    )
}

ORDER = ("environment", "database", "nat", "gpu_instance", "domain")


def pending(req: Requirements) -> Ask | None:
    """The next question whose answer is missing and changes the design."""
    for qid in ORDER:
        ask = QUESTIONS[qid]
        if qid not in req.answers and ask.matters(req):
            return ask
    return None


def take_defaults(req: Requirements) -> Requirements:
    """Answer every open question with its default and record each as assumed."""
    out = req
    while (ask := pending(out)) is not None:
        value = ask.default(out)
        out = ask.apply(out, value)
        out.assumed = {**out.assumed, ask.id: value}
    return out
