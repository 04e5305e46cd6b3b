"""What `/archops scan`, `tags` and `metrics` call: ports the composition root fills.

The Slack edge knows none of the parts that do this work (the scanner reads AWS with boto3, the
monitor watches CloudWatch): the command line, which knows every part, builds these hooks and
hands them to :func:`bot.service.build_bot` (see ``cli/slack_hooks.py``). A hook left ``None``
makes its command say plainly that it is not available here, or not configured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scope:
    """What a scan or a tag plan works on: the channel's project, or what the command said."""

    regions: list[str]
    role_arn: str | None = None
    account_id: str | None = None
    project_id: str | None = None
    tag: tuple[str, str] | None = None


@dataclass(frozen=True)
class ScanReport:
    summary: str  # what `archops scan` prints
    files: dict[str, str] = field(default_factory=dict)  # the module with its import blocks
    passed: bool | None = None
    partial: bool = False


@dataclass(frozen=True)
class TagReport:
    summary: str
    to_tag: int = 0
    plan_json: str = ""  # what `archops tags apply` takes


ScanHook = Callable[[Scope], Awaitable[ScanReport]]
TagsHook = Callable[[Scope, str, str], Awaitable[TagReport]]
# the monitor's insights for a project (or the channel's conversations), as Slack text
MetricsHook = Callable[[Scope], Awaitable[str]]


@dataclass(frozen=True)
class Hooks:
    scan: ScanHook | None = None
    tags: TagsHook | None = None
    metrics: MetricsHook | None = None
