"""Telling people: grouped alerts that wait out quiet hours, a weekly digest in the project's
language, and the notices delivered to Slack's Web API (a local stand-in) once each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from core.notify import NoticeConsumer, Notices, slack_sender
from monitor.notices import quiet_now, send_alerts, send_digest
from tests.bot.slack_standin import SlackStandin

SEOUL = "Asia/Seoul"


def finding(ident: str, severity: str, resource: str = "i-1", monthly: float | None = None) -> dict[str, Any]:
    return {"id": ident, "detector": "saturation", "severity": severity, "region": "ap-northeast-2",
            "resource_kind": "instance", "resource_id": resource, "metric": "cpu",
            "title": {"en": f"CPU of {resource} saturated", "ko": f"{resource}의 CPU 포화"},
            "recommendation": {"en": "Move it to m5.xlarge.", "ko": "m5.xlarge로 늘리세요."},
            "evidence": {"numbers": {}}, "change_request": f"resize instance {resource} from m5.large to m5.xlarge",
            "monthly_usd": monthly, "window_start": 0, "window_end": 3600}


def seoul(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2026) -> datetime:
    """A moment given in Seoul's time (UTC+9), in UTC; 2026-12-07 is a Monday."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=9)


@pytest.fixture
def notices(redis: Any, prefix: str) -> Notices:
    return Notices(redis, prefix)


async def test_alerts_are_grouped_and_wait_out_quiet_hours(store, metrics, project, notices) -> None:
    await metrics.watch(project, language="ko", timezone=SEOUL, quiet_hours="22:00-08:00")
    await metrics.save_insights(project, [finding("a", "critical", "i-1"), finding("b", "critical", "i-2"),
                                          finding("c", "critical", "i-3"), finding("d", "warning", "i-4")],
                                ["saturation"])
    at_night = seoul(27, 23, 30)
    assert quiet_now("22:00-08:00", SEOUL, at_night)
    assert await send_alerts(store, metrics, notices, project, now=at_night) is None
    assert await notices.read() == []

    morning = seoul(28, 8, 5)
    notice = await send_alerts(store, metrics, notices, project, now=morning, public_url="https://ops.example")
    assert notice is not None and notice.kind == "alert" and notice.channel == "C0SHOP"
    assert sorted(i.insight_id for i in notice.items) == ["a", "b", "c"]  # one message, the warning left out
    assert notice.title == "archops: shop에 심각한 항목 3건" and "i-1의 CPU 포화" in notice.text
    assert notice.link == "https://ops.example/projects/shop/metrics"
    assert [n.id for n in await notices.read()] == [notice.id]

    assert await send_alerts(store, metrics, notices, project, now=morning + timedelta(minutes=5)) is None
    # the warning becomes critical: told, alone
    await metrics.save_insights(project, [finding(i, "critical", r) for i, r in
                                          (("a", "i-1"), ("b", "i-2"), ("c", "i-3"), ("d", "i-4"))], ["saturation"])
    again = await send_alerts(store, metrics, notices, project, now=morning + timedelta(minutes=10))
    assert again is not None and [i.insight_id for i in again.items] == ["d"]
    assert len(await notices.read()) == 2


async def test_a_retried_alert_is_one_message(store, metrics, project, notices) -> None:
    await metrics.save_insights(project, [finding("a", "critical")], ["saturation"])
    first = await send_alerts(store, metrics, notices, project)
    assert first is not None
    assert await notices.publish(first) is None  # a second monitor, or a retry after a crash
    assert len(await notices.read()) == 1


async def test_the_weekly_digest_speaks_the_projects_language_once_a_week(
        store, metrics, project, notices) -> None:
    await metrics.watch(project, language="ko", timezone=SEOUL)
    await metrics.save_insights(project, [finding("a", "critical", monthly=70.08),
                                          finding("b", "info", "i-2", monthly=-35.04)], ["saturation"])
    sunday = seoul(6, 20)
    assert await send_digest(store, metrics, notices, project, now=sunday) is None  # watched this week
    monday = seoul(7, 9, 10)
    assert await send_digest(store, metrics, notices, project, now=monday - timedelta(minutes=15)) is None
    digest = await send_digest(store, metrics, notices, project, now=monday)
    assert digest is not None and digest.kind == "digest" and digest.id == "digest:shop:2026-W50"
    assert digest.text.startswith("archops 주간 보고: shop")
    assert "열린 항목 2건: 심각 1, 경고 0, 정보 1" in digest.text
    assert "절감 가능액 월 $35.04, 권장 추가 비용 월 $70.08" in digest.text
    assert [i.insight_id for i in digest.items] == ["a", "b"]
    assert await send_digest(store, metrics, notices, project, now=monday + timedelta(hours=3)) is None
    await metrics.watch(project, language="en")
    english = await send_digest(store, metrics, notices, project, now=monday, force=True)
    assert english is not None and "2 open findings: 1 critical, 0 warning, 1 info" in english.text
    assert "Possible savings $35.04/month; recommended additions $70.08/month" in english.text


async def test_notices_reach_slack_once_even_when_a_post_fails(store, metrics, project, notices, redis, prefix) -> None:
    slack = SlackStandin()
    url = await slack.start()
    client = AsyncWebClient(token="xoxb-test", base_url=url)
    try:
        await metrics.save_insights(project, [finding("a", "critical")], ["saturation"])
        alert = await send_alerts(store, metrics, notices, project)
        digest = await send_digest(store, metrics, notices, project, force=True)
        assert alert and digest
        consumer = NoticeConsumer(redis, prefix, slack_sender(client), consumer="bot-1", min_idle_ms=50,
                                  block_ms=50)
        await consumer.ensure_group()
        slack.fail_next["chat.postMessage"] = "internal_error"  # Slack fails the first post
        assert await consumer.step() == 1
        await asyncio.sleep(0.1)
        assert await consumer.step() == 1  # the failed one, claimed again
        assert await consumer.step() == 0
    finally:
        await slack.stop()
    posted = slack.messages["C0SHOP"]
    assert len(posted) == 2 and len(slack.of("chat.postMessage")) == 3
    by_id = {m["metadata"]["event_payload"]["notice_id"]: m for m in posted}
    assert set(by_id) == {alert.id, digest.id}
    blocks = by_id[alert.id]["blocks"]
    assert blocks[0]["type"] == "header" and ":red_circle:" in blocks[1]["text"]["text"]
    assert "CPU of i-1 saturated" in by_id[alert.id]["text"]


def test_quiet_hours_within_a_day_and_across_midnight() -> None:
    noon = datetime(2026, 11, 30, 3, tzinfo=UTC)  # 12:00 in Seoul
    assert quiet_now("11:00-13:00", SEOUL, noon) and not quiet_now("13:00-11:00", SEOUL, noon)
    assert quiet_now("22:00-08:00", "UTC", datetime(2026, 11, 30, 2, tzinfo=UTC))
    assert not quiet_now(None, "UTC", noon) and not quiet_now("08:00-08:00", "UTC", noon)
