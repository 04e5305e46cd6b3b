"""GetMetricData for one region, the way AWS answers it: pages, throttling, refusals.

- every page of a call is read (``NextToken``), and what each query returned is joined;
- a throttled call (``Throttling``, HTTP 429...) is retried with full-jitter exponential backoff,
  up to ``max_attempts``; then the call is given up as :class:`Unavailable`;
- a refused call (``AccessDenied``...) raises :class:`Denied`: the collector reports the region
  (with the IAM action to grant) and goes on with the others;
- a query answered ``Forbidden`` (a policy that denies one namespace), or ``InternalError``, is
  reported for that metric alone; the call's other queries keep their data.

Counts every call and every metric requested: GetMetricData is billed per metric requested
($0.01 per 1,000), and a page is a call of its own that requests its metrics again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from monitor.plan import Call
from scanner.inventory import DENIED_CODES, THROTTLE_CODES

PRICE_PER_METRIC = 0.01 / 1000
ACTION = "cloudwatch:GetMetricData"
_THROTTLE = THROTTLE_CODES | {"LimitExceeded", "LimitExceededException"}


class Denied(Exception):
    def __init__(self, region: str, code: str, message: str) -> None:
        super().__init__(f"GetMetricData in {region}: {code}")
        self.region, self.code, self.message = region, code, message


class Unavailable(Exception):
    def __init__(self, region: str, code: str, message: str) -> None:
        super().__init__(f"GetMetricData in {region}: {code}")
        self.region, self.code, self.message = region, code, message


@dataclass
class Fetched:
    """What one call brought back: query id -> [(ts, value)], and the queries that failed."""

    values: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)  # query id -> (status, why)


class CloudWatch:
    def __init__(self, client: Any, region: str, *, max_attempts: int = 8, backoff_base: float = 0.2,
                 backoff_cap: float = 20.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.region = region
        self.max_attempts = max_attempts
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.sleep = sleep
        self.calls = 0
        self.metrics_requested = 0
        self.throttled = 0

    @property
    def cost_usd(self) -> float:
        return self.metrics_requested * PRICE_PER_METRIC

    def fetch(self, call: Call) -> Fetched:
        out = Fetched({qid: [] for qid in call.queries})
        params: dict[str, Any] = {
            "MetricDataQueries": call.request(), "ScanBy": "TimestampAscending",
            "StartTime": datetime.fromtimestamp(call.start, UTC),
            "EndTime": datetime.fromtimestamp(call.end, UTC),
        }
        tokens: set[str] = set()
        while True:
            page = self._call(params)
            for result in page.get("MetricDataResults") or []:
                qid = result.get("Id")
                if qid not in out.values:
                    continue
                status = result.get("StatusCode") or "Complete"
                if status in ("Forbidden", "InternalError"):
                    why = "; ".join(str(m.get("Value", "")) for m in result.get("Messages") or [])
                    out.failed[qid] = (status, why or status)
                    continue
                out.values[qid] += [(_epoch(ts), float(v)) for ts, v in
                                    zip(result.get("Timestamps") or [], result.get("Values") or [],
                                        strict=False)]
            token = page.get("NextToken")
            if not token or token in tokens:
                break
            tokens.add(token)
            params = {**params, "NextToken": token}
        for points in out.values.values():
            points.sort()
        return out

    def _call(self, params: dict[str, Any]) -> dict[str, Any]:
        last = ("", "")
        for attempt in range(self.max_attempts):
            self.calls += 1
            self.metrics_requested += len(params["MetricDataQueries"])
            try:
                return dict(self.client.get_metric_data(**params))
            except ClientError as exc:
                err = exc.response.get("Error", {})
                code = str(err.get("Code", ""))
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
                message = str(err.get("Message", ""))
                if code in DENIED_CODES or status == 403:
                    raise Denied(self.region, code or str(status), message) from exc
                if code in _THROTTLE or status == 429:
                    self.throttled += 1
                elif status < 500:
                    raise Unavailable(self.region, code or str(status), message) from exc
                last = (code or str(status), message)
            except BotoCoreError as exc:  # connection refused, timeouts: a few tries only
                last = (type(exc).__name__, str(exc))
                if attempt + 1 >= min(self.max_attempts, 3):
                    break
            if attempt + 1 < self.max_attempts:
                self.sleep(random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** attempt)))
        raise Unavailable(self.region, last[0], f"still failing after {self.max_attempts} attempts: {last[1]}")


def _epoch(ts: Any) -> int:
    if isinstance(ts, datetime):
        return int(ts.timestamp())
    return int(ts)
