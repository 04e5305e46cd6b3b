"""The monitor's tests: moto's standalone server (CloudWatch on the real wire protocol, seeded
with put_metric_data), a real redis-server (the suite's), and the system of record on SQLite
(PostgreSQL too where the store itself is under test).

moto's GetMetricData scans every datapoint of a region for every period of every query, so
each test seeds its own region (``region`` below hands them out) and keeps its series short.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import boto3
import pytest

from core.store import Store
from core.store.metrics_store import MetricsStore
from monitor.collector import Collector, CollectorConfig
from monitor.lock import ProjectLock
from tests.aws_server import aws_account
from tests.store.pgdb import fresh_postgres_database

# regions moto serves, handed out one per test so that their datapoints never mix
REGIONS = ("us-east-2", "us-west-2", "us-west-1", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
           "eu-central-1", "eu-north-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
           "ap-southeast-1", "ap-southeast-2", "ap-south-1", "sa-east-1", "eu-south-1", "me-south-1",
           "af-south-1", "ap-east-1", "eu-central-2", "ap-south-2", "ap-southeast-3", "il-central-1",
           "me-central-1", "ap-southeast-4", "eu-south-2", "ca-west-1", "us-east-1")
_next_region = itertools.count()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with aws_account() as url:
        yield url


@pytest.fixture
def region() -> str:
    """A region no other test of this session seeds (there are more regions than such tests)."""
    n = next(_next_region)
    assert n < len(REGIONS), "more tests seed CloudWatch than there are regions: add regions"
    return REGIONS[n]


@pytest.fixture
def cw(moto_url: str) -> Callable[[str], Any]:
    def make(region: str) -> Any:
        return boto3.client("cloudwatch", region_name=region, endpoint_url=moto_url)
    return make


@pytest.fixture
def client_for(moto_url: str) -> Callable[[str], Any]:
    """What the collector calls: region -> a CloudWatch client (on moto)."""
    cache: dict[str, Any] = {}

    def make(region: str) -> Any:
        if region not in cache:
            cache[region] = boto3.Session().client("cloudwatch", region_name=region, endpoint_url=moto_url)
        return cache[region]
    return make


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archops.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite:///{tmp_path / 'archops.sqlite3'}")
    yield store
    await store.close()


@pytest.fixture
async def metrics(store: Store) -> MetricsStore:
    return MetricsStore(store)


@pytest.fixture
async def project(store: Store, metrics: MetricsStore) -> str:
    """A watched project (what is collected comes from the inventory a test gives, not from
    the project's regions)."""
    await store.upsert_project("shop", aws_regions=["us-east-1"], slack_channel="C0SHOP")
    await metrics.watch("shop")
    return "shop"


@pytest.fixture
def collector(metrics: MetricsStore, redis: Any, prefix: str) -> Callable[..., Collector]:
    def make(instance_id: str = "monitor-a", ttl_ms: int = 30_000, **config: Any) -> Collector:
        config.setdefault("settle_s", 0)
        config.setdefault("backfill_s", 6 * 3600)
        config.setdefault("backoff_base", 0.01)
        return Collector(metrics, ProjectLock(redis, prefix, ttl_ms), instance_id=instance_id,
                         config=CollectorConfig(**config))
    return make
