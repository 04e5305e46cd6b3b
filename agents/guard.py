"""The guard: classifies a message and refuses what archops must not do, saying what it can do.

Refused: other clouds, destroying or deleting infrastructure, requests for secrets or
credentials (and pasted credentials), prompt injection, empty or oversize input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.logging import redact

Route = Literal["new", "change", "question", "refuse"]

CAN_DO = (
    "archops designs AWS infrastructure and writes reviewed Terraform for it: describe what you "
    "want to run (e.g. 'a SaaS web app with Postgres', 'a static website', 'an API on Lambda')."
)
_I = re.IGNORECASE
OTHER_CLOUD = re.compile(
    r"\b(azure|gcp|google cloud|google compute|gke|bigquery|digitalocean|digital ocean|oracle cloud|oci|alibaba cloud|aliyun|linode|hetzner|ibm cloud|cloudflare workers|heroku)\b",
    _I,
)
DESTROY = re.compile(
    r"\b(terraform destroy|destroy|tear (it |everything |them )?down|nuke|wipe|decommission|"
    r"delete (all|every|the|our|my|this|that|these|those)?\s*(\w+\s){0,2}(resources?|infrastructure|instances?|buckets?|databases?|stacks?|account|environment|vpcs?|clusters?|servers?)|"
    r"terminate (all|every|the|our|my)?\s*(\w+\s)?(instances?|servers?)|drop (the |our |my )?(production )?(database|tables?))\b",
    _I,
)
SECRETS = re.compile(
    r"\b(show|give|tell|print|reveal|send|export|dump|list|display|what (is|are)|read|leak|share|email|post)\b[^.?!]{0,40}\b"
    r"(passwords?|secrets?|credentials?|access keys?|secret keys?|api keys?|tokens?|private keys?|ssh keys?|\.env)\b",
    _I,
)
PASTED_SECRET = re.compile(
    r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])|-----BEGIN [A-Z ]*PRIVATE KEY-----|"
    r"\b(password|passwd|secret|token)\s*(=|:|is)\s*[\"']?[^\s\"']{6,}|"
    r"\[redacted: [^\]]{1,40}\]",  # what the Submitter left where it removed a credential
    _I,
)
INJECTION = re.compile(
    r"(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+)?(previous|prior|above|earlier|preceding|system)\s+(instructions|prompts?|rules|messages)|"
    r"(reveal|print|show|repeat)\s+(your|the)\s+(system\s+)?prompt|you are now\b|new instructions\s*:|"
    r"\bjailbreak\b|developer mode|<\s*/?\s*(system|instructions?)\s*>|\[/?INST\]|<!--.*?-->",
    _I | re.DOTALL,
)
QUESTION = re.compile(r"^\s*(what|why|how|which|explain|describe|show me the (plan|design|diagram))\b.*", _I)
NEW_DESIGN = re.compile(r"\b(start over|new design|from scratch|another (app|project|design))\b", _I)


@dataclass(frozen=True)
class Verdict:
    route: Route
    reason: str = ""


def classify(text: str | None, *, has_design: bool, max_chars: int) -> Verdict:
    """Decide what to do with a message; refusals carry a clear reason and what archops can do."""
    body = (text or "").strip()
    if not body:
        return Verdict("refuse", f"The message is empty. {CAN_DO}")
    if len(body) > max_chars:
        return Verdict("refuse", f"The message has {len(body)} characters; archops reads at most {max_chars}. Describe the infrastructure in fewer words.")
    if INJECTION.search(body):
        return Verdict("refuse", f"The message contains instructions aimed at archops itself (prompt injection); it was not followed. {CAN_DO}")
    if PASTED_SECRET.search(body):
        return Verdict("refuse", "The message seems to contain a credential; archops never puts secrets into code. Rotate it if it was real, and ask again without it: archops creates Secrets Manager entries the application reads at runtime.")
    if SECRETS.search(body):
        return Verdict("refuse", f"archops does not read, reveal or hand out secrets or credentials. It can create Secrets Manager entries and IAM roles so applications get them at runtime. {CAN_DO}")
    cloud = OTHER_CLOUD.search(body)
    if cloud and not re.search(r"\b(from|migrat\w*|leav\w*|off)\s+(\w+\s){0,2}" + re.escape(cloud.group(1)), body, _I):
        return Verdict("refuse", f"archops builds on AWS only, not {cloud.group(1)}. It can design the AWS equivalent: describe the workload and it will propose AWS services for it.")
    if DESTROY.search(body):
        return Verdict("refuse", "archops does not destroy or delete infrastructure. It can change a design (e.g. 'remove the Redis cache'), and the pull request shows what would go; applying it stays with you.")
    if has_design and QUESTION.match(body) and not re.search(r"\b(add|use|make|switch|change|remove|with)\b", body, _I):
        return Verdict("question")
    if has_design and not NEW_DESIGN.search(body):
        return Verdict("change")
    return Verdict("new")


def safe_excerpt(text: str, limit: int = 120) -> str:
    """A short, redacted excerpt of user text for logs and messages."""
    clean = redact(" ".join(text.split()))
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
