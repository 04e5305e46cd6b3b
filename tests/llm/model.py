"""The stand-in's default answers: what a well-behaved model says at each step of archops.

Tests queue other answers (malformed, schema-breaking, injecting, failing) in front of these.
"""

from __future__ import annotations

import re
from typing import Any

from tests.llm.standin import Reply

_USER = re.compile(r"<user_message>\n(.*?)\n</user_message>", re.DOTALL)


def said(body: dict[str, Any]) -> list[str]:
    """The user's messages quoted in the prompt."""
    return _USER.findall("\n".join(str(m.get("content") or "") for m in body.get("messages", [])))


def answer(step: str, body: dict[str, Any]) -> Reply:
    prompt = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
    words = said(body)
    if step == "route":
        return Reply.json({"route": "change" if "already has a design" in prompt else "new", "refusal": "none",
                           "restated": (words[-1] if words else "")[:500]})
    if step == "extract":
        return Reply.json({"requirements": {}, "evidence": []})
    if step == "questions":
        return Reply.json({"answered": []})
    if step == "plan":
        return Reply.json({"extras": []})
    if step == "params":
        return Reply.json({"parameters": []})
    return Reply(content="I cannot help with that.")
