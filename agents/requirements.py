"""The typed requirements model the negotiation fills in.

Every field starts unknown (``None``); the extractor fills what the user said, answers fill what
archops asked, and defaults fill the rest only when the user lets archops decide (non-interactive
mode), each default recorded in ``assumed`` so the user sees it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.errors import ValidationError

Workload = Literal["static_site", "web_app", "api", "worker", "data_pipeline", "custom"]
Environment = Literal["dev", "staging", "production"]
Compute = Literal["ecs", "asg", "ec2", "lambda"]
Database = Literal["postgres", "mysql", "aurora-postgresql", "aurora-mysql"]

def components() -> dict[str, str]:
    """What each component id a user may name means (each blueprint declares its own title)."""
    import agents.catalog  # noqa: F401 - registers every blueprint
    from agents.catalog.base import components as declared

    return declared()


_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def upload_name(value: str) -> str:
    """The plain file name a requested upload becomes: the last part of any path, in safe
    characters, never hidden or dot-only (``../../../etc/passwd.txt`` -> ``passwd.txt``).

    The generated module reads it from its own folder (``${path.module}/NAME``), so a request can
    never make archops' Terraform read a file outside the module.
    """
    base = re.split(r"[\\/]", value.strip())[-1]
    base = re.sub(r"\.{2,}", ".", _UNSAFE.sub("_", base)).lstrip("._-")
    return base[:100] or "file"


class Requirements(BaseModel):
    """What archops knows about the request; ``None`` means not known yet."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    project: str | None = None
    workload: Workload | None = None
    environment: Environment | None = None
    region: str | None = None
    traffic: Literal["low", "medium", "high"] | None = None
    availability: Literal["single_az", "multi_az"] | None = None
    nat: Literal["single", "per_az", "none"] | None = None
    compute: Compute | None = None
    database: Database | None = None
    # the user asked for "a database" without saying which
    wants_database: bool = False
    db_version: str | None = None
    db_instance_class: str | None = None
    db_storage_gb: int | None = Field(default=None, ge=5, le=65536)
    instance_type: str | None = None
    instance_count: int | None = Field(default=None, ge=1, le=1000)
    lambda_runtime: str | None = None
    memory_mb: int | None = Field(default=None, ge=128, le=10240)
    vpc_cidr: str | None = None
    az_count: int | None = Field(default=None, ge=1, le=6)
    domain: str | None = None
    budget_usd: int | None = Field(default=None, ge=1)
    compliance: list[str] = Field(default_factory=list)
    operating_system: Literal["al2023", "al2", "ubuntu-20.04", "ubuntu-22.04", "ubuntu-24.04"] | None = None
    load_balancer: Literal["application", "network"] | None = None
    # files to upload into the application bucket: plain names of files inside the module
    # (upload_name), never paths; what the user wrote as a path, by name, to tell them
    uploads: list[str] = Field(default_factory=list)
    upload_paths: dict[str, str] = Field(default_factory=dict)
    # tags the user asked for, added to every resource through the provider's default_tags
    tags: dict[str, str] = Field(default_factory=dict)
    components: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    # explicit names the user gave: component -> name
    names: dict[str, str] = Field(default_factory=dict)
    # question id -> answer, and what archops assumed without asking
    answers: dict[str, str] = Field(default_factory=dict)
    assumed: dict[str, str] = Field(default_factory=dict)
    # the language the conversation is answered in (questions, summaries, errors)
    language: Literal["en", "ko"] = "en"
    # capabilities the request names (agents.honesty.CAPABILITIES): each is either in the
    # design or listed under "Not built" with the reason
    asked: list[str] = Field(default_factory=list)
    # the environment this one copies the shape of ("a staging copy of production")
    copy_of: Environment | None = None
    # how many people use it, when the request says ("only our 3 developers", "200 customers")
    users: int | None = Field(default=None, ge=1)
    # exact values the request states that the blueprints may not all take yet; the summary
    # says which were not applied
    db_storage_type: Literal["gp2", "gp3", "io1", "io2", "standard", "magnetic"] | None = None
    cache_node_type: str | None = None
    ports: list[int] = Field(default_factory=list)
    tenancy: Literal["default", "dedicated", "host"] | None = None
    apply_immediately: bool | None = None
    # the application is for people inside the company only ("internal admin tool"): no public
    # edge, an internal load balancer, reached through the VPC (VPN, Session Manager)
    internal: bool | None = None

    @field_validator("project")
    @classmethod
    def _project(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError("must be lower-case letters, digits and '-', at most 31 characters")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region name such as eu-west-1")
        return value

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        bad = [p for p in value if not 1 <= p <= 65535]
        if bad:
            raise ValueError(f"ports out of range {bad}")
        return sorted(set(value))

    @field_validator("asked")
    @classmethod
    def _asked(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @field_validator("uploads")
    @classmethod
    def _uploads(cls, value: list[str]) -> list[str]:
        return sorted({upload_name(v) for v in value})

    @field_validator("components", "removed")
    @classmethod
    def _components(cls, value: list[str]) -> list[str]:
        known = components()
        unknown = [c for c in value if c not in known]
        if unknown:
            raise ValueError(f"unknown components {unknown}")
        return sorted(set(value))

    def has(self, component: str) -> bool:
        return component in self.components and component not in self.removed

    def add(self, *components: str) -> None:
        self.components = [*self.components, *components]
        self.removed = [c for c in self.removed if c not in components]

    def drop(self, *components: str) -> None:
        self.components = [c for c in self.components if c not in components]
        self.removed = [*self.removed, *components]

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def multi_az(self) -> bool:
        if self.availability is not None:
            return self.availability == "multi_az"
        return self.production


def apply_answer(req: Requirements, question_id: str, value: str) -> Requirements:
    """Record an answer; a value outside the model's choices is a clear ValidationError."""
    from agents.questions import QUESTIONS

    question = QUESTIONS.get(question_id)
    if question is None:
        raise ValidationError(f"archops asked no question {question_id!r}")
    return question.apply(req, value)
