"""The few statistics the detectors need, exact and deterministic (no sampling, no randomness)."""

from __future__ import annotations

import math
from collections.abc import Sequence

MAD_TO_SIGMA = 1.4826  # MAD x 1.4826 estimates the standard deviation of normal noise


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between the closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of nothing")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def mad(values: Sequence[float], center: float | None = None) -> float:
    """Median absolute deviation from ``center`` (the median by default)."""
    c = median(values) if center is None else center
    return median([abs(v - c) for v in values])


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least squares ``y = slope * x + intercept``: (slope, intercept, r squared)."""
    n = len(xs)
    if n < 2:
        raise ValueError("a fit needs two points")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("a fit needs two distinct x")
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - my) ** 2 for y in ys)
    slope = sxy / sxx
    intercept = my - slope * mx
    r2 = 1.0 if syy == 0 else (sxy * sxy) / (sxx * syy)
    return slope, intercept, r2


def runs(flags: Sequence[bool], ts: Sequence[int], max_gap: int) -> list[tuple[int, int]]:
    """Index ranges [i, j] of consecutive True flags whose timestamps are at most ``max_gap``
    apart; a single False between two Trues is bridged (noise around a threshold)."""
    out: list[tuple[int, int]] = []
    start = last = -1
    for i, flag in enumerate(flags):
        if not flag:
            continue
        step = i - last
        if start >= 0 and ((step == 1 and ts[i] - ts[last] <= max_gap)
                           or (step == 2 and ts[i] - ts[last] <= 2 * max_gap)):
            last = i
            continue
        if start >= 0:
            out.append((start, last))
        start = last = i
    if start >= 0:
        out.append((start, last))
    return out
