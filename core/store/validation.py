"""Checks on what a user may bind a project to, with messages that say what is wrong.

Each field has its own check returning the reason it is refused (None when it is fine), so an
edge can show every wrong field at once (a Slack modal's per-field errors, a web form, the CLI);
:func:`check_project_fields` raises the first one for callers that want an exception.
Regions are checked against botocore's endpoint data (the regions the AWS SDK knows, per
partition), not a pattern: ``eu-west-9`` has the shape of a region and is none.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from typing import Any

from core.errors import ValidationError

_PROJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/([\w+=,.@/-]{1,512})$")
_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_CHANNEL = re.compile(r"^[A-Za-z0-9#_-]{1,100}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")
# AWS tag keys and values: letters, digits, spaces and _ . : / = + - @ (any language's letters)
_TAG_TEXT = re.compile(r"^[\w\s.:/=+\-@]*$")
_PATH_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")

# the fields a project has, in the order forms show them
FIELDS = ("name", "slack_channel", "aws_account_id", "aws_role_arn", "aws_regions", "github_repo",
          "repo_path", "tag_policy", "approvers", "created_by")


@lru_cache(maxsize=1)
def known_regions() -> dict[str, str]:
    """Every region botocore's endpoint data knows -> its partition (aws, aws-cn, ...)."""
    import botocore.loaders

    data = botocore.loaders.create_loader().load_data("endpoints")
    return {region: part["partition"] for part in data["partitions"] for region in part["regions"]}


def check_project_id(value: str) -> str:
    if not isinstance(value, str) or not _PROJECT_ID.match(value):
        raise ValidationError(
            f"project id {value!r} is not valid",
            hint="use letters, digits, '.', '_' or '-', up to 100 characters",
        )
    return value


def name_error(name: Any) -> str | None:
    if not isinstance(name, str) or not (0 < len(name.strip()) <= 200):
        return "project name must be 1 to 200 characters"
    return None


def channel_error(channel: Any) -> str | None:
    if not isinstance(channel, str) or not _CHANNEL.match(channel):
        return f"Slack channel {channel!r} is not a channel id or name"
    return None


def account_error(account: Any) -> str | None:
    if not isinstance(account, str) or not _ACCOUNT_ID.match(account):
        return f"AWS account id {account!r} is not valid (an account id is 12 digits)"
    return None


def role_arn_error(arn: Any, account: str | None) -> str | None:
    """The role ARN parses as an IAM role's, and names the project's account when one is set."""
    match = _ROLE_ARN.match(arn) if isinstance(arn, str) else None
    if not match:
        return (f"{arn!r} is not an IAM role ARN "
                "(arn:aws:iam::123456789012:role/archops)")
    if account is not None and match.group(2) != account:
        return f"role ARN is in account {match.group(2)}, not in {account}"
    return None


def regions_error(regions: Any, arn: str | None = None) -> str | None:
    if not isinstance(regions, list | tuple) or not regions:
        return "regions must be a list of AWS regions, e.g. eu-west-1"
    known = known_regions()
    bad = [r for r in regions if not isinstance(r, str) or r not in known]
    if bad:
        hints = []
        for region in bad:
            close = difflib.get_close_matches(str(region), list(known), n=1)
            hints.append(f"{region!r}" + (f" (did you mean {close[0]}?)" if close else ""))
        return f"not AWS regions: {', '.join(hints)} (botocore's endpoint data knows none of them)"
    match = _ROLE_ARN.match(arn) if isinstance(arn, str) else None
    if match:
        elsewhere = [r for r in regions if known[r] != match.group(1)]
        if elsewhere:
            return (f"region(s) {', '.join(elsewhere)} are not in the role's partition "
                    f"{match.group(1)}")
    return None


def repo_error(repo: Any) -> str | None:
    if not isinstance(repo, str) or not _REPO.match(repo) or repo.endswith(".git"):
        return f"GitHub repository {repo!r} is not owner/name"
    return None


def path_error(path: Any) -> str | None:
    """The module's folder in the repository: relative, no '..', no '.git'."""
    if path == "":
        return None  # the repository's root
    if not isinstance(path, str) or len(path) > 300:
        return "path must be a folder inside the repository, up to 300 characters"
    parts = path.strip("/").split("/")
    if path.startswith("/") or any(not _PATH_PART.match(p) for p in parts):
        return (f"path {path!r} is not a folder inside the repository "
                "(e.g. infra or terraform/shop: letters, digits, '.', '_', '-', no '..')")
    if any(p in (".git", "..") or p.endswith(".lock") for p in parts):
        return f"path {path!r} names a folder git keeps for itself"
    return None


