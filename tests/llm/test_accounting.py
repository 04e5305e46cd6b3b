"""The accounting another part reads: the pull request footer line and the retry wait."""

from __future__ import annotations

import email.utils
import time

from agents.llm import CallRecord, Usage, footer
from agents.llm.client import retry_after


def test_the_footer_says_what_the_model_cost_and_what_fell_back() -> None:
    usage = Usage("gpt-4o-mini", "1")
    usage.add([CallRecord("route", "gpt-4o-mini", 1200, 40, 800.0), CallRecord("extract", "gpt-4o-mini", 2000, 300, 1500.0)], replayed=False)
    usage.add([CallRecord("plan", "gpt-4o-mini", 900, 100, 700.0)], replayed=True)
    usage.fallbacks.append(("hcl", "timeout: no complete answer within 60 s"))
    line = usage.footer()
    assert line == ("Model: `gpt-4o-mini`, 3 calls, 4,100 tokens in / 440 out, 3.0 s of model time (prompts v1); "
                    "the offline engine answered hcl.")
    assert footer(usage.summary()) == line  # the same line from the request's recorded event
    assert usage.calls == 3 and usage.calls_made == 2 and usage.attributes()["llm.calls_made"] == 2
    assert "offline engine" in footer(None) and "no model was called" in footer({})


def test_retry_after_in_seconds_milliseconds_or_a_date() -> None:
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after-ms": "350", "retry-after": "9"}) == 0.35
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after({"retry-after": later}) or 0) <= 31
    assert retry_after({}) is None and retry_after(None) is None
