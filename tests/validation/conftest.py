"""Shared fixtures: the derived schema and checkov come from scripts/setup-validation."""

from __future__ import annotations

import pytest

from core.terraform.checkov_scan import checkov_available
from core.terraform.paths import SETUP_HINT, checkov_bin, schema_path
from core.terraform.schema import schema_available


@pytest.fixture(scope="session")
def schema_ready() -> None:
    if not schema_available():
        pytest.fail(f"the AWS provider schema is missing at {schema_path()}: {SETUP_HINT}")


@pytest.fixture(scope="session")
def checkov_ready() -> None:
    if not checkov_available():
        pytest.fail(f"checkov is missing at {checkov_bin()}: {SETUP_HINT}")


def only(findings, check_id):  # noqa: ANN001, ANN201 - tiny test helper
    return [f for f in findings if f.check_id == check_id]


@pytest.fixture(scope="session")
def plan_ready() -> None:
    from core.terraform.plugin import toolchain

    if "aws" not in toolchain.available_providers():
        pytest.fail(f"the provider plugin schemas are missing: {SETUP_HINT}")
