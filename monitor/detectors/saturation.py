"""Sustained saturation: a resource at its limit for a stretch of time, not for a moment.

Each rule names a metric, a threshold and how long the metric must stay beyond it (within the
last day) to count: one datapoint beyond it, or a short burst, is not saturation (a deploy, a
cron job). One datapoint under the threshold inside a stretch does not end it (noise). A
stretch still going on at the newest datapoint makes the finding critical when it is long.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor import pricing
from monitor.insight import Context, Finding, text, usd, when
from monitor.stats import runs

ID = "saturation"
WINDOW_S = 24 * 3600


@dataclass(frozen=True)
class Rule:
    kinds: tuple[str, ...]
    metric: str
    threshold: float
    min_s: int
    unit: str
    what_en: str
    what_ko: str
    resize: bool = False  # the fix is a larger size of the same family
    severity: str = "warning"


RULES = (
    Rule(("instance",), "cpu", 90.0, 3600, "%", "CPU", "CPU", resize=True),
    Rule(("db_instance",), "cpu", 90.0, 3600, "%", "CPU", "CPU", resize=True),
    Rule(("cache_cluster", "replication_group"), "cpu", 90.0, 3600, "%", "CPU", "CPU", resize=True),
    Rule(("cache_cluster", "replication_group"), "memory", 90.0, 3600, "%", "memory", "메모리", resize=True),
    Rule(("db_instance",), "replica_lag", 60.0, 1800, " s", "replica lag", "복제 지연"),
    Rule(("load_balancer",), "response_time", 1.0, 1800, " s", "target response time", "대상 응답 시간"),
    Rule(("target_group",), "unhealthy", 1.0, 600, " hosts", "unhealthy hosts", "비정상 호스트",
         severity="critical"),
    Rule(("instance",), "status_failed", 1.0, 600, "", "failed status checks", "상태 검사 실패",
         severity="critical"),
    Rule(("nat_gateway",), "port_errors", 1.0, 900, "", "port allocation errors", "포트 할당 오류"),
)


def detect(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for rule in RULES:
        for r in ctx.resources(*rule.kinds):
            for series in ctx.of(r.id, rule.metric):
                pts = series.since(ctx.now - WINDOW_S, ctx.now)
                if len(pts) < 2:
                    continue
                stretches = [
                    (i, j) for i, j in runs([v >= rule.threshold for v in pts.values], pts.ts, pts.period)
                    if j > i and pts.ts[j] - pts.ts[i] + pts.period >= rule.min_s]
                if not stretches:
                    continue
                i, j = max(stretches, key=lambda ij: pts.ts[ij[1]] - pts.ts[ij[0]])
                out.append(_finding(ctx, rule, r, pts, i, j, dict(series.spec.dimensions)))
    return out


def _finding(ctx: Context, rule: Rule, r, pts, i: int, j: int, dims: dict[str, str]) -> Finding:  # type: ignore[no-untyped-def]
    start, end = pts.ts[i], pts.ts[j] + pts.period
    hours = (end - start) / 3600
    inside = pts.values[i:j + 1]
    peak, mean = max(inside), sum(inside) / len(inside)
    ongoing = j == len(pts) - 1
    severity = rule.severity
    if rule.severity == "warning" and ongoing and end - start >= 3 * rule.min_s:
        severity = "critical"
    node = dims.get("CacheClusterId") if r.kind == "replication_group" else None
    where = f"{r.label}" + (f" (node {node})" if node else "")
    numbers = {"threshold": rule.threshold, "hours": round(hours, 2), "peak": round(peak, 3),
               "mean": round(mean, 3), "ongoing": ongoing, "from": when(start), "to": when(end)}
    change = None
    delta = None
    rec_en = f"{rule.what_en} stayed at or above {rule.threshold:g}{rule.unit} for {hours:.1f} h (peak {peak:.3g}{rule.unit})"
    rec_ko = f"{rule.what_ko}이(가) {hours:.1f}시간 동안 {rule.threshold:g}{rule.unit} 이상이었습니다(최대 {peak:.3g}{rule.unit})"
    if rule.resize:
        current = str(r.attrs.get({"instance": "instance_type", "db_instance": "instance_class"}.get(r.kind, "node_type")) or "")
        bigger = _next_size(current)
        service = pricing.service_of(r.kind, r.attrs)
        if bigger:
            now_p, new_p = pricing.price(service, current, r.region), pricing.price(service, bigger, r.region)
            delta = (new_p.monthly - now_p.monthly) if now_p and new_p else None
            what = {"instance": "instance", "db_instance": "database instance"}.get(r.kind, "cache node type of")
            change = f"resize {what} {r.id} from {current} to {bigger}"
            effect = f" ({usd(delta)})" if delta is not None else ""
            rec_en += f". Move it to {bigger}{effect}, or spread the load."
            rec_ko += f". {bigger}(으)로 늘리거나{effect} 부하를 분산하세요."
            numbers.update({"current": current, "recommended": bigger})
    elif rule.metric == "unhealthy":
        rec_en += ". Look at the targets' health checks and logs; a target group with one target has nothing to fail over to."
        rec_ko += ". 대상의 상태 검사와 로그를 확인하세요."
    elif rule.metric == "status_failed":
        rec_en += ". Recover or replace the instance (an Auto Scaling group would do it by itself)."
        rec_ko += ". 인스턴스를 복구하거나 교체하세요(Auto Scaling 그룹이면 자동으로 교체됩니다)."
    else:
        rec_en += "."
        rec_ko += "."
    return Finding(
        detector=ID, severity=severity, resource=r, metric=rule.metric, what=node or "",
        title=text(f"{rule.what_en} of {where} saturated for {hours:.1f} h",
                   f"{where}의 {rule.what_ko} 포화 {hours:.1f}시간"),
        recommendation=text(rec_en, rec_ko), numbers=numbers, window_start=start, window_end=end,
        change_request=change, monthly_usd=delta)


def _next_size(current: str) -> str | None:
    try:
        family, size = pricing.split(current)
    except ValueError:
        return None
    sizes = pricing.ladder(family)
    here = pricing.factor(size) or 0
    larger = [s for s in sizes if (pricing.factor(s) or 0) > here]
    return f"{family}.{larger[0]}" if larger else None
