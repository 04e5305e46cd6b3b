"""The inventory: every resource the scanner knows, read with boto3 across the project's regions.

Reading happens in phases of independent API calls run on a thread pool (each thread its own
boto3 clients): the list calls of every service and region first, then the per-item details they
call for (VPC attributes, listeners and target health, bucket settings, instance profiles), then
the IAM roles those use. Each call takes a token from its service's rate budget in its region
(a token bucket), pages through results, and retries throttling with full-jitter exponential
backoff. A call refused (AccessDenied) or failing (an outage) leaves out what it would have read
and records which IAM action would fix it: the inventory is partial, never wrong. With a
checkpoint file, what was read survives an interruption and the next run reads only the rest.

Credentials and endpoints come the way the SDK takes them: the default chain, a profile, and
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` (or an explicit ``endpoint_url``).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from scanner.models import GLOBAL, Inventory, Missing

# calls per second (refill) and burst per service and region: below AWS's published budgets
# (EC2's describe bucket refills 20/s, burst 100; ELB and RDS are near 10/s)
RATES: dict[str, tuple[float, int]] = {
    "ec2": (20.0, 50), "rds": (10.0, 20), "lambda": (15.0, 30), "s3": (50.0, 100),
    "elasticache": (10.0, 20), "elbv2": (10.0, 20), "elb": (10.0, 20), "iam": (10.0, 20), "sts": (5.0, 5),
    "resourcegroupstaggingapi": (5.0, 5),
    # Route 53's API allows 5 requests a second per account, across every caller: one bucket,
    # global (its region is "global"), shared by all the pool's threads
    "route53": (5.0, 5),
}
THROTTLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "SlowDown", "RequestThrottled", "RequestThrottledException",
    "PriorRequestNotComplete", "EC2ThrottledException", "BandwidthLimitExceeded",
})
DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
    "Forbidden", "UnauthorizedException", "InvalidClientTokenId", "UnrecognizedClientException",
})
# answers that mean "not configured", not a failure
ABSENT_CODES = frozenset({
    "NoSuchBucketPolicy", "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchPublicAccessBlockConfiguration", "NoSuchTagSet", "NoSuchTagSetError", "NoSuchEntity",
    "ResourceNotFoundException",
})
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "elb": "elasticloadbalancing", "resourcegroupstaggingapi": "tag"}
# the smallest page each service accepts (RDS and ElastiCache: MaxRecords 20-100; EC2: 5-1000)
PAGE_MINIMUM = {"rds": 20, "elasticache": 20, "ec2": 5}
# S3 operations whose IAM action is named differently
S3_ACTIONS = {
    "ListBuckets": "s3:ListAllMyBuckets", "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
}
# what each list call yields (for the report of what is missing)
KINDS_OF = {
    "DescribeVpcs": ["vpc"], "DescribeSubnets": ["subnet"], "DescribeRouteTables": ["route_table"],
    "DescribeInternetGateways": ["internet_gateway"], "DescribeNatGateways": ["nat_gateway"], "DescribeAddresses": ["elastic_ip"],
    "DescribeSecurityGroups": ["security_group"], "DescribeSecurityGroupRules": ["security_group_rule"],
    "DescribeInstances": ["instance"], "DescribeDBInstances": ["db_instance"],
    "DescribeDBClusters": ["db_cluster"], "DescribeDBSubnetGroups": ["db_subnet_group"],
    "ListFunctions": ["lambda_function"], "ListBuckets": ["s3_bucket"],
    "DescribeCacheClusters": ["cache_cluster"], "DescribeReplicationGroups": ["replication_group"],
    "DescribeCacheSubnetGroups": ["cache_subnet_group"], "DescribeLoadBalancers": ["load_balancer"],
    "DescribeTargetGroups": ["target_group"], "DescribeListeners": ["listener"],
    "GetRole": ["iam_role"], "elb:DescribeLoadBalancers": ["classic_load_balancer"],
    "ListHostedZones": ["hosted_zone"], "ListResourceRecordSets": ["dns_record"],
}


def iam_action(service: str, operation: str) -> str:
    if service == "s3" and operation in S3_ACTIONS:
        return S3_ACTIONS[operation]
    return f"{IAM_PREFIX.get(service, service)}:{operation}"


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; :meth:`take` waits for one."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


class Interrupted(Exception):
    """The scan was told to stop (:meth:`Scanner.cancel`); what it read is in its checkpoint."""


class Refused(Exception):
    """A call that failed for good: denied, or still failing after the retries."""

    def __init__(self, service: str, region: str, operation: str, code: str, message: str) -> None:
        super().__init__(f"{service}:{operation} in {region}: {code}")
        self.service, self.region, self.operation = service, region, operation
        self.code, self.message = code, message


def scrub(service: str, operation: str, answer: Any) -> Any:
    """What the scanner keeps of an answer: never a value that may be a secret. Lambda's
    environment variables keep their names only; nothing else the scan reads carries one
    (RDS and ElastiCache never return passwords or auth tokens, EC2's user data is not read)."""
    if service == "lambda" and operation in ("ListFunctions", "GetFunction", "GetFunctionConfiguration"):
        for fn in answer if isinstance(answer, list) else [answer]:
            env = (fn or {}).get("Environment") if isinstance(fn, dict) else None
            if isinstance(env, dict) and isinstance(env.get("Variables"), dict):
                env["Variables"] = {k: None for k in env["Variables"]}
    return answer


def _plain(value: Any) -> Any:
    """An API answer as JSON data (datetimes become ISO text), without ResponseMetadata."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


@dataclass
class Task:
    key: str
    service: str
    region: str
    operation: str
    run: Callable[[], Any]


class Scanner:
    """Reads one account's inventory; see the module docstring.

    ``concurrent=False`` runs the same calls one after another (the benchmark's baseline).
    ``session`` may carry botocore event handlers (tests inject refusals that way).
    """

    def __init__(
        self,
        regions: Iterable[str],
        *,
        session: boto3.Session | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        max_workers: int = 16,
        concurrent: bool = True,
        rates: dict[str, tuple[float, int]] | None = None,
        max_attempts: int = 8,
        backoff_base: float = 0.1,
        backoff_cap: float = 5.0,
        checkpoint: str | Path | None = None,
        client_per_thread: bool = False,
        page_size: int | None = None,
        role_arn: str | None = None,
        external_id: str | None = None,
        session_name: str = "archops-scan",
    ) -> None:
        self.regions = list(dict.fromkeys(r.strip() for r in regions if r.strip()))
        if not self.regions:
            raise ValueError("a scan needs at least one region")
        self.session = session or boto3.Session(profile_name=profile)
        share_models(self.session)
        self.page_size = page_size
        if role_arn:
            self.session = assume_role(self.session, role_arn, endpoint_url, external_id=external_id,
                                       session_name=session_name)
        self.endpoint_url = endpoint_url
        self.max_workers = max_workers if concurrent else 1
        self.rates = {**RATES, **(rates or {})}
        self.max_attempts, self.backoff_base, self.backoff_cap = max_attempts, backoff_base, backoff_cap
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self._local = threading.local()
        self._clients: dict[tuple[str, str], Any] = {}
        self.client_per_thread = client_per_thread
        self._pool: ThreadPoolExecutor | None = None
        self._saved = 0.0
        self._session_lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._stats_lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.throttled = 0
        self.raw: dict[str, Any] = {}
        self.missing: list[Missing] = []
        self._stop = threading.Event()
        self._config = Config(retries={"total_max_attempts": 1}, max_pool_connections=max(10, max_workers),
                              connect_timeout=10, read_timeout=30)

    # -- clients, budgets, retries ---------------------------------------------------------
    def client(self, service: str, region: str) -> Any:
        """The client of a service in a region. boto3 clients are thread-safe (sessions are
        not), so by default the pool's threads share one per service and region, created under a
        lock: a client costs ~10 ms to make, and 16 threads x 16 services/regions made per thread
        cost more than reading a 100-resource account. ``client_per_thread`` makes them per thread."""
        if self.client_per_thread:
            cache = getattr(self._local, "clients", None)
            if cache is None:
                cache = self._local.clients = {}
        else:
            cache = self._clients
        key = (service, region)
        if key in cache:
            return cache[key]
        with self._session_lock:
            if key in cache:
                return cache[key]
            # IAM is global: its endpoint is in the partition's first region
            kwargs: dict[str, Any] = {"region_name": "us-east-1" if region == GLOBAL else region,
                                      "config": self._config}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            cache[key] = self.session.client(service, **kwargs)
            return cache[key]

    def _bucket(self, service: str, region: str) -> TokenBucket:
        key = (service, region)
        with self._stats_lock:
            if key not in self._buckets:
                rate, burst = self.rates.get(service, (10.0, 10))
                self._buckets[key] = TokenBucket(rate, burst)
            return self._buckets[key]

    def call(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        """One API call within the rate budget; throttles and transient failures are retried."""
        client = self.client(service, region)
        method = getattr(client, _snake(operation))
        bucket = self._bucket(service, region)
        for attempt in range(self.max_attempts):
            bucket.take()
            with self._stats_lock:
                self.calls[service] = self.calls.get(service, 0) + 1
            try:
                return _plain(method(**params))  # type: ignore[no-any-return]
            except ClientError as exc:
                err = exc.response.get("Error", {})
                code = str(err.get("Code", ""))
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
                if code in THROTTLE_CODES or status == 429:
                    with self._stats_lock:
                        self.throttled += 1
                elif status >= 500 and code not in DENIED_CODES:
                    pass  # an outage: retry a few times, then report it
                else:
                    raise
                last = (code or str(status), str(err.get("Message", "")))
            except BotoCoreError as exc:  # connection refused, timeouts: an outage
                last = (type(exc).__name__, str(exc))
                if attempt + 1 >= min(self.max_attempts, 3):  # an endpoint that is down stays down
                    break
            if attempt + 1 < self.max_attempts:
                time.sleep(random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** attempt)))
        raise Refused(service, region, operation, last[0], last[1])

    def pages(self, service: str, region: str, operation: str, key: str, **params: Any) -> list[Any]:
        """Every item of a paginated list call (NextToken, Marker, ContinuationToken...)."""
        client = self.client(service, region)
        name = _snake(operation)
        if not client.can_paginate(name):
            return list(self.call(service, region, operation, **params).get(key, []))
        paginator = client.get_paginator(name)
        config = paginator._pagination_cfg
        in_tokens = config["input_token"] if isinstance(config["input_token"], list) else [config["input_token"]]
        out_tokens = config["output_token"] if isinstance(config["output_token"], list) else [config["output_token"]]
        if self.page_size and config.get("limit_key"):
            low = PAGE_MINIMUM.get(service, 1)
            params = {**params, config["limit_key"]: max(low, self.page_size)}
        items: list[Any] = []
        seen: set[str] = set()
        while True:
            page = self.call(service, region, operation, **params)
            items += page.get(key, [])
            nxt = {i: page.get(o) for i, o in zip(in_tokens, out_tokens, strict=False) if page.get(o)}
            marker = json.dumps(nxt, sort_keys=True)
            if not nxt or marker in seen or (config.get("more_results") and not page.get(config["more_results"])):
                return items
            seen.add(marker)
            params = {**params, **nxt}

    # -- phases ------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop at the next call (from any thread): calls under way finish, the rest are not
        made, the checkpoint is written, and :meth:`scan` raises :class:`Interrupted`."""
        self._stop.set()

    def _run(self, tasks: list[Task]) -> None:
        todo = [t for t in tasks if t.key not in self.raw]

        def one(task: Task) -> None:
            if self._stop.is_set():
                return
            try:
                result = scrub(task.service, task.operation, task.run())
            except Refused as exc:
                self._missing(exc)
                return
            except ClientError as exc:
                err = exc.response.get("Error", {})
                code = str(err.get("Code", ""))
                if code in ABSENT_CODES:
                    result = None
                else:
                    self._missing(Refused(task.service, task.region, task.operation, code,
                                          str(err.get("Message", ""))))
                    return
            with self._stats_lock:
                self.raw[task.key] = result
                self._save()

        if self._pool is None:
            for task in todo:
                one(task)
        else:
            list(self._pool.map(one, todo))
        with self._stats_lock:
            self._save(force=True)
        if self._stop.is_set():
            raise Interrupted(f"the scan was stopped; {len(self.raw)} answers kept"
                              + (f" in {self.checkpoint}" if self.checkpoint else ""))

    def _missing(self, exc: Refused, kinds: list[str] | None = None) -> None:
        with self._stats_lock:
            if any((m.service, m.region, m.operation) == (exc.service, exc.region, exc.operation)
                   for m in self.missing):
                return
            cause: Literal["denied", "throttled", "unavailable"] = (
                "denied" if exc.code in DENIED_CODES else
                "throttled" if exc.code in THROTTLE_CODES or exc.code == "429" else "unavailable")
            self.missing.append(Missing(
                service=exc.service, region=exc.region, operation=exc.operation, cause=cause,
                action=iam_action(exc.service, exc.operation), error_code=exc.code,
                message=exc.message[:300],
                kinds=kinds or KINDS_OF.get(f"{exc.service}:{exc.operation}") or KINDS_OF.get(exc.operation, []),
            ))

    def _save(self, force: bool = False) -> None:
        """Write the checkpoint: at most once a second while a phase runs, and after each phase."""
        if self.checkpoint is None:
            return
        now = time.monotonic()
        if not force and now - self._saved < 1.0:
            return
        self._saved = now
        tmp = self.checkpoint.with_suffix(".tmp")
        tmp.write_text(json.dumps({"regions": self.regions, "raw": self.raw}))
        tmp.replace(self.checkpoint)

    def _load(self) -> None:
        if self.checkpoint is None or not self.checkpoint.exists():
            return
        data = json.loads(self.checkpoint.read_text())
        if data.get("regions") == self.regions:
            self.raw = dict(data.get("raw") or {})

    def _list(self, service: str, region: str, operation: str, key: str, **params: Any) -> Task:
        return Task(f"{service}|{region}|{operation}", service, region, operation,
                    lambda: self.pages(service, region, operation, key, **params))

    def _one(self, service: str, region: str, operation: str, arg: str, **params: Any) -> Task:
        return Task(f"{service}|{region}|{operation}|{arg}", service, region, operation,
                    lambda: self.call(service, region, operation, **params))

    def list_tasks(self) -> list[Task]:
        out: list[Task] = []
        for r in self.regions:
            out += [
                self._list("ec2", r, "DescribeVpcs", "Vpcs"),
                self._list("ec2", r, "DescribeSubnets", "Subnets"),
                self._list("ec2", r, "DescribeRouteTables", "RouteTables"),
                self._list("ec2", r, "DescribeInternetGateways", "InternetGateways"),
                self._list("ec2", r, "DescribeNatGateways", "NatGateways"),
                self._list("ec2", r, "DescribeAddresses", "Addresses"),
                self._list("ec2", r, "DescribeSecurityGroups", "SecurityGroups"),
                self._list("ec2", r, "DescribeSecurityGroupRules", "SecurityGroupRules"),
                self._list("ec2", r, "DescribeInstances", "Reservations"),
                self._list("rds", r, "DescribeDBInstances", "DBInstances"),
                self._list("rds", r, "DescribeDBClusters", "DBClusters"),
                self._list("rds", r, "DescribeDBSubnetGroups", "DBSubnetGroups"),
                self._list("lambda", r, "ListFunctions", "Functions"),
                self._list("elasticache", r, "DescribeCacheClusters", "CacheClusters"),
                self._list("elasticache", r, "DescribeReplicationGroups", "ReplicationGroups"),
                self._list("elasticache", r, "DescribeCacheSubnetGroups", "CacheSubnetGroups"),
                self._list("elbv2", r, "DescribeLoadBalancers", "LoadBalancers"),
                self._list("elbv2", r, "DescribeTargetGroups", "TargetGroups"),
                self._list("elb", r, "DescribeLoadBalancers", "LoadBalancerDescriptions"),
            ]
        out.append(self._list("s3", self.regions[0], "ListBuckets", "Buckets"))
        out.append(self._list("route53", GLOBAL, "ListHostedZones", "HostedZones"))
        return out

    def _got(self, service: str, region: str, operation: str) -> list[Any]:
        return list(self.raw.get(f"{service}|{region}|{operation}") or [])

    def detail_tasks(self) -> list[Task]:
        out: list[Task] = []
        for r in self.regions:
            for vpc in self._got("ec2", r, "DescribeVpcs"):
                for attr in ("enableDnsHostnames", "enableDnsSupport"):
                    out.append(self._one("ec2", r, "DescribeVpcAttribute", f"{vpc['VpcId']}|{attr}",
                                         VpcId=vpc["VpcId"], Attribute=attr))
            lbs = [lb["LoadBalancerArn"] for lb in self._got("elbv2", r, "DescribeLoadBalancers")]
            tgs = [tg["TargetGroupArn"] for tg in self._got("elbv2", r, "DescribeTargetGroups")]
            for arn in lbs:
                out.append(Task(f"elbv2|{r}|DescribeListeners|{arn}", "elbv2", r, "DescribeListeners",
                                _bind(self.pages, "elbv2", r, "DescribeListeners", "Listeners", LoadBalancerArn=arn)))
            for arn in tgs:
                out.append(self._one("elbv2", r, "DescribeTargetHealth", arn, TargetGroupArn=arn))
            arns = lbs + tgs
            for i in range(0, len(arns), 20):
                out.append(self._one("elbv2", r, "DescribeTags", str(i), ResourceArns=arns[i:i + 20]))
            classic = [lb["LoadBalancerName"] for lb in self._got("elb", r, "DescribeLoadBalancers")]
            for i in range(0, len(classic), 20):
                out.append(self._one("elb", r, "DescribeTags", str(i), LoadBalancerNames=classic[i:i + 20]))
            for fn in self._got("lambda", r, "ListFunctions"):
                out.append(self._one("lambda", r, "ListTags", fn["FunctionArn"], Resource=fn["FunctionArn"]))
            for cc in self._got("elasticache", r, "DescribeCacheClusters"):
                if cc.get("ARN") and not cc.get("ReplicationGroupId"):
                    out.append(self._one("elasticache", r, "ListTagsForResource", cc["ARN"], ResourceName=cc["ARN"]))
            for rg in self._got("elasticache", r, "DescribeReplicationGroups"):
                if rg.get("ARN"):
                    out.append(self._one("elasticache", r, "ListTagsForResource", rg["ARN"], ResourceName=rg["ARN"]))
            profiles = {i["IamInstanceProfile"]["Arn"].rsplit("/", 1)[-1]
                        for res in self._got("ec2", r, "DescribeInstances") for i in res.get("Instances", [])
                        if i.get("IamInstanceProfile", {}).get("Arn")}
            for name in sorted(profiles):
                out.append(self._one("iam", GLOBAL, "GetInstanceProfile", name, InstanceProfileName=name))
        for zone in self._got("route53", GLOBAL, "ListHostedZones"):
            zid = zone["Id"].rsplit("/", 1)[-1]
            out.append(Task(f"route53|{GLOBAL}|ListResourceRecordSets|{zid}", "route53", GLOBAL,
                            "ListResourceRecordSets", _bind(self.pages, "route53", GLOBAL, "ListResourceRecordSets",
                                                            "ResourceRecordSets", HostedZoneId=zid)))
            out.append(self._one("route53", GLOBAL, "ListTagsForResource", zid, ResourceType="hostedzone",
                                 ResourceId=zid))
            if (zone.get("Config") or {}).get("PrivateZone"):  # which VPCs it answers in
                out.append(self._one("route53", GLOBAL, "GetHostedZone", zid, Id=zid))
        for bucket in self._got("s3", self.regions[0], "ListBuckets"):
            name = bucket["Name"]
            out.append(Task(f"s3|{GLOBAL}|Bucket|{name}", "s3", GLOBAL, "GetBucketLocation",
                            _bind(self._bucket_details, name)))
        return out

    def _bucket_details(self, name: str) -> dict[str, Any]:
        home = self.regions[0]
        location = self.call("s3", home, "GetBucketLocation", Bucket=name).get("LocationConstraint") or "us-east-1"
        location = "eu-west-1" if location == "EU" else location
        out: dict[str, Any] = {"Region": location}
        if location not in self.regions:
            return out
        for op, key, params in (
            ("GetBucketEncryption", "ServerSideEncryptionConfiguration", {}),
            ("GetBucketVersioning", None, {}),
            ("GetPublicAccessBlock", "PublicAccessBlockConfiguration", {}),
            ("GetBucketPolicy", "Policy", {}),
            ("GetBucketTagging", "TagSet", {}),
        ):
            try:
                answer = self.call("s3", location, op, Bucket=name, **params)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in ABSENT_CODES:
                    continue
                # the bucket stays in the inventory; this one setting is reported as unread
                self._missing(Refused("s3", location, op, code, str(exc.response.get("Error", {}).get("Message", ""))),
                              kinds=[f"s3_bucket {op.removeprefix('Get').removeprefix('Bucket').lower()}"])
                out.setdefault("Unread", []).append(op)
                continue
            except Refused as exc:
                self._missing(exc, kinds=[f"s3_bucket {op.removeprefix('Get').removeprefix('Bucket').lower()}"])
                out.setdefault("Unread", []).append(op)
                continue
            out[op] = answer if key is None else answer.get(key)
        return out

    def role_tasks(self) -> list[Task]:
        names: set[str] = set()
        for r in self.regions:
            for fn in self._got("lambda", r, "ListFunctions"):
                if fn.get("Role"):
                    names.add(fn["Role"].rsplit("/", 1)[-1])
            for db in self._got("rds", r, "DescribeDBInstances"):
                if db.get("MonitoringRoleArn"):
                    names.add(db["MonitoringRoleArn"].rsplit("/", 1)[-1])
            for cluster in self._got("rds", r, "DescribeDBClusters"):
                names.update(a["RoleArn"].rsplit("/", 1)[-1] for a in cluster.get("AssociatedRoles") or []
                             if a.get("RoleArn"))
        for key, value in self.raw.items():
            if key.startswith("iam|global|GetInstanceProfile|") and value:
                names.update(role["RoleName"] for role in value["InstanceProfile"].get("Roles", []))
        out: list[Task] = []
        for name in sorted(names):
            out.append(self._one("iam", GLOBAL, "GetRole", name, RoleName=name))
            out.append(Task(f"iam|{GLOBAL}|ListAttachedRolePolicies|{name}", "iam", GLOBAL,
                            "ListAttachedRolePolicies",
                            _bind(self.pages, "iam", GLOBAL, "ListAttachedRolePolicies", "AttachedPolicies",
                                  RoleName=name)))
        return out

    def scan(self) -> Inventory:
        started = time.perf_counter()
        self._load()
        # one pool for every phase: its threads keep their clients from one phase to the next
        if self.max_workers > 1:
            self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="archops-scan")
        try:
            self._run(self.list_tasks())
            self._run(self.detail_tasks())
            self._run(self.role_tasks())
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None
        from scanner.build import build_inventory

        inventory = build_inventory(self.regions, self.raw)
        inventory.missing = sorted(self.missing, key=lambda m: (m.service, m.region, m.operation))
        inventory.api_calls = dict(sorted(self.calls.items()))
        inventory.throttled = self.throttled
        inventory.seconds = round(time.perf_counter() - started, 3)
        return inventory


SESSION_NAME = re.compile(r"[^\w+=,.@-]")


def session_name_for(*parts: str) -> str:
    """An STS session name (2-64 of ``[\\w+=,.@-]``) that says who asked, so that the account's
    CloudTrail shows archops' calls under the project and the person: ``archops-acme-alice``."""
    name = SESSION_NAME.sub("-", "-".join(p for p in ("archops", *parts) if p))
    return name[:64] if len(name) >= 2 else "archops-scan"


def assume_role(session: boto3.Session, role_arn: str, endpoint_url: str | None = None, *,
                external_id: str | None = None, session_name: str = "archops-scan") -> boto3.Session:
    """``session`` on the project's role: STS AssumeRole from the caller's credentials, with the
    external id the role's trust policy requires, refreshed before the credentials expire (as
    the SDK's own ``role_arn`` profiles do). The session itself takes the role's credentials, so
    its profile's configuration (region, ``endpoint_url``) and its event handlers still apply;
    the STS client keeps the caller's."""
    from botocore.credentials import DeferredRefreshableCredentials, create_assume_role_refresher

    kwargs: dict[str, Any] = {"region_name": session.region_name or "us-east-1"}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    sts = session.client("sts", **kwargs)
    params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if external_id:
        params["ExternalId"] = external_id
    refresher = create_assume_role_refresher(sts, params)
    session._session._credentials = DeferredRefreshableCredentials(refresher, "assume-role")  # type: ignore[attr-defined]
    return session


_LOADER: Any = None
_LOADER_LOCK = threading.Lock()


def share_models(session: boto3.Session) -> None:
    """Let ``session`` read the services' API models from one loader for the whole process:
    a new session parses them again (seconds for the ~10 services a scan uses, EC2's alone is
    megabytes of JSON), and a long-lived process (the web app, the Slack edge) scans again and
    again. The models are read-only, so sharing them is safe."""
    global _LOADER
    from botocore.loaders import create_loader

    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = create_loader()
    session._session.register_component("data_loader", _LOADER)  # type: ignore[attr-defined]


def _bind(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: fn(*args, **kwargs)


def _snake(operation: str) -> str:
    from botocore import xform_name

    return xform_name(operation)


def scan(regions: Iterable[str], **options: Any) -> Inventory:
    """Read the inventory of ``regions`` (see :class:`Scanner` for the options)."""
    return Scanner(regions, **options).scan()


__all__ = ["RATES", "Interrupted", "Refused", "Scanner", "TokenBucket", "assume_role", "iam_action", "scan", "scrub",
           "session_name_for", "share_models"]