def tag_error(key: Any, value: Any) -> str | None:
    """AWS tag rules: a key of 1-128 characters not starting with aws:, a value up to 256."""
    if not isinstance(key, str) or not 1 <= len(key) <= 128 or not _TAG_TEXT.match(key):
        return (f"tag key {key!r} is not an AWS tag key (1-128 letters, digits, spaces or "
                "_ . : / = + - @)")
    if key.lower().startswith("aws:"):
        return "tag keys starting with 'aws:' are reserved by AWS"
    if not isinstance(value, str) or len(value) > 256 or not _TAG_TEXT.match(value):
        return f"tag value {value!r} is not an AWS tag value (up to 256 of the same characters)"
    return None


def approvers_error(approvers: Any) -> str | None:
    if not isinstance(approvers, list | tuple):
        return "approvers must be a list of Slack user ids"
    bad = [a for a in approvers if not isinstance(a, str) or not _SLACK_USER.match(a)]
    if bad:
        return f"not Slack user ids (U... or W...): {', '.join(map(str, bad))}"
    return None


def tag_policy_error(policy: Any) -> str | None:
    if not isinstance(policy, dict):
        return "tag policy must be a JSON object"
    try:
        json.dumps(policy)
    except (TypeError, ValueError) as exc:
        return f"tag policy is not JSON: {exc}"
    if "key" in policy or "value" in policy:
        return tag_error(policy.get("key"), policy.get("value", ""))
    return None


def project_errors(fields: dict[str, Any], current: Any = None) -> dict[str, str]:
    """Every given field that is wrong -> why (``current``: the stored project, for checks that
    span fields, such as a role ARN against the account it belongs to)."""
    errors: dict[str, str] = {}
    account = fields.get("aws_account_id", getattr(current, "aws_account_id", None))
    arn = fields.get("aws_role_arn", getattr(current, "aws_role_arn", None))
    checks = {
        "name": lambda v: name_error(v),
        "slack_channel": lambda v: channel_error(v),
        "aws_account_id": lambda v: account_error(v),
        "aws_role_arn": lambda v: role_arn_error(
            v, account if account and not account_error(account) else None),
        "aws_regions": lambda v: regions_error(v, arn),
        "github_repo": lambda v: None if v == "" else repo_error(v),
        "repo_path": lambda v: path_error(v),
        "tag_policy": lambda v: tag_policy_error(v),
        "approvers": lambda v: approvers_error(v),
        "created_by": lambda v: None if isinstance(v, str) and 0 < len(v) <= 200
        else "created_by must be a principal id",
    }
    # a field given alone must still agree with what the project has
    stored_arn = getattr(current, "aws_role_arn", None)
    if fields.get("aws_account_id") is not None and fields.get("aws_role_arn") is None \
            and stored_arn and not account_error(fields["aws_account_id"]):
        clash = role_arn_error(stored_arn, fields["aws_account_id"])
        if clash:
            errors["aws_account_id"] = (f"the project's {clash.replace('role ARN', 'role')}; "
                                        "change its role ARN too")
    stored_regions = getattr(current, "aws_regions", None)
    if fields.get("aws_role_arn") is not None and fields.get("aws_regions") is None \
            and stored_regions:
        clash = regions_error(stored_regions, fields["aws_role_arn"])
        if clash:
            errors["aws_role_arn"] = f"the project's {clash}"
    for name, value in fields.items():
        if value is None or name in errors:
            continue
        check = checks.get(name)
        if check is None:
            errors[name] = f"unknown project field {name!r}"
            continue
        reason = check(value)
        if reason:
            errors[name] = reason
    return errors


def check_project_fields(fields: dict[str, Any], current: Any = None) -> dict[str, Any]:
    """Validate the project fields that are given (None means: leave unchanged); raise the first
    reason as a ValidationError, else return the fields normalised."""
    errors = project_errors(fields, current)
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first)
    if fields.get("aws_regions") is not None:
        fields["aws_regions"] = list(dict.fromkeys(fields["aws_regions"]))
    if fields.get("approvers") is not None:
        fields["approvers"] = list(dict.fromkeys(fields["approvers"]))
    if fields.get("repo_path") is not None:
        fields["repo_path"] = fields["repo_path"].strip("/")
    return fields
