"""The weekly summary of a project, in its language (English or Korean), from the detectors' numbers.

Without a model it is a template filled with the week's figures. With one, a :class:`Narrator`
may write a short narrative over the same findings; it is shown above the figures, which always
come from the detectors and the store, never from the model. No narrator ships yet: the hook is
:func:`build_summary`'s ``narrator`` argument (the composition root passes one when
``ARCHOPS_OPENAI_*`` is configured).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from core.notify import NoticeItem

TOP = 10


@dataclass
class Week:
    project_id: str
    language: str
    start: datetime
    end: datetime
    open: list[Any] = field(default_factory=list)  # core.store.metrics.Insight rows
    new: int = 0
    resolved: int = 0
    resources: int = 0
    series: int = 0
    cost: dict[str, Any] = field(default_factory=dict)  # MetricsStore.cost()
    problems: list[str] = field(default_factory=list)

    @property
    def by_severity(self) -> dict[str, int]:
        out = {"critical": 0, "warning": 0, "info": 0}
        for row in self.open:
            out[row.severity] = out.get(row.severity, 0) + 1
        return out

    @property
    def savings(self) -> float:
        return -sum(r.monthly_usd for r in self.open if r.monthly_usd is not None and r.monthly_usd < 0)

    @property
    def additions(self) -> float:
        return sum(r.monthly_usd for r in self.open if r.monthly_usd is not None and r.monthly_usd > 0)


class Narrator(Protocol):
    async def narrate(self, week: Week, figures: str) -> str | None:
        """A few sentences over ``figures`` in ``week.language``; None to leave them alone."""


def _effect(amount: float | None, ko: bool) -> str:
    if amount is None:
        return ""
    if ko:
        return f" (월 {'-' if amount < 0 else '+'}${abs(amount):,.2f})"
    return f" ({'-' if amount < 0 else '+'}${abs(amount):,.2f}/month)"


def figures(week: Week) -> str:
    ko = week.language == "ko"
    s = week.by_severity
    fmt = "%Y-%m-%d"
    span = f"{week.start.astimezone(UTC).strftime(fmt)} – {week.end.astimezone(UTC).strftime(fmt)}"
    cost = week.cost or {"usd": 0.0, "metrics_requested": 0, "runs": 0}
    if ko:
        lines = [
            f"archops 주간 보고: {week.project_id} ({span})",
            f"감시 중인 리소스 {week.resources}개(지표 {week.series}개). 이번 주 수집 비용 ${cost['usd']:.2f}"
            f"(지표 {cost['metrics_requested']:,}건 요청, 수집 {cost['runs']}회).",
            f"열린 항목 {len(week.open)}건: 심각 {s['critical']}, 경고 {s['warning']}, 정보 {s['info']}. "
            f"이번 주 새 항목 {week.new}건, 해결 {week.resolved}건.",
            f"절감 가능액 월 ${week.savings:,.2f}, 권장 추가 비용 월 ${week.additions:,.2f}.",
        ]
    else:
        lines = [
            f"archops weekly report: {week.project_id} ({span})",
            f"Watching {week.resources} resources ({week.series} metrics). Collecting them cost "
            f"${cost['usd']:.2f} this week ({cost['metrics_requested']:,} metrics requested in {cost['runs']} runs).",
            f"{len(week.open)} open findings: {s['critical']} critical, {s['warning']} warning, {s['info']} info. "
            f"{week.new} new this week, {week.resolved} resolved.",
            f"Possible savings ${week.savings:,.2f}/month; recommended additions ${week.additions:,.2f}/month.",
        ]
    if week.open:
        lines.append("주요 항목:" if ko else "Top findings:")
        for i, row in enumerate(week.open[:TOP], 1):
            title = row.title.get(week.language) or row.title.get("en", "")
            lines.append(f"{i}. [{row.severity}] {title}{_effect(row.monthly_usd, ko)}")
    for problem in week.problems[:5]:
        lines.append(("읽지 못함: " if ko else "Not read: ") + problem)
    return "\n".join(lines)


def items(week: Week) -> list[NoticeItem]:
    out = []
    for row in week.open[:TOP]:
        rec = row.recommendation.get(week.language) or row.recommendation.get("en", "")
        out.append(NoticeItem(insight_id=row.id, severity=row.severity,
                              title=(row.title.get(week.language) or row.title.get("en", ""))
                              + _effect(row.monthly_usd, week.language == "ko"),
                              detail=rec[:600], resource=row.resource_id, monthly_usd=row.monthly_usd))
    return out


async def build_summary(week: Week, narrator: Narrator | None = None) -> str:
    """The summary text: the figures, with a narrative above them when a narrator gives one."""
    text = figures(week)
    if narrator is None:
        return text
    story = await narrator.narrate(week, text)
    return f"{story.strip()}\n\n{text}" if story else text
