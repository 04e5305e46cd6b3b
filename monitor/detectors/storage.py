"""Storage running out: free space falling steadily, and the day it reaches zero at that pace.

The free storage of an RDS instance over the last 7 days, one point an hour (its lowest), is
fitted with a straight line (least squares). A fall that explains most of the variation (r
squared 0.6 or more: a steady trend, not noise or one deploy's temporary files) and reaches zero
within 30 days is a finding (critical within 7). So is free space under 10% of what is
allocated, whatever the trend. The recommendation sizes the storage for 90 more days at the
same pace plus 25%, in steps of 10 GB, and prices it.
"""

from __future__ import annotations

import math

from monitor import pricing
from monitor.insight import Context, Finding, day, text, usd
from monitor.stats import linear_fit

ID = "storage"
WINDOW_S = 7 * 24 * 3600
MIN_HOURS = 24
MIN_R2 = 0.6
HORIZON_DAYS = 30
CRITICAL_DAYS = 7
GB = 1024 ** 3


def detect(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for r in ctx.resources("db_instance"):
        free = ctx.one(r.id, "free_storage")
        if free is None:
            continue
        hourly = free.since(ctx.now - WINDOW_S, ctx.now).hourly()
        if len(hourly) < MIN_HOURS:
            continue
        finding = _judge(ctx, r, hourly.ts, hourly.values)
        if finding:
            out.append(finding)
    return out


def _judge(ctx: Context, r, ts: list[int], values: list[float]) -> Finding | None:  # type: ignore[no-untyped-def]
    slope, intercept, r2 = linear_fit(ts, values)  # bytes per second
    current = values[-1]
    allocated_gb = float(r.attrs.get("allocated_storage") or 0)
    low = allocated_gb > 0 and current < 0.10 * allocated_gb * GB
    days_left = current / -slope / 86400 if slope < 0 else math.inf
    trending = slope < 0 and r2 >= MIN_R2 and days_left <= HORIZON_DAYS
    if not (trending or low):
        return None
    per_day_gb = max(0.0, -slope * 86400 / GB)
    used_gb = max(0.0, allocated_gb - current / GB) if allocated_gb else None
    target_gb = None
    delta = None
    if used_gb is not None:
        need = (used_gb + per_day_gb * 90) * 1.25
        target_gb = max(int(allocated_gb) + 10, int(math.ceil(need / 10.0)) * 10)
        copies = 2 if r.attrs.get("multi_az") else 1
        delta = (target_gb - allocated_gb) * pricing.storage_gb_month(str(r.attrs.get("storage_type") or "gp3")) * copies
    out_at = ctx.now + int(days_left * 86400) if math.isfinite(days_left) else None
    severity = "critical" if (days_left <= CRITICAL_DAYS or low) else "warning"
    when_en = f"runs out around {day(out_at)} ({days_left:.1f} days)" if out_at else "is below 10% of what is allocated"
    when_ko = f"{day(out_at)}경 소진({days_left:.1f}일 후)" if out_at else "할당량의 10% 미만"
    rec_en = (f"Free storage {current / GB:.2f} GB, falling {per_day_gb:.2f} GB a day over the last "
              f"{(ts[-1] - ts[0]) / 86400:.1f} days (r² {r2:.2f}); at that pace it {when_en}.")
    rec_ko = (f"여유 공간 {current / GB:.2f} GB, 최근 {(ts[-1] - ts[0]) / 86400:.1f}일간 하루 "
              f"{per_day_gb:.2f} GB씩 감소(r² {r2:.2f}): 이 속도면 {when_ko}.")
    change = None
    if target_gb is not None and delta is not None:
        rec_en += f" Grow it from {allocated_gb:.0f} GB to {target_gb} GB ({usd(delta)}), or set max_allocated_storage."
        rec_ko += f" {allocated_gb:.0f} GB에서 {target_gb} GB로 늘리거나({usd(delta)}) max_allocated_storage를 설정하세요."
        change = (f"increase the allocated storage of database instance {r.id} from {allocated_gb:.0f} GB "
                  f"to {target_gb} GB (free storage {when_en} at the current pace)")
    return Finding(
        detector=ID, severity=severity, resource=r, metric="free_storage",
        title=text(f"storage of {r.label} {when_en}", f"{r.label}의 스토리지가 {when_ko}"),
        recommendation=text(rec_en, rec_ko),
        numbers={"free_gb": round(current / GB, 3), "gb_per_day": round(per_day_gb, 3),
                 "r2": round(r2, 3), "days_left": round(days_left, 1) if math.isfinite(days_left) else None,
                 "runs_out": day(out_at) if out_at else None, "allocated_gb": allocated_gb or None,
                 "recommended_gb": target_gb},
        window_start=ts[0], window_end=ts[-1] + 3600, change_request=change, monthly_usd=delta)
