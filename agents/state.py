"""The graph's state (checkpointed per conversation; thread id = conversation id).

Field names follow the seed workflow: ``config`` (ticket, account_id, project_id, chat_id,
chat_message_id), ``trace`` (trace_id, span_id, sampled), ``messages``, ``gathered_requirements``,
``resource_plan``, ``scripts``, ``terraform_validated``, ``validation_output``, ``final_script``,
``final_response``. Everything is plain JSON data so any worker can continue any conversation:
the nodes read and write it through the typed models here (:class:`Plan`, :class:`Design`) and
checkpoint their ``model_dump()``; ``scripts`` holds each blueprint's fragment as data that
rebuilds its typed blocks (:func:`core.terraform.model.block_from_data`).
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from core.context import RequestContext
from core.offload import in_thread


class PlanItem(BaseModel):
    """One blueprint of the plan: what it is, why, the file it writes, what it waits for."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    why: str
    file: str
    depends_on: list[str] = Field(default_factory=list)
    # a model engine's choices: sizes it set on a blueprint, or a part it writes itself (its
    # resource types and the capabilities it covers); the offline engine leaves these empty
    parameters: dict[str, Any] | None = None
    source: str | None = None
    resource_types: list[str] = Field(default_factory=list)
    covers: str | None = None


class Plan(BaseModel):
    """The resource plan: its blueprints, and the levels they are built in (each level only
    depends on the ones before it)."""

    model_config = ConfigDict(extra="forbid")

    items: list[PlanItem] = Field(default_factory=list)
    levels: list[list[str]] = Field(default_factory=list)
    # (what, why) of parts an engine planned but could not build clean
    not_built: list[list[str]] = Field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]


class Design(BaseModel):
    """The combined module: its files (Terraform and README), the diagram, and what the team
    must do before or after apply (said in the README and in the reply)."""

    model_config = ConfigDict(extra="forbid")

    files: dict[str, str]
    diagram: dict[str, Any]
    notes: list[str] = Field(default_factory=list)
    # variables with no default the team sets before apply: name -> what it is for
    required: dict[str, str] = Field(default_factory=dict)


class AgentState(TypedDict, total=False):
    config: dict[str, Any]
    trace: dict[str, Any]
    messages: Annotated[list[dict[str, Any]], operator.add]
    # the request being handled: request_id, text, action, answers, non_interactive
    request: dict[str, Any]
    route: str
    route_reason: str
    gathered_requirements: dict[str, Any]
    pending_question: dict[str, Any] | None
    resource_plan: dict[str, Any]
    scripts: dict[str, Any]
    terraform_validated: bool
    validation_output: dict[str, Any]
    final_script: dict[str, str]
    final_response: str
    diagram: dict[str, Any]
    # variables the team sets before apply (Design.required), for the reply
    design_required: dict[str, str]
    design_version: int
    # model tokens the conversation has spent (its budget: ARCHOPS_OPENAI_TOKEN_BUDGET)
    llm_spent: int
    # the last design delivered, to list what a follow-up changes (agents.changes.snapshot)
    design_snapshot: dict[str, Any]


@dataclass
class RunContext:
    """What nodes get besides the state: the request context, the engine and limits."""

    ctx: RequestContext
    engine: Any
    max_chars: int = 8000
    fix_rounds: int = 3
    default_region: str = "us-east-1"
    review_checks: set[str] | None = None
    # runs CPU-bound work (the review, combining) off the event loop: the worker's CpuPool.run
    offload: Callable[..., Awaitable[Any]] = in_thread
    # checkov for one module, batched with the other requests' (None: inside the review)
    checkov: Callable[[dict[str, str]], Awaitable[list[dict[str, Any]]]] | None = None
    # takes the finished design to its project's repository (agents.delivery.Deliverer); None:
    # the design stays in the conversation (tests, `archops generate`)
    delivery: Any = None
