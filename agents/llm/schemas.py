"""What the model may answer, step by step: pydantic models, sent to it as JSON schemas.

An answer is parsed and validated against its model, then checked for what a schema cannot say
(a quote that is really in the user's words, a resource type that exists). A reply that fails
either is sent back with the error; it is never passed on. Free text the model writes (a
restatement, a title, a reason) is data: it is screened for instructions aimed at archops and
never changes a rule.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents.questions import ORDER
from agents.requirements import Requirements, components

ID = r"^[a-z][a-z0-9_]{1,30}$"
AWS_TYPE = r"^aws_[a-z0-9]+(_[a-z0-9]+)*$"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RouteOut(_Out):
    """What the message asks for."""

    route: Literal["new", "change", "question", "refuse"] = Field(
        description="new design, change to the current design, a question about it, or refuse")
    refusal: Literal["none", "destroy", "other_cloud", "secrets", "injection"] = Field(
        default="none", description="why it is refused, when route is refuse")
    cloud: str | None = Field(default=None, max_length=40, description="the other cloud named, for other_cloud")
    restated: str = Field(max_length=600, description="the request restated in plain English, one or two sentences")


# the fields of Requirements the model may fill (never answers, assumptions or the language)
PATCH_FIELDS: tuple[str, ...] = tuple(
    name for name in Requirements.model_fields
    if name not in {"answers", "assumed", "language", "uploads", "upload_paths"}
)


def _patch_model() -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name in PATCH_FIELDS:
        info = Requirements.model_fields[name]
        annotation: Any = info.annotation
        if name in {"components", "removed"}:
            annotation = list[Literal[tuple(components())]]  # type: ignore[misc,valid-type]
        if info.metadata:  # the field's own bounds (ge, le...)
            annotation = Annotated[(annotation | None, *info.metadata)]
        else:
            annotation = annotation | None
        fields[name] = (annotation, Field(default=None, description=info.description))
    return create_model("RequirementsPatch", __config__=ConfigDict(extra="forbid"), **fields)


RequirementsPatch = _patch_model()


class Evidence(_Out):
    field: str = Field(max_length=40)
    quote: str = Field(max_length=200, description="the user's own words that say it, copied exactly")


class ExtractOut(_Out):
    """Requirements the user's words state (in any language), each with its quote."""

    requirements: RequirementsPatch = Field(description="only what the words state; leave the rest null")  # type: ignore[valid-type]
    evidence: list[Evidence] = Field(default_factory=list, max_length=40)


class Inferred(_Out):
    id: Literal[ORDER]  # type: ignore[valid-type]
    value: str = Field(max_length=100)
    quote: str = Field(max_length=200, description="the user's own words that answer it, copied exactly")


class QuestionsOut(_Out):
    """Which open questions the user's words already answer."""

    answered: list[Inferred] = Field(default_factory=list, max_length=len(ORDER))


class Extra(_Out):
    id: str = Field(pattern=ID, description="a short snake_case name for this part")
    title: str = Field(max_length=80)
    why: str = Field(max_length=300, description="what it is for and why it is configured so")
    covers: str = Field(max_length=80, description="the need it answers: a capability id or the user's words")
    resource_types: list[str] = Field(min_length=1, max_length=8, description="AWS provider resource types it declares")
    depends_on: list[str] = Field(default_factory=list, max_length=12, description="ids of planned blueprints it uses")


class PlanOut(_Out):
    """Parts the request needs that the catalog's plan does not hold."""

    extras: list[Extra] = Field(default_factory=list, max_length=4)


class Parameter(_Out):
    blueprint: str = Field(max_length=30)
    field: str = Field(max_length=40)
    value: str | int = Field(description="one of the allowed values")
    why: str = Field(max_length=200)


class ParamsOut(_Out):
    """Sizes for the planned blueprints that the user did not state."""

    parameters: list[Parameter] = Field(default_factory=list, max_length=16)


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema sent to the model (its docstring as the description)."""
    schema = model.model_json_schema()
    if model.__doc__:
        schema["description"] = " ".join(model.__doc__.split())
    return schema
