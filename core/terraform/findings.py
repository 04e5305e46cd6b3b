"""What a review of a Terraform module reports: findings, the cost estimate, the verdict.

Every finding names a check, a Well-Architected pillar, a severity, where it is (resource
address, argument, file, line) and how to fix it. A finding with ``skip_reason`` was waived by a
written reason in the module and does not fail the review, but it is still shown.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

Severity = Literal["critical", "high", "medium", "low", "info"]
Pillar = Literal[
    "security",
    "reliability",
    "performance_efficiency",
    "cost_optimisation",
    "operational_excellence",
    "sustainability",
]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
PILLARS: tuple[Pillar, ...] = (
    "security",
    "reliability",
    "performance_efficiency",
    "cost_optimisation",
    "operational_excellence",
    "sustainability",
)
# an "info" finding is a notice (an assumption, a skipped tool); it never fails a review
FAILING: frozenset[str] = frozenset({"critical", "high", "medium", "low"})


class Finding(BaseModel):
    """One problem (or notice) found in a module."""

    check_id: str
    severity: Severity
    pillar: Pillar
    address: str = ""
    argument: str = ""
    file: str = ""
    line: int = 0
    message: str
    fix: str = ""
    skip_reason: str | None = None
    source: str = "archops"  # archops | terraform | checkov

    @property
    def failing(self) -> bool:
        return self.severity in FAILING and self.skip_reason is None

    def where(self) -> str:
        """``file:line address.argument`` with the parts that are known."""
        place = f"{self.file}:{self.line}" if self.file else ""
        target = ".".join(p for p in (self.address, self.argument) if p)
        return " ".join(p for p in (place, target) if p)


class CostItem(BaseModel):
    """The monthly estimate of one resource (on-demand list price)."""

    address: str
    resource_type: str
    monthly_usd: float
    detail: str = ""


class CostEstimate(BaseModel):
    """Monthly cost of a module in one region, with the assumptions it rests on."""

    region: str
    currency: str = "USD"
    items: list[CostItem] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    price_source: str = ""
    price_date: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def monthly_total(self) -> float:
        return round(sum(item.monthly_usd for item in self.items), 2)


class Review(BaseModel):
    """The outcome of :func:`core.terraform.review.review_module`."""

    findings: list[Finding] = Field(default_factory=list)
    cost: CostEstimate | None = None
    checks_run: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    # Terraform's own summary of the offline plan ("Plan: 12 to add, ..."), when it ran
    plan: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """No failing finding: waived (skipped) ones and notices aside."""
        return not any(f.failing for f in self.findings)

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.failing]

    @property
    def skipped(self) -> list[Finding]:
        return [f for f in self.findings if f.skip_reason is not None]
