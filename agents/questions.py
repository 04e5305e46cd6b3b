"""The negotiation: what archops asks when a missing answer changes the design.

A question is data (id, prompt, choices with what each costs, a recommended default) that Slack,
the web and the CLI each render. ``pending`` names the next question to ask, in a fixed order,
so a conversation asks the same questions whichever worker runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
        return Question(
            id=self.id,
            prompt=self.prompt,
            choices=list(self.choices),
            default=self.default(req),
            free_text=self.free_text,
        )

    def apply(self, req: Requirements, value: str) -> Requirements:
        value = value.strip()
        allowed = {c.value for c in self.choices}
        if not self.free_text and value not in allowed:
            raise ValidationError(
                f"{value!r} is not an answer to {self.id!r}",
                hint="choose one of: " + ", ".join(sorted(allowed)),
            )
        out = req.model_copy(deep=True)
        if self.id == "domain" and value == "none":
            out.domain = None
        elif self.id == "domain":
            from agents.extractor import DOMAIN_RE

            if not DOMAIN_RE.fullmatch(value.lower()):
                raise ValidationError(f"{value!r} is not a domain name", hint="e.g. app.example.com, or 'none'")
            out.domain = value.lower()
        else:
            setattr(out, self.field, value)
        out.answers = {**out.answers, self.id: value}
        if self.id == "database":
            out.wants_database = True
        return out


def _needs_network(req: Requirements) -> bool:
    return req.workload in {"web_app", "worker"} or req.compute in {"ecs", "asg", "ec2"} or (
        req.database is not None or req.wants_database or req.has("redis")
    )


QUESTIONS: dict[str, Ask] = {
    a.id: a
    for a in (
        Ask(
            id="environment",
            prompt="Which environment is this for? Production gets Multi-AZ, deletion protection and longer backups.",
            choices=(
                Choice(value="production", label="Production", detail="Multi-AZ database, 2+ tasks, 35-day backups: roughly 2x the cost of dev"),
                Choice(value="staging", label="Staging", detail="Like production, single-AZ database"),
                Choice(value="dev", label="Development", detail="Smallest sizes, one NAT gateway, 7-day backups"),
            ),
            field="environment",
            matters=lambda r: r.environment is None,
            default=lambda r: "production",
        ),
        Ask(
            id="database",
            prompt="Which database engine should the application use?",
            choices=(
                Choice(value="postgres", label="RDS PostgreSQL", detail="from ≈ $15/month (db.t4g.micro) single-AZ, ≈ 2x Multi-AZ"),
                Choice(value="mysql", label="RDS MySQL", detail="same price as PostgreSQL"),
                Choice(value="aurora-postgresql", label="Aurora PostgreSQL", detail="from ≈ $60/month (db.t4g.medium), faster failover, storage grows itself"),
            ),
            field="database",
            matters=lambda r: r.wants_database and r.database is None,
            default=lambda r: "postgres",
        ),
        Ask(
            id="nat",
            prompt="Private subnets reach the internet through NAT gateways. One per AZ survives an AZ outage; one in total costs less.",
            choices=(
                Choice(value="per_az", label="One NAT gateway per AZ", detail="≈ $33/month each plus data processing; no single point of failure"),
                Choice(value="single", label="One NAT gateway", detail="≈ $33/month; an AZ outage cuts private subnets off the internet"),
            ),
            field="nat",
            matters=lambda r: r.nat is None and r.production and _needs_network(r),
            default=lambda r: "per_az" if r.production else "single",
        ),
        Ask(
            id="domain",
            prompt="Which domain name should serve the application over HTTPS? (an ACM certificate is issued for it; 'none' keeps AWS's own hostname)",
            choices=(Choice(value="none", label="No custom domain", detail="HTTPS on the CloudFront hostname only"),),
            field="domain",
            matters=lambda r: r.domain is None and "domain" not in r.answers and r.workload in {"web_app", "static_site"},
            default=lambda r: "none",
            free_text=True,
        ),
    )
}

ORDER = ("environment", "database", "nat", "domain")


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
