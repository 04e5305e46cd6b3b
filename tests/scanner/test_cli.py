"""`archops scan`: the module, inventory.json and diagram.json in a folder, and the summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.main import main

pytestmark = pytest.mark.timeout(180)


def test_scan_writes_the_module_and_prints_a_summary(
    moto_url: str, account: dict[str, Any], plan_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)  # the SDK's own way to name an endpoint
    out = tmp_path / "adopted"
    assert main(["scan", "--regions", "us-east-1,eu-west-1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert {"imports.tf", "network.tf", "README.md", "inventory.json", "diagram.json"} <= {p.name for p in out.iterdir()}
    inventory = json.loads((out / "inventory.json").read_text())
    assert inventory["regions"] == ["us-east-1", "eu-west-1"] and len(inventory["resources"]) > 100
    assert json.loads((out / "diagram.json").read_text())["nodes"]
    assert "review (parse, schema, references, plan): passed" in text
    assert "0 to add" in text and "lambda_function        4" in text
    assert "security:" in text  # what exists, judged by pillar (the public bucket, SSH open to the world)


def test_a_partial_scan_says_what_to_grant(moto_url: str, account: dict[str, Any], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # nothing listens on this port: every call fails, and the summary says so for each service
    code = main(["scan", "--regions", "us-east-1", "--out", str(tmp_path / "x"), "--no-review",
                 "--endpoint-url", "http://127.0.0.1:9"])
    text = capsys.readouterr().out
    assert code == 3 and "PARTIAL" in text and "ec2:DescribeVpcs" in text


def test_scan_takes_regions_and_role_from_the_project(
    moto_url: str, account: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from core.settings import Settings
    from core.store.store import Store

    async def record() -> None:  # the data folder is the test's own (conftest's data_dir)
        store = await Store.open(Settings().effective_database_url)
        await store.upsert_project("acme", name="Acme", aws_account_id="123456789012",
                                   aws_role_arn="arn:aws:iam::123456789012:role/acme-app-ec2",
                                   aws_regions=["eu-west-1"], tag_policy={"key": "Project", "value": "acme"})
        await store.close()

    asyncio.run(record())
    assert main(["scan", "--project", "acme", "--out", str(tmp_path / "m"), "--no-review",
                 "--endpoint-url", moto_url]) == 0
    text = capsys.readouterr().out
    assert text.startswith("archops scan of eu-west-1:")
    inventory = json.loads((tmp_path / "m" / "inventory.json").read_text())
    assert {r["region"] for r in inventory["resources"]} <= {"eu-west-1", "global"}
    scan_id = text.strip().splitlines()[-1].removeprefix("recorded as ")

    async def recorded() -> Any:
        from core.store.scans import ScanStore

        store = await Store.open(Settings().effective_database_url)
        try:
            return await ScanStore(store).get_scan(scan_id)
        finally:
            await store.close()

    scan = asyncio.run(recorded())  # in the system of record, as the project's scan
    assert (scan.project_id, scan.status, scan.regions, scan.requested_by, scan.source) == (
        "acme", "done", ["eu-west-1"], "local", "cli")
    assert scan.role_arn == "arn:aws:iam::123456789012:role/acme-app-ec2" and scan.counts["load_balancer"] == 1
