"""A conversation's events -> the changes to its Slack card: pure functions, no I/O.

The worker's graph runs the same steps for every design request (agents.graph): reading the
request, gathering requirements, planning, building level after level, combining, checking.
Its ``status`` events name their node, so the card says "step N of M" with the step's name (the
levels are one step, the status text saying which level); a status that would show the same
thing again changes nothing, so no update is sent for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.result import change, summarise
from bot.state import loads
from core.events import Event

# the workflow's nodes in order, and what the card calls each step
STEPS: tuple[tuple[str, str], ...] = (
    ("route", "Reading the request"),
    ("requirement_gatherer", "Gathering requirements"),
    ("resource_planner", "Planning"),
    ("level_executor", "Building"),
    ("resource_combiner", "Combining the module"),
    ("terraform_fixer", "Checking"),
)
_STEP_OF = {node: (index, name) for index, (node, name) in enumerate(STEPS, start=1)}


def question_key(question: Mapping[str, Any]) -> str:
    """What identifies an asked question on the card: its id and prompt (a question asked again
    in other words is a new one)."""
    import hashlib

    raw = json.dumps([question.get("id"), question.get("prompt")], ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _changed(card: Mapping[str, str], fields: dict[str, str]) -> dict[str, str]:
    """Only the fields whose value differs from the card's (an identical event changes nothing)."""
    return {k: v for k, v in fields.items() if card.get(k, "") != v}


def on_status(card: Mapping[str, str], event: Event) -> dict[str, str]:
    node = str(event.data.get("node") or "")
    fields = {"phase": "working", "status": event.text or "", "request_id": event.request_id or ""}
    if node in _STEP_OF:
        number, name = _STEP_OF[node]
        fields.update(step=str(number), steps=str(len(STEPS)), step_name=name)
    elif event.data.get("queued"):
        fields.update(step="0", step_name="Queued")
    if card.get("phase") == "question" and card.get("question_request") == event.request_id:
        fields.pop("phase")  # a late status of the request that asked: the question stays
    return _changed(card, fields)


def on_question(card: Mapping[str, str], event: Event) -> dict[str, str]:
    question = event.data.get("question")
    if not isinstance(question, dict):
        question = {"id": "q", "prompt": event.text or "", "choices": []}
    fields = {"phase": "question", "question": json.dumps(question, ensure_ascii=False),
              "question_key": question_key(question), "question_request": event.request_id or "",
              "answered_by": "", "answer": "", "answer_label": "", "answer_via": "",
              "rejected": "", "request_id": event.request_id or ""}
    return _changed(card, fields)


def on_module(card: Mapping[str, str], event: Event) -> dict[str, str]:
    summary = summarise(event.data, event.id)
    previous = loads(card.get("result"), None)
    if previous and previous.get("version") == summary["version"]:
        diff = loads(card.get("change"), None)  # the same version again: the same change
    else:
        diff = change(previous, summary)
    return _changed(card, {
        "result": json.dumps(summary, ensure_ascii=False),
        "change": json.dumps(diff, ensure_ascii=False) if diff else "",
        "upload_version": str(summary["version"]),
        "result_request": event.request_id or "",
    })


def on_pull_request(card: Mapping[str, str], event: Event) -> dict[str, str]:
    """The design's pull request (opened, updated, unchanged), or why it could not be opened."""
    data = event.data
    url = data.get("url")
    pr: dict[str, Any]
    if data.get("action") == "failed":
        pr = {"error": str(data.get("error") or "the delivery failed"),
              "hint": str(data.get("hint") or ""), "code": str(data.get("code") or "")}
    elif isinstance(url, str) and url.startswith(("https://", "http://")):
        pr = {"url": url, "number": data.get("number"), "action": data.get("action") or "opened",
              "branch": data.get("branch") or ""}
    else:
        return {}
    return _changed(card, {"pr": json.dumps(pr, ensure_ascii=False)})


def on_error(card: Mapping[str, str], event: Event, request: Mapping[str, str]) -> dict[str, str]:
    reason = event.text or "The request failed."
    hint = str(event.data.get("hint") or "")
    if (request.get("kind") == "answer" and card.get("question")
            and card.get("phase") in {"answered", "question"}):
        # the answer was refused (not one of the choices, not a domain...): the question is open
        # again and says why
        answers = loads(card.get("answers"), [])
        if answers and card.get("phase") == "answered":
            answers = answers[:-1]
        rejected = f"{reason} ({hint})" if hint else reason
        return _changed(card, {"phase": "question", "rejected": rejected, "answered_by": "",
                               "answer": "", "answer_label": "", "answer_via": "",
                               "answers": json.dumps(answers, ensure_ascii=False)})
    return _changed(card, {"phase": "error", "error": reason, "hint": hint,
                           "request_id": event.request_id or ""})


def updates_for(card: Mapping[str, str], event: Event, request: Mapping[str, str]) -> dict[str, str]:
    """The card fields ``event`` changes (``request``: its request's record, by the ingress)."""
    if event.type == "status":
        return on_status(card, event)
    if event.type == "question":
        return on_question(card, event)
    if event.type == "artifact" and event.data.get("kind") == "module":
        return on_module(card, event)
    if event.type == "artifact" and event.data.get("kind") == "pull_request":
        return on_pull_request(card, event)
    if event.type == "done":
        return _changed(card, {"phase": "done", "final": event.text or "",
                               "passed": "1" if event.data.get("passed") else "0",
                               "request_id": event.request_id or ""})
    if event.type == "error":
        return on_error(card, event, request)
    return {}  # tokens and other artifacts do not change the card
