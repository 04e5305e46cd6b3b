"""Seeded metric series with known patterns, put into moto's CloudWatch with put_metric_data.

Every generator is deterministic (its own ``random.Random(seed)``) and returns [(ts, value)] at
period boundaries ending at the last complete period before ``now``, oldest first.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Series = list[tuple[int, float]]


def now_aligned(period: int = 300) -> int:
    return int(time.time()) // period * period


def times(now: int, hours: float, period: int = 300) -> list[int]:
    n = int(hours * 3600 // period)
    return [now - period * k for k in range(n, 0, -1)]


def shape(now: int, hours: float, fn: Callable[[int, int], float], period: int = 300) -> Series:
    """fn(index, ts) -> value for every period of the last ``hours``."""
    return [(t, fn(i, t)) for i, t in enumerate(times(now, hours, period))]


def noise(now: int, hours: float, level: float, sd: float, seed: int = 1, period: int = 300,
          floor: float = 0.0) -> Series:
    rng = random.Random(seed)
    return shape(now, hours, lambda i, t: max(floor, rng.gauss(level, sd)), period)


def daily(now: int, hours: float, low: float, high: float, sd: float, seed: int = 2,
          period: int = 300, peak_hour: int = 14) -> Series:
    """A day-shaped load: ``high`` at ``peak_hour`` UTC, ``low`` twelve hours later, plus noise."""
    rng = random.Random(seed)

    def value(_i: int, t: int) -> float:
        hour = (t % 86400) / 3600
        phase = math.cos((hour - peak_hour) / 24 * 2 * math.pi)
        return max(0.0, low + (high - low) * (phase + 1) / 2 + rng.gauss(0, sd))
    return shape(now, hours, value, period)


def weekly(now: int, hours: float, weekday: float, weekend: float, sd: float, seed: int = 3,
           period: int = 3600) -> Series:
    rng = random.Random(seed)

    def value(_i: int, t: int) -> float:
        dow = datetime.fromtimestamp(t, UTC).weekday()
        return max(0.0, (weekend if dow >= 5 else weekday) + rng.gauss(0, sd))
    return shape(now, hours, value, period)


def with_points(series: Series, changes: dict[int, float]) -> Series:
    """The series with the values at some timestamps replaced (a blip, a spike)."""
    return [(t, changes.get(t, v)) for t, v in series]


def last(series: Series, n: int, value: float | Callable[[float], float]) -> Series:
    """The series with its last ``n`` values replaced."""
    out = list(series)
    for k in range(len(out) - n, len(out)):
        t, v = out[k]
        out[k] = (t, value(v) if callable(value) else value)
    return out


def put(cw: Any, namespace: str, name: str, dims: dict[str, str], series: Series, unit: str | None = None) -> None:
    """put_metric_data in batches of 1,000 (CloudWatch's limit per call)."""
    data = [{"MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
             "Timestamp": datetime.fromtimestamp(t, UTC), "Value": float(v),
             **({"Unit": unit} if unit else {})} for t, v in series]
    for i in range(0, len(data), 1000):
        cw.put_metric_data(Namespace=namespace, MetricData=data[i:i + 1000])
