"""Checks on what a user may bind a project to, with messages that say what is wrong."""

from __future__ import annotations

import json
import re
from typing import Any

from core.errors import ValidationError

_PROJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
# sts:AssumeRole's ExternalId: 2-1224 of these characters
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_REPO = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
_CHANNEL = re.compile(r"^[A-Za-z0-9#_-]{1,100}$")


def check_project_id(value: str) -> str:
    if not _PROJECT_ID.match(value):
        raise ValidationError(
            f"project id {value!r} is not valid",
            hint="use letters, digits, '.', '_' or '-', up to 100 characters",
        )
    return value


def check_project_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the project fields that are given (None means: leave unchanged)."""
    name = fields.get("name")
    if name is not None and not (0 < len(name.strip()) <= 200):
        raise ValidationError("project name must be 1 to 200 characters")
    channel = fields.get("slack_channel")
    if channel is not None and not _CHANNEL.match(channel):
        raise ValidationError(f"Slack channel {channel!r} is not a channel id or name")
    account = fields.get("aws_account_id")
    if account is not None and not _ACCOUNT_ID.match(account):
        raise ValidationError(
            f"AWS account id {account!r} is not valid", hint="an account id is 12 digits"
        )
    arn = fields.get("aws_role_arn")
    if arn is not None:
        match = _ROLE_ARN.match(arn)
        if not match:
            raise ValidationError(
                f"{arn!r} is not an IAM role ARN",
                hint="arn:aws:iam::123456789012:role/archops",
            )
        if account is not None and match.group(1) != account:
            raise ValidationError(f"role ARN is in account {match.group(1)}, not in {account}")
    external_id = fields.get("aws_external_id")
    if external_id is not None and not _EXTERNAL_ID.match(external_id):
        raise ValidationError(
            "the role's external id must be 2 to 1224 letters, digits or + = , . @ : / _ -",
            hint="the value the role's trust policy names in sts:ExternalId",
        )
    regions = fields.get("aws_regions")
    if regions is not None:
        bad = [r for r in regions if not isinstance(r, str) or not _REGION.match(r)]
        if bad or not isinstance(regions, list | tuple):
            raise ValidationError(f"not AWS regions: {bad or regions!r}", hint="e.g. eu-west-1")
        fields["aws_regions"] = list(dict.fromkeys(regions))
    repo = fields.get("github_repo")
    if repo is not None and not _REPO.match(repo):
        raise ValidationError(f"GitHub repository {repo!r} is not owner/name")
    policy = fields.get("tag_policy")
    if policy is not None:
        if not isinstance(policy, dict):
            raise ValidationError("tag policy must be a JSON object")
        try:
            json.dumps(policy)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"tag policy is not JSON: {exc}") from exc
    return fields
