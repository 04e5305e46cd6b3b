"""`archops monitor` as a user runs it: watch a project, collect, list insights, act, cost; and
the scheduled jobs (what `archops up` runs) collecting, detecting and alerting by themselves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis

from cli.main import main
from core.notify import Notices
from core.settings import Settings
from core.store import Store
from core.store.metrics_store import MetricsStore
from monitor.service import run_monitor
from tests.monitor import series as gen
from tests.monitor.inventories import function

pytestmark = pytest.mark.timeout(120)


def spike(cw: Any, name: str) -> None:
    now = gen.now_aligned()
    gen.put(cw, "AWS/Lambda", "Invocations", {"FunctionName": name}, gen.noise(now, 3, 600, 20, seed=30))
    gen.put(cw, "AWS/Lambda", "Errors", {"FunctionName": name},
            gen.last(gen.noise(now, 3, 1.5, 1.0, seed=31), 6, 150.0))


def inventory_file(tmp_path: Path, region: str, name: str) -> Path:
    from scanner.models import Inventory

    path = tmp_path / "inventory.json"
    path.write_text(Inventory(regions=[region], resources=[function(region, name)]).model_dump_json())
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str, prefix: str, moto_url: str) -> Any:
    for key, value in {
        "ARCHOPS_DATA_DIR": str(tmp_path / "data"), "ARCHOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}",
        "ARCHOPS_REDIS_URL": redis_url, "ARCHOPS_REDIS_PREFIX": prefix, "ARCHOPS_AWS_ENDPOINT_URL": moto_url,
        "ARCHOPS_MONITOR_BACKFILL_H": "3", "ARCHOPS_MONITOR_SETTLE_S": "0", "ARCHOPS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(key, value)
    yield
    client = sync_redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def test_the_monitor_command_from_watch_to_act(env, tmp_path, cw, region, capsys) -> None:
    spike(cw(region), "fn-cli")
    inv = inventory_file(tmp_path, region, "fn-cli")

    assert main(["monitor", "watch", "shop", "--regions", region, "--slack-channel", "C0SHOP",
                 "--language", "ko", "--timezone", "Asia/Seoul", "--quiet", "23:00-07:00",
                 "--inventory", str(inv)]) == 0
    assert "shop: watched; language ko, time zone Asia/Seoul, quiet hours 23:00-07:00" in capsys.readouterr().out

    assert main(["monitor", "collect", "shop"]) == 0
    out = capsys.readouterr().out
    assert "shop: 4 series in " + region in out and "GetMetricData calls" in out
    assert "insights: 1" in out

    assert main(["monitor", "insights", "shop", "--json"]) == 0
    [insight] = json.loads(capsys.readouterr().out)
    assert insight["detector"] == "spikes" and insight["severity"] == "critical"
    assert insight["title"]["ko"].startswith("fn-cli의 오류율")

    assert main(["monitor", "insights", "shop"]) == 0
    assert "fn-cli의 오류율" in capsys.readouterr().out  # the project's language

    assert main(["monitor", "act", insight["id"]]) == 65  # an error spike has no Terraform change
    assert "nothing archops can change" in capsys.readouterr().err

    assert main(["monitor", "cost", "shop", "--days", "7"]) == 0
    cost = capsys.readouterr().out
    assert "4 metrics requested in 1 GetMetricData calls (1 collections" in cost and "$0.0000" in cost

    assert main(["monitor", "summary", "shop"]) == 0
    assert "archops 주간 보고: shop" in capsys.readouterr().out

    with pytest.raises(SystemExit):  # argparse refuses it, with the choices
        main(["monitor", "watch", "shop", "--language", "fr"])
    assert main(["monitor", "watch", "shop", "--quiet", "late"]) == 65
    assert "quiet hours 'late' are not HH:MM-HH:MM" in capsys.readouterr().err
    assert main(["monitor", "watch", "nobody"]) == 4


async def test_the_scheduled_jobs_collect_detect_and_alert(tmp_path, cw, region, redis, redis_url, prefix,
                                                           moto_url) -> None:
    spike(cw(region), "fn-jobs")
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}",
                        redis_prefix=prefix, aws_endpoint_url=moto_url, monitor_jitter_s=0,
                        monitor_interval_s=30, monitor_backfill_h=3, monitor_settle_s=0)
    store = await Store.open(settings.effective_database_url)
    try:
        await store.upsert_project("jobs", aws_regions=[region], slack_channel="C0JOBS")
        from monitor.service import watch

        await watch(settings, "jobs", inventory_file=str(inventory_file(tmp_path, region, "fn-jobs")))
        stop = asyncio.Event()
        notices = Notices(redis, prefix)
        job = asyncio.create_task(run_monitor(settings, redis_url, stop))
        try:
            for _ in range(300):
                if await notices.read() or job.done():
                    break
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await job
        [alert] = await notices.read()
        assert alert.kind == "alert" and alert.channel == "C0JOBS" and len(alert.items) == 1
        assert "error rate of fn-jobs spiked" in alert.items[0].title
        metrics = MetricsStore(store)
        [run] = await metrics.runs("jobs", (await metrics.watched("jobs")).created_at)
        assert run.metrics_requested == 4 and run.instance_id.endswith("-monitor")
        assert (await metrics.watched("jobs")).last_detect_at is not None
    finally:
        await store.close()


async def test_an_unreadable_account_keeps_the_inventory_it_had(tmp_path, redis_url, prefix, region) -> None:
    import boto3

    from monitor.service import open_monitor, watch

    def deny(**_: Any) -> Any:
        class Http:
            status_code = 403
            headers: dict[str, str] = {}
        return Http(), {"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 403}}

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y")
    session.events.register("before-call", deny)
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}",
                        redis_prefix=prefix)
    store = await Store.open(settings.effective_database_url)
    await store.upsert_project("kept", aws_regions=[region])
    await store.close()
    await watch(settings, "kept", inventory_file=str(inventory_file(tmp_path, region, "fn-kept")))
    async with open_monitor(settings, redis_url, session=session) as monitor:
        inv = await monitor.inventory("kept", refresh=True)
        assert [r.id for r in inv.resources] == ["fn-kept"]
        stored = await monitor.metrics.watched("kept")
        assert stored.inventory is not None and stored.inventory["resources"][0]["id"] == "fn-kept"
