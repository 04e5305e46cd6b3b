"""Idle, over- and under-provisioned instances, judged the way AWS Compute Optimizer does.

Its defaults: a 14-day lookback, CPU utilization at the 99.5th percentile of the period's
datapoints, 20% headroom (the recommended size must carry that percentile at 80% or less), and
at least 30 hours of data (a resource with less is not judged). A size is projected by the
normalization factors of :mod:`monitor.pricing` (m5.large has half the capacity of m5.xlarge).

Idle (EC2, as Compute Optimizer's idle recommendations): peak CPU under 5% and network traffic
under 5 MB a day over the lookback; an RDS instance with no connection for the whole lookback.
An idle resource is recommended the smallest size its load fits (stopping it, which saves all
of it, is the owner's decision: archops does not delete what runs).

Memory is not measured on EC2 without the CloudWatch agent: a smaller size of the same family
halves its memory too, which the evidence says.
"""

from __future__ import annotations

from monitor import pricing
from monitor.insight import Context, Finding, Points, text, usd
from monitor.stats import percentile

ID = "rightsizing"
LOOKBACK_S = 14 * 24 * 3600
MIN_HOURS = 30
PERCENTILE = 99.5
HEADROOM = 20.0
IDLE_CPU = 5.0
IDLE_NETWORK_BYTES_PER_DAY = 5 * 1024 * 1024
_NAMES = {"instance": ("instance", "인스턴스"), "db_instance": ("database", "데이터베이스")}


def detect(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for r in ctx.resources("instance", "db_instance"):
        current = r.attrs.get("instance_type" if r.kind == "instance" else "instance_class")
        cpu = ctx.one(r.id, "cpu")
        if not current or cpu is None:
            continue
        window = cpu.since(ctx.now - LOOKBACK_S, ctx.now)
        hours = window.hours_covered()
        if hours < MIN_HOURS:
            continue
        finding = judge(ctx, r, str(current), window, hours)
        if finding is not None:
            out.append(finding)
    return out


def _idle(ctx: Context, r, window: Points) -> dict[str, float] | None:  # type: ignore[no-untyped-def]
    start, end = window.ts[0], ctx.now
    days = max(1.0, (end - start) / 86400)
    if r.kind == "instance":
        peak_series = ctx.one(r.id, "cpu_max")
        peak = max(peak_series.since(start, end).values or window.values) if peak_series else max(window.values)
        traffic = [ctx.one(r.id, k) for k in ("network_in", "network_out")]
        if peak >= IDLE_CPU or any(t is None or not len(t.since(start, end)) for t in traffic):
            return None
        per_day = sum(sum(t.since(start, end).values) for t in traffic if t) / days
        if per_day >= IDLE_NETWORK_BYTES_PER_DAY:
            return None
        return {"cpu_peak_percent": round(peak, 2), "network_mb_per_day": round(per_day / 1048576, 3)}
    connections = ctx.one(r.id, "connections")
    seen = connections.since(start, end) if connections else None
    if not seen or seen.hours_covered() < MIN_HOURS or max(seen.values) > 0:
        return None
    return {"connections_peak": 0.0, "cpu_peak_percent": round(max(window.values), 2)}


def judge(ctx: Context, r, current: str, window: Points, hours: int) -> Finding | None:  # type: ignore[no-untyped-def]
    try:
        family, size = pricing.split(current)
    except ValueError:
        return None
    service = pricing.service_of(r.kind, r.attrs)
    load = percentile(window.values, PERCENTILE)
    capacity = pricing.factor(size) or 0.0
    limit = 100.0 - HEADROOM
    idle = _idle(ctx, r, window)
    sizes = list(pricing.ladder(family))

    def projected(s: str) -> float:
        return load * capacity / (pricing.factor(s) or capacity)

    fitting = [s for s in sizes if projected(s) <= limit]
    if load > limit:  # under-provisioned: the smallest larger size with headroom
        larger = [s for s in fitting if (pricing.factor(s) or 0) > capacity]
        target = larger[0] if larger else None
        verdict = "under"
    else:
        smaller = [s for s in fitting if (pricing.factor(s) or 0) < capacity]
        target = smaller[0] if smaller else None
        verdict = "idle" if idle else "over"
    if target is None:
        return None
    new = f"{family}.{target}"
    now_price, new_price = pricing.price(service, current, r.region), pricing.price(service, new, r.region)
    if now_price is None or new_price is None:
        return None
    copies = 2 if r.kind == "db_instance" and r.attrs.get("multi_az") else 1
    delta = (new_price.monthly - now_price.monthly) * copies
    noun_en, noun_ko = _NAMES[r.kind]
    numbers: dict[str, object] = {
        "cpu_p99_5_percent": round(load, 2), "hours_of_data": hours, "lookback_days": 14,
        "headroom_percent": HEADROOM, "current": current, "recommended": new,
        "projected_cpu_p99_5_percent": round(projected(target), 2),
        "current_monthly_usd": now_price.monthly * copies, "recommended_monthly_usd": new_price.monthly * copies,
        "price_source": f"{now_price.how}; {new_price.how}",
    }
    if r.kind == "instance":
        numbers["memory"] = "not measured (no CloudWatch agent); the smaller size has less memory"
    if idle:
        numbers.update(idle)
    label = r.label
    evidence_en = (f"CPU p99.5 {load:.1f}% over {hours} hours of the last 14 days; on {new} it would be "
                   f"{projected(target):.1f}% (limit {limit:.0f}% for {HEADROOM:.0f}% headroom)")
    evidence_ko = (f"최근 14일 중 {hours}시간 데이터의 CPU p99.5가 {load:.1f}%이며, {new}에서는 "
                   f"{projected(target):.1f}%로 예상됩니다(여유 {HEADROOM:.0f}% 기준 상한 {limit:.0f}%)")
    if verdict == "under":
        title = text(f"{noun_en} {label} is under-provisioned ({current})",
                     f"{noun_ko} {label}의 용량이 부족합니다({current})")
        severity = "warning"
    elif verdict == "idle":
        title = text(f"{noun_en} {label} is idle ({current})", f"{noun_ko} {label}이(가) 유휴 상태입니다({current})")
        severity = "warning"
    else:
        title = text(f"{noun_en} {label} is oversized ({current})", f"{noun_ko} {label}이(가) 과다 프로비저닝되었습니다({current})")
        severity = "info"
    verb = "rightsize" if verdict != "under" else "resize"
    what = "instance" if r.kind == "instance" else "database instance"
    ident = f"{r.id} ({r.name})" if r.name and r.name != r.id else r.id
    return Finding(
        detector=ID, severity=severity, resource=r, metric="cpu", what=verdict,
        title=title,
        recommendation=text(
            f"{evidence_en}. Change it to {new} ({usd(delta)})."
            + (" It looks unused: stopping it would save all of it." if verdict == "idle" else ""),
            f"{evidence_ko}. {new}(으)로 변경하세요({usd(delta)})."
            + (" 사용되지 않는 것으로 보여 중지하면 전액 절감됩니다." if verdict == "idle" else "")),
        numbers=numbers, window_start=window.ts[0], window_end=ctx.now,
        change_request=f"{verb} {what} {ident} from {current} to {new}",
        monthly_usd=delta,
    )
