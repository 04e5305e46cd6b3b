"""What real CloudWatch does and moto's GetMetricData does not, in front of moto.

moto answers every GetMetricData whole: it never pages, accepts any number of queries and is
never throttled or refused. This stand-in sits in the client (botocore's ``before-call`` hook,
like the scanner's tests) and forwards each call to moto through a plain client, then answers as
AWS would:

- more than 500 queries: ``ValidationError`` ("The collection MetricDataQueries must not have a
  size greater than 500.");
- more datapoints than ``max_datapoints`` (AWS: 100,800, or the call's MaxDatapoints): the first
  ones (oldest first for TimestampAscending), queries with more to come marked ``PartialData``,
  and a ``NextToken`` for the rest;
- on demand: the next N calls throttled (HTTP 400 ``Throttling``), a region refused (HTTP 403
  ``AccessDenied``), some metrics answered ``Forbidden``, a delay before answering.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3


class _Http:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.raw = None
        self.content = b""


@dataclass
class CloudWatchLimits:
    moto_url: str
    max_datapoints: int = 100_800
    throttle_next: int = 0
    denied_regions: set[str] = field(default_factory=set)
    forbidden_metrics: set[str] = field(default_factory=set)  # metric names
    delay_s: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    _pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.session = boto3.Session()
        self.session.events.register("before-parameter-build.cloudwatch.GetMetricData", self._params)
        self.session.events.register("before-call.cloudwatch.GetMetricData", self._answer)
        self._plain: dict[str, Any] = {}

    def client_for(self, region: str) -> Any:
        return self.session.client("cloudwatch", region_name=region, endpoint_url=self.moto_url)

    # -- the hooks --------------------------------------------------------------------------
    def _params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["archops_params"] = copy.deepcopy(params)

    def _answer(self, model: Any, context: dict[str, Any], **kwargs: Any) -> Any:
        params = context["archops_params"]
        region = kwargs["request_signer"].region_name
        queries = params["MetricDataQueries"]
        with self._lock:
            self.calls.append({"region": region, "queries": len(queries), "start": params["StartTime"],
                               "end": params["EndTime"], "next_token": params.get("NextToken"),
                               "ids": [q["Id"] for q in queries],
                               "metrics": [q["MetricStat"]["Metric"]["MetricName"] for q in queries]})
            throttled = self.throttle_next > 0
            if throttled:
                self.throttle_next -= 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if throttled:
            return _Http(400), {"Error": {"Code": "Throttling", "Message": "Rate exceeded"},
                                "ResponseMetadata": {"HTTPStatusCode": 400}}
        if region in self.denied_regions:
            return _Http(403), {"Error": {"Code": "AccessDenied", "Message":
                                          "User: arn:aws:sts::123456789012:assumed-role/archops is not "
                                          "authorized to perform: cloudwatch:GetMetricData"},
                                "ResponseMetadata": {"HTTPStatusCode": 403}}
        if len(queries) > 500:
            return _Http(400), {"Error": {"Code": "ValidationError", "Message":
                                          "The collection MetricDataQueries must not have a size greater than 500."},
                                "ResponseMetadata": {"HTTPStatusCode": 400}}
        token = params.get("NextToken")
        if token:
            with self._lock:
                rest = self._pages.pop(token, None)
            if rest is None:
                return _Http(400), {"Error": {"Code": "InvalidNextToken", "Message": "The token is invalid"},
                                    "ResponseMetadata": {"HTTPStatusCode": 400}}
        else:
            rest = self._from_moto(region, params)
        return _Http(200), self._page(rest, min(self.max_datapoints, int(params.get("MaxDatapoints") or 10**9)))

    # -- forwarding and paging ----------------------------------------------------------------
    def _from_moto(self, region: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if region not in self._plain:
            self._plain[region] = boto3.client("cloudwatch", region_name=region, endpoint_url=self.moto_url)
        plain = {k: v for k, v in params.items() if k not in ("NextToken", "MaxDatapoints")}
        answer = self._plain[region].get_metric_data(**plain)
        names = {q["Id"]: q["MetricStat"]["Metric"]["MetricName"] for q in params["MetricDataQueries"]}
        out = []
        for result in answer["MetricDataResults"]:
            if names.get(result["Id"]) in self.forbidden_metrics:
                out.append({"Id": result["Id"], "Label": result.get("Label", ""), "StatusCode": "Forbidden",
                            "Timestamps": [], "Values": [],
                            "Messages": [{"Code": "Forbidden", "Value": "not authorized for this namespace"}]})
            else:
                out.append(dict(result))
        return out

    def _page(self, results: list[dict[str, Any]], limit: int) -> dict[str, Any]:
        points = sorted((ts, i, k) for i, r in enumerate(results) for k, ts in enumerate(r["Timestamps"]))
        taken = {(i, k) for _, i, k in points[:limit]}
        page, rest = [], []
        for i, r in enumerate(results):
            keep = [k for k in range(len(r["Timestamps"])) if (i, k) in taken]
            more = [k for k in range(len(r["Timestamps"])) if (i, k) not in taken]
            page.append({**r, "Timestamps": [r["Timestamps"][k] for k in keep],
                         "Values": [r["Values"][k] for k in keep],
                         "StatusCode": "PartialData" if more else r.get("StatusCode", "Complete")})
            if more:
                rest.append({**r, "Timestamps": [r["Timestamps"][k] for k in more],
                             "Values": [r["Values"][k] for k in more]})
        answer: dict[str, Any] = {"MetricDataResults": page, "Messages": [],
                                  "ResponseMetadata": {"HTTPStatusCode": 200}}
        if rest:
            token = uuid.uuid4().hex
            with self._lock:
                self._pages[token] = rest
            answer["NextToken"] = token
        return answer
