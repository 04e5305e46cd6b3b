"""Error and throttle spikes: a share of failures well above the resource's own usual share.

A rate (errors per invocation, 5XX per request, throttles per attempt) counts as a spike in
the last two hours when it is at least ``MIN_RATE``, at least ``MIN_COUNT`` failures a period,
three times the median rate of the week before, and when that lasts 15 minutes or more (at
least two datapoints): a deploy's single bad period is a blip, not a spike. Dropped packets on
a NAT gateway have no denominator: their count is judged against its own median and MAD.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.insight import Context, Finding, Points, text, when
from monitor.stats import MAD_TO_SIGMA, mad, median, runs

ID = "spikes"
WINDOW_S = 2 * 3600
BASELINE_S = 7 * 24 * 3600
MIN_RATE = 0.02
MIN_COUNT = 5.0
FACTOR = 3.0
MIN_S = 15 * 60


@dataclass(frozen=True)
class Ratio:
    kind: str
    failures: str
    total: str
    add_failures: bool  # the denominator excludes the failures (throttled calls are not invoked)
    what_en: str
    what_ko: str
    fix_en: str
    fix_ko: str
    change: str | None = None


RATIOS = (
    Ratio("lambda_function", "errors", "invocations", False, "error rate", "오류율",
          "Read the function's logs from the start of the spike; a deploy at that time is the first suspect (roll it back).",
          "급증 시작 시점부터 함수 로그를 확인하세요. 그 시점의 배포가 첫 번째 용의자입니다(롤백)."),
    Ratio("lambda_function", "throttles", "invocations", True, "throttle rate", "스로틀 비율",
          "Raise the function's reserved concurrency, or the account's concurrency quota.",
          "함수의 예약 동시성 또는 계정의 동시성 할당량을 늘리세요.",
          change="raise the reserved concurrency of Lambda function {id} (throttled {rate})"),
    Ratio("load_balancer", "target_5xx", "requests", False, "target 5XX rate", "대상 5XX 비율",
          "The targets answer 5XX: read their logs from the start of the spike (a deploy?).",
          "대상이 5XX를 응답합니다. 급증 시작 시점부터 로그를 확인하세요(배포?)."),
    Ratio("load_balancer", "elb_5xx", "requests", False, "load balancer 5XX rate", "로드 밸런서 5XX 비율",
          "The load balancer itself answers 5XX: no healthy target, or targets too slow to answer.",
          "로드 밸런서가 5XX를 응답합니다. 정상 대상이 없거나 대상의 응답이 너무 느립니다."),
)


def detect(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for ratio in RATIOS:
        for r in ctx.resources(ratio.kind):
            fails, total = ctx.one(r.id, ratio.failures), ctx.one(r.id, ratio.total)
            if fails is None or total is None:
                continue
            finding = _ratio(ctx, ratio, r, fails, total)
            if finding:
                out.append(finding)
    for r in ctx.resources("nat_gateway"):
        dropped = ctx.one(r.id, "dropped")
        if dropped is not None:
            finding = _count(ctx, r, dropped)
            if finding:
                out.append(finding)
    return out


def _rates(fails: Points, total: Points, add: bool) -> tuple[list[int], list[float], list[float]]:
    """Per period: the failure rate and count. A failure count CloudWatch did not publish is
    zero (ELB publishes 5XX counts only for periods that had some)."""
    failed = dict(zip(fails.ts, fails.values, strict=True))
    served = dict(zip(total.ts, total.values, strict=True))
    ts, rates, counts = [], [], []
    for t in sorted(set(served) | (set(failed) if add else set())):
        f = failed.get(t, 0.0)
        denominator = served.get(t, 0.0) + (f if add else 0.0)
        if denominator <= 0:
            continue
        ts.append(t)
        rates.append(min(1.0, f / denominator))
        counts.append(f)
    return ts, rates, counts


def _ratio(ctx: Context, ratio: Ratio, r, fails: Points, total: Points) -> Finding | None:  # type: ignore[no-untyped-def]
    start = ctx.now - WINDOW_S
    since = ctx.now - BASELINE_S - WINDOW_S
    ts, rates, counts = _rates(fails.since(since, ctx.now), total.since(since, ctx.now), ratio.add_failures)
    base = [rt for t, rt in zip(ts, rates, strict=True) if t < start]
    usual = median(base) if base else 0.0
    recent = [k for k, t in enumerate(ts) if t >= start]
    if not recent:
        return None
    flags = [rates[k] >= max(MIN_RATE, FACTOR * usual) and counts[k] >= MIN_COUNT for k in recent]
    rts = [ts[k] for k in recent]
    spans = [(i, j) for i, j in runs(flags, rts, fails.period)
             if j > i and rts[j] - rts[i] + fails.period >= MIN_S]
    if not spans:
        return None
    i, j = max(spans, key=lambda ij: rts[ij[1]] - rts[ij[0]])
    inside = [rates[recent[k]] for k in range(i, j + 1)]
    failed = sum(counts[recent[k]] for k in range(i, j + 1))
    peak = max(inside)
    begin, end = rts[i], rts[j] + fails.period
    rate = f"{peak:.1%} at peak"
    return Finding(
        detector=ID, severity="critical" if peak >= 0.10 else "warning", resource=r,
        metric=ratio.failures, what=ratio.failures,
        title=text(f"{ratio.what_en} of {r.label} spiked to {peak:.1%}",
                   f"{r.label}의 {ratio.what_ko}이(가) {peak:.1%}로 급증했습니다"),
        recommendation=text(
            f"{int(failed)} {ratio.failures} from {when(begin)} to {when(end)} "
            f"(usual {usual:.2%} over the week before). {ratio.fix_en}",
            f"{when(begin)}부터 {when(end)}까지 {int(failed)}건(지난주 평소 {usual:.2%}). {ratio.fix_ko}"),
        numbers={"peak_rate": round(peak, 4), "usual_rate": round(usual, 5), "failures": int(failed),
                 "minutes": (end - begin) // 60, "from": when(begin), "to": when(end)},
        window_start=begin, window_end=end,
        change_request=ratio.change.format(id=r.id, rate=rate) if ratio.change else None)


def _count(ctx: Context, r, dropped: Points) -> Finding | None:  # type: ignore[no-untyped-def]
    start = ctx.now - WINDOW_S
    pts = dropped.since(ctx.now - BASELINE_S - WINDOW_S, ctx.now)
    base = [v for t, v in zip(pts.ts, pts.values, strict=True) if t < start]
    if len(base) < 12:
        return None
    center = median(base)
    scale = max(MAD_TO_SIGMA * mad(base, center), 1.0)
    recent = pts.since(start)
    flags = [v >= MIN_COUNT and (v - center) / scale >= 6.0 for v in recent.values]
    spans = [(i, j) for i, j in runs(flags, recent.ts, recent.period)
             if j > i and recent.ts[j] - recent.ts[i] + recent.period >= MIN_S]
    if not spans:
        return None
    i, j = max(spans, key=lambda ij: recent.ts[ij[1]] - recent.ts[ij[0]])
    begin, end = recent.ts[i], recent.ts[j] + recent.period
    total = sum(recent.values[i:j + 1])
    return Finding(
        detector=ID, severity="warning", resource=r, metric="dropped", what="dropped",
        title=text(f"NAT gateway {r.label} is dropping packets", f"NAT 게이트웨이 {r.label}에서 패킷이 유실됩니다"),
        recommendation=text(
            f"{int(total)} packets dropped from {when(begin)} to {when(end)} (usual {center:.0f} a period). "
            "Check ErrorPortAllocation (too many connections to one destination) and give each AZ its own NAT gateway.",
            f"{when(begin)}부터 {when(end)}까지 패킷 {int(total)}개 유실(평소 주기당 {center:.0f}개). "
            "ErrorPortAllocation을 확인하고 AZ마다 NAT 게이트웨이를 두세요."),
        numbers={"dropped": int(total), "usual_per_period": center, "from": when(begin), "to": when(end)},
        window_start=begin, window_end=end)
