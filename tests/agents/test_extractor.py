"""The offline extractor on phrasings a startup uses; follow-ups change, never restart."""

from __future__ import annotations

import pytest

from agents.extractor import extract
from agents.guard import classify


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("a web app with postgres 16 in Frankfurt", "region", "eu-central-1"),
        ("a web app in ap-southeast-2", "region", "ap-southeast-2"),
        ("an api with a $2k per month budget", "budget_usd", 2000),
        ("budget of 300 dollars a month for a static site", "budget_usd", 300),
        ("two availability zones for our web app", "az_count", 2),
        ("a VPC 172.16.0.0/16 and a web app", "vpc_cidr", "172.16.0.0/16"),
        ("postgres on db.m7g.large with 1 TB of storage", "db_storage_gb", 1024),
        ("a HIPAA and SOC 2 web app", "compliance", ["HIPAA", "SOC2"]),
        ("a web app called Billing Portal for app.acme.io", "domain", "app.acme.io"),
        ("lambda with 1024 MB in python 3.12", "memory_mb", 1024),
    ],
)
def test_fields_from_plain_words(text: str, field: str, expected: object) -> None:
    assert getattr(extract(text), field) == expected


def test_follow_ups_edit_the_existing_requirements() -> None:
    base = extract("a SaaS web app with Postgres and a redis cache in dev")
    assert base.database == "postgres" and base.has("redis")
    swapped = extract("switch from postgres to mysql", base)
    assert swapped.database == "mysql" and swapped.has("redis") and swapped.environment == "dev"
    without = extract("we don't need the cache anymore", swapped)
    assert not without.has("redis") and without.database == "mysql"
    back = extract("add redis again", without)
    assert back.has("redis")


def test_removing_the_database() -> None:
    base = extract("a web app with postgres")
    assert extract("remove the database", base).database is None


@pytest.mark.parametrize(
    "text",
    [
        "migrate our app from Heroku to AWS: a web app with postgres",
        "store the stripe api key in secrets manager for our lambda api",
        "remove the redis cache",
    ],
)
def test_legitimate_requests_are_not_refused(text: str) -> None:
    assert classify(text, has_design=True, max_chars=8000).route != "refuse"


@pytest.mark.parametrize("text, expected", [
    ("Rightsize instance i-0big (web-1) from m5.xlarge to m5.large (archops monitor insight ins_1)", "m5.large"),
    ("m6i.xlarge에서 m6i.large로 줄여 주세요", "m6i.large"),
    ("two m5.large app servers", "m5.large"),
])
def test_a_rightsizing_takes_the_type_it_goes_to(text: str, expected: str) -> None:
    from agents.extractor import extract

    assert extract(text, None).instance_type == expected
