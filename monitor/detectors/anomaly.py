"""Anomalies against the resource's own baseline, robustly, with the hour of the week in mind.

Each metric the catalog marks (``anomaly`` up, down or both) is read as hourly points. The last
``WINDOW_S`` is judged against the 28 days before it:

- the expected value of an hour is the median of the baseline at the same hour of the week (at
  least 3 weeks of baseline; a bucket with fewer than 3 values falls back to the hour of the day),
  or of the day (at least 3 days of baseline); with less, the series is not judged;
- the spread is the MAD of the baseline's residuals (value minus its hour's median) times
  1.4826, floored at 5% of the series' level and a small amount per unit, so that a flat series
  does not make every wobble infinitely unusual;
- an hour is unusual when it is 6 spreads or more from its expected value and at least 30% of
  that value away; two unusual hours in a row (or more) make a finding. One unusual hour (a
  deploy, a batch job) does not.

Median and MAD are what make this robust: the past week's incidents barely move them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from monitor.catalog import metric as catalog_metric
from monitor.insight import Context, Finding, Points, text, when
from monitor.stats import MAD_TO_SIGMA, mad, median, runs

ID = "anomaly"
WINDOW_S = 6 * 3600
HISTORY_S = 28 * 24 * 3600
WEEK_HISTORY_S = 21 * 24 * 3600
DAY_HISTORY_S = 3 * 24 * 3600
Z = 6.0
MIN_RELATIVE = 0.3
MIN_BUCKET = 3
UNIT_FLOOR = {"Percent": 2.0, "Count": 1.0, "Bytes": 1024.0, "Seconds": 0.01, "Milliseconds": 1.0,
              "Count/Second": 1.0}


def hour_of_week(ts: int) -> int:
    """0 = Monday 00:00 UTC ... 167 = Sunday 23:00 (1970-01-01 was a Thursday)."""
    return ((ts // 86400 + 3) % 7) * 24 + (ts // 3600) % 24


def hour_of_day(ts: int) -> int:
    return (ts // 3600) % 24


def detect(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for series in ctx.series:
        m = catalog_metric(series.spec.resource_kind, series.spec.metric)
        if m is None or m.anomaly is None:
            continue
        resource = ctx.inventory.get(series.spec.resource_id)
        if resource is None:
            continue
        hourly = series.since(ctx.now - HISTORY_S - WINDOW_S, ctx.now).hourly()
        found = judge(hourly, ctx.now, m.anomaly)
        if found is None:
            continue
        numbers, start, end = found
        dims = dict(series.spec.dimensions)
        node = dims.get("CacheClusterId") if resource.kind == "replication_group" else None
        what = f"{m.label or m.key}" + (f" (node {node})" if node else "")
        word = "above" if numbers["direction"] == "up" else "below"
        word_ko = "높습니다" if numbers["direction"] == "up" else "낮습니다"
        out.append(Finding(
            detector=ID, severity="warning", resource=resource, metric=series.spec.metric, what=node or "",
            title=text(f"unusual {what} on {resource.label}", f"{resource.label}의 {what} 이상 징후"),
            recommendation=text(
                f"{what} was {numbers['observed']:.4g} at peak from {when(start)} to {when(end)}, {word} the "
                f"usual {numbers['expected']:.4g} for that hour of the {numbers['seasonality']} "
                f"(robust z {numbers['z']:.1f}, spread {numbers['spread']:.3g}). Look at what changed then.",
                f"{when(start)}부터 {when(end)}까지 {what}이(가) 최대 {numbers['observed']:.4g}로, 같은 시간대 평소 값 "
                f"{numbers['expected']:.4g}보다 {word_ko}(robust z {numbers['z']:.1f}). 그때 무엇이 바뀌었는지 확인하세요."),
            numbers=numbers, window_start=start, window_end=end))
    return out


def judge(hourly: Points, now: int, direction: str) -> tuple[dict[str, object], int, int] | None:
    """(numbers, start, end) of the strongest unusual stretch in the window, or None."""
    cut = now - WINDOW_S
    base_ts = [t for t in hourly.ts if t < cut]
    if len(base_ts) < 2:
        return None
    span = base_ts[-1] - base_ts[0]
    if span >= WEEK_HISTORY_S:
        seasonality, key = "week", hour_of_week
    elif span >= DAY_HISTORY_S:
        seasonality, key = "day", hour_of_day
    else:
        return None
    n = len(base_ts)
    base_v = hourly.values[:n]
    expected = _expected(base_ts, base_v, key)
    residuals = [v - expected(t) for t, v in zip(base_ts, base_v, strict=True)]
    level = median([abs(v) for v in base_v])
    floor = max(0.05 * level, UNIT_FLOOR.get(hourly.spec.unit or "", 0.0), 1e-9)
    spread = max(MAD_TO_SIGMA * mad(residuals), floor)
    win_ts, win_v = hourly.ts[n:], hourly.values[n:]
    if not win_ts:
        return None
    best: tuple[float, dict[str, object], int, int] | None = None
    for sign in ((1, -1) if direction == "both" else ((1,) if direction == "up" else (-1,))):
        scores, flags = [], []
        for t, v in zip(win_ts, win_v, strict=True):
            e = expected(t)
            z = sign * (v - e) / spread
            scores.append(z)
            flags.append(z >= Z and sign * (v - e) >= MIN_RELATIVE * max(abs(e), floor))
        for i, j in runs(flags, win_ts, 3600):
            if j == i:
                continue
            strongest = max(range(i, j + 1), key=lambda k: scores[k])
            z = scores[strongest]
            if best is None or z > best[0]:
                numbers: dict[str, object] = {
                    "observed": round(win_v[strongest], 6), "expected": round(expected(win_ts[strongest]), 6),
                    "z": round(z, 2), "spread": round(spread, 6), "hours": j - i + 1,
                    "seasonality": seasonality, "baseline_days": round(span / 86400, 1),
                    "direction": "up" if sign > 0 else "down",
                    "from": when(win_ts[i]), "to": when(win_ts[j] + 3600)}
                best = (z, numbers, win_ts[i], win_ts[j] + 3600)
    return (best[1], best[2], best[3]) if best else None


def _expected(ts: list[int], values: list[float], key: Callable[[int], int]) -> Callable[[int], float]:
    """The median of the baseline per bucket (hour of week or day), falling back to the hour of
    the day, then to the whole baseline, where a bucket has too few values."""
    buckets: dict[int, list[float]] = defaultdict(list)
    daily: dict[int, list[float]] = defaultdict(list)
    for t, v in zip(ts, values, strict=True):
        buckets[key(t)].append(v)
        daily[hour_of_day(t)].append(v)
    medians = {k: median(vs) for k, vs in buckets.items() if len(vs) >= MIN_BUCKET}
    day_medians = {k: median(vs) for k, vs in daily.items() if len(vs) >= MIN_BUCKET}
    overall = median(values)

    def expected(t: int) -> float:
        value = medians.get(key(t))
        if value is None:
            value = day_medians.get(hour_of_day(t), overall)
        return value

    return expected
