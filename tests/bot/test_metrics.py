"""What Prometheus sees of the Slack edge: every acknowledgement, timed."""

from __future__ import annotations

from core import metrics


async def test_a_slack_ack_is_counted(make_bot, slack) -> None:  # noqa: ARG001 - the stand-in answers the bot
    from tests.bot.slack_requests import mention, post_signed

    before = metrics.SLACK_ACK_SECONDS._sum.get()  # noqa: SLF001 - the histogram's running sum
    count = sum(s.value for m in metrics.REGISTRY.collect() if m.name == "archops_slack_ack_seconds"
                for s in m.samples if s.name.endswith("_count"))
    _bot, url = await make_bot()
    status, _ = await post_signed(url, mention("EvMETRIC1", "<@UARCHOPS> a static website"))
    assert status == 200
    after = sum(s.value for m in metrics.REGISTRY.collect() if m.name == "archops_slack_ack_seconds"
                for s in m.samples if s.name.endswith("_count"))
    assert after == count + 1
    assert metrics.SLACK_ACK_SECONDS._sum.get() > before  # noqa: SLF001
