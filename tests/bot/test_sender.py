"""The sender: per-channel queues, many channels at once, a 429 pausing only its own channel,
and updates coalesced while a channel waits."""

from __future__ import annotations

import asyncio

from bot.sender import SKIPPED, WROTE, ChannelSender, Outcome
from tests.bot.designs import small_module
from tests.bot.slack_requests import running, until
from tests.bot.test_egress import card_text, emit, start_request


async def test_a_429_in_one_channel_while_another_channel_s_result_goes_out(make_bot, redis, keys,
                                                                           events, slack) -> None:
    the_bot, url = await make_bot(min_interval_s=0.05)
    slack.channel_rate_limit["C0BUSY"] = (1, 2)  # Slack: wait 2 s before writing there again
    async with running(the_bot.egress):
        busy = await start_request(url, redis, keys, "Ev1", channel="C0BUSY")
        await until(lambda: bool([c for c in slack.calls if c.method == "chat.postMessage:429"]))
        limited_at = next(c.at for c in slack.calls if c.method == "chat.postMessage:429")
        # meanwhile another channel's whole design goes out
        calm = await start_request(url, redis, keys, "Ev2", ts="1700000002.000100", channel="C0CALM")
        await emit(events, calm, "artifact", "Terraform module", **small_module())
        await emit(events, calm, "done", "Designed the calm one")
        # and the busy channel's card changes several times while it waits
        for step in range(4):
            await emit(events, busy, "status", f"level {step}", node="level_executor")
        await emit(events, busy, "done", "Designed the busy one")
        await until(lambda: "Designed the calm one" in card_text(slack, "C0CALM"))
        calm_done = max(c.at for c in slack.calls if c.method in {"chat.postMessage", "chat.update"}
                        and c.args.get("channel") == "C0CALM")
        await until(lambda: "Designed the busy one" in card_text(slack, "C0BUSY"), timeout=8)
    busy_writes = [c for c in slack.calls if c.method in {"chat.postMessage", "chat.update"}
                   and c.args.get("channel") == "C0BUSY"]
    assert calm_done < limited_at + 2  # the calm channel did not wait for the busy one
    assert busy_writes[0].at >= limited_at + 2  # the busy one waited its Retry-After ...
    assert len(busy_writes) == 1  # ... and then wrote its latest state once: coalesced
    assert busy_writes[0].method == "chat.postMessage"
    assert the_bot.egress.sender.pauses == 1


async def test_many_channels_are_written_in_parallel_each_at_its_pace() -> None:
    calls: list[tuple[str, str, float]] = []
    loop = asyncio.get_running_loop()

    async def send(channel: str, key: str) -> Outcome:
        calls.append((channel, key, loop.time()))
        await asyncio.sleep(0.05)  # a slow network
        return WROTE

    sender = ChannelSender(send, interval_s=0.2, concurrency=64)
    started = loop.time()
    for index in range(40):
        assert sender.offer(f"C{index}", f"card-{index}-a")
        assert sender.offer(f"C{index}", f"card-{index}-b")
    assert not sender.offer("C0", "card-0-a")  # queued once: a second offer coalesces
    while len(calls) < 80:
        await asyncio.sleep(0.01)
    firsts = [at for channel, key, at in calls if key.endswith("-a")]
    assert max(firsts) - started < 0.2  # every channel's first write went out at once
    for index in range(40):
        a, b = [at for channel, _key, at in calls if channel == f"C{index}"]
        assert b - a >= 0.2 - 0.01  # one channel at its own pace
    await sender.close()


async def test_a_paused_channel_keeps_its_card_first_and_others_go_on() -> None:
    order: list[str] = []
    limited = {"C1": 1}

    async def send(channel: str, key: str) -> Outcome:
        order.append(key)
        if limited.get(channel):
            limited[channel] -= 1
            return Outcome(retry_after_s=0.3)
        return WROTE if key != "skip" else SKIPPED

    sender = ChannelSender(send, interval_s=0.0)
    sender.offer("C1", "one")
    sender.offer("C1", "two")
    sender.offer("C2", "other")
    while len(order) < 4:
        await asyncio.sleep(0.01)
    assert order[:2] == ["one", "other"]  # C2 did not wait behind C1's pause
    assert order[2:] == ["one", "two"]  # after the pause the limited card is first again
    await sender.close()
