"""The pull request a reviewer can act on: its body, title, labels and commit message.

The body says, in this order: what was asked (in the person's words), what was decided and what
was assumed by default, what this version changes (from the branch: files added, changed,
removed since the previous version), the resources with Terraform's own ``Plan: N to add``, the
review's findings by Well-Architected pillar (open ones, then the documented skips with their
reasons), what was not built, the monthly cost and its change since the previous version, and
links back to the Slack thread, the live stream and the diagram.

GitHub refuses a body over 65,536 characters. What does not fit (resource rows, then findings,
least severe first) is cut and the body says what was cut and where the whole of it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.codehost.port import Delta
from core.redaction import redact
from core.terraform.findings import PILLARS, SEVERITIES
from core.terraform.structure import scan

GITHUB_BODY_LIMIT = 65_536
PILLAR_TITLES = {
    "security": "Security", "reliability": "Reliability",
    "performance_efficiency": "Performance efficiency", "cost_optimisation": "Cost optimisation",
    "operational_excellence": "Operational excellence", "sustainability": "Sustainability",
}


@dataclass
class Design:
    """What one version of a conversation's design delivers (plain data, from the workflow)."""

    conversation_id: str
    project_id: str
    version: int
    asked: list[str]  # the person's messages, in order
    files: dict[str, str]
    decisions: dict[str, str] = field(default_factory=dict)  # requirement -> value
    assumed: dict[str, str] = field(default_factory=dict)  # requirement -> default taken
    blueprints: list[tuple[str, str]] = field(default_factory=list)  # (title, why)
    plan_line: str | None = None  # Terraform's "Plan: N to add, ..."
    passed: bool = True
    findings: list[dict[str, Any]] = field(default_factory=list)
    not_built: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    monthly_usd: float | None = None
    previous_monthly_usd: float | None = None
    region: str | None = None
    environment: str | None = None
    cost_items: list[dict[str, Any]] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # slack, stream, diagram
    links_expire: str | None = None  # a date, when the links are signed and expire
    footer: str | None = None  # how it was designed (the engine, what the model spent)

    @property
    def title_words(self) -> str:
        first = next((a for a in self.asked if a.strip()), "infrastructure design")
        return " ".join(first.split())


def resources(files: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(resource type, name, file) of every ``resource`` block, in file order."""
    out = []
    for name in sorted(files):
        if name.endswith(".tf"):
            for block in scan(files[name]):
                if block.type == "resource" and len(block.labels) == 2:
                    out.append((block.labels[0], block.labels[1], name))
    return out


def _money(value: float) -> str:
    return f"${value:,.2f}"


def cost_line(design: Design) -> str | None:
    if design.monthly_usd is None:
        return None
    where = f" in {design.region}" if design.region else ""
    line = f"About **{_money(design.monthly_usd)}/month** (on-demand list prices{where})"
    if design.previous_monthly_usd is not None:
        change = design.monthly_usd - design.previous_monthly_usd
        sign = "+" if change >= 0 else "-"
        line += (f"; {sign}{_money(abs(change))}/month since version {design.version - 1} "
                 f"({_money(design.previous_monthly_usd)})")
    elif design.version > 1:
        line += "; the previous version's cost is not known"
    else:
        line += "; a new design, so all of it is new cost"
    return line + "."


def _quote(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _finding(f: Mapping[str, Any]) -> str:
    where = " ".join(f"`{x}`" for x in (f.get("check_id"), f.get("address")) if x)
    text = _cell(str(f.get("message") or ""))
    if f.get("skip_reason"):
        return f"- skipped {where}: {text}. Reason: {_cell(str(f['skip_reason']))}"
    fix = f" Fix: {_cell(str(f['fix']))}" if f.get("fix") else ""
    return f"- **{f.get('severity', '?')}** {where}: {text}.{fix}"


def _rank(f: Mapping[str, Any]) -> int:
    severity = str(f.get("severity"))
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)  # type: ignore[arg-type]


def _changes(design: Design, delta: Delta, commit: str, previous: str | None) -> list[str]:
    if design.version <= 1 or previous is None:
        return [f"The first version (commit `{commit[:12]}`): {len(design.files)} file(s)."]
    return [f"Version {design.version} (commit `{commit[:12]}`, on `{previous[:12]}`): "
            f"{delta.describe()}."]


def render(design: Design, delta: Delta, commit: str, previous: str | None = None, *,
           limit: int = GITHUB_BODY_LIMIT, full_report: str | None = None) -> str:
    """The body, under ``limit`` characters; ``full_report`` is where what was cut can be read."""
    table = resources(design.files)
    findings = sorted(({**f} for f in design.findings),
                      key=lambda f: (bool(f.get("skip_reason")), _rank(f)))
    # what people wrote (and what came of it) is redacted once, before the body is assembled
    lines = redact("\n".join(_finding(f) for f in findings)).split("\n") if findings else []
    for f, line in zip(findings, lines, strict=True):
        f["_line"] = line
    design = replace(design, asked=[redact(a) for a in design.asked],
                     decisions={k: redact(v) for k, v in design.decisions.items()},
                     assumed={k: redact(v) for k, v in design.assumed.items()})
    rows, kept = len(table), len(findings)
    asked_chars = 4000
    while True:
        body = _render(design, delta, commit, previous, table[:rows], len(table),
                       _keep(findings, kept), len(findings), asked_chars, full_report)
        if len(body) <= limit:
            return body
        if rows > 20:
            rows = max(20, rows // 2)
        elif kept > 10:
            kept = max(10, kept // 2)
        elif asked_chars > 300:
            asked_chars //= 2
        elif rows or kept:
            rows, kept = 0, 0
        else:  # nothing left to cut but the text itself
            note = "\n\n_Cut at GitHub's limit._"
            return body[: limit - len(note)] + note


def _keep(findings: list[dict[str, Any]], kept: int) -> list[dict[str, Any]]:
    """The ``kept`` most important findings (open before skipped, severe before mild)."""
    return findings[:kept]


def _render(design: Design, delta: Delta, commit: str, previous: str | None,
            table: list[tuple[str, str, str]], all_rows: int, findings: list[dict[str, Any]],
            all_findings: int, asked_chars: int, full_report: str | None) -> str:
    out: list[str] = ["## What was asked", ""]
    for i, text in enumerate(design.asked):
        if i:
            out.append("")
        out.append(_quote(text, asked_chars))
    out += ["", "## Decisions", ""]
    for key, value in design.decisions.items():
        out.append(f"- **{key}**: {_cell(value)}")
    for key, value in design.assumed.items():
        out.append(f"- **{key}**: {_cell(value)} _(assumed: archops' default, not asked)_")
    if design.blueprints:
        out += ["", "Blueprints: " + ", ".join(title for title, _why in design.blueprints) + "."]
    out += ["", "## What changes in this version", "", *_changes(design, delta, commit, previous)]
    out += ["", f"## Resources ({all_rows})", ""]
    if table:
        out += ["| Resource | Name | File |", "|---|---|---|"]
        out += [f"| `{_cell(t)}` | `{_cell(n)}` | {_cell(f)} |" for t, n, f in table]
    if design.plan_line:
        out += ["", f"**{design.plan_line.strip()}** (Terraform's own plan, run offline against "
                "the AWS provider's schema)"]
    out += ["", "## Review by Well-Architected pillar", ""]
    open_count = sum(1 for f in design.findings if not f.get("skip_reason"))
    skipped = len(design.findings) - open_count
    verdict = "All checks passed" if design.passed else "The review did not pass"
    out.append(f"{verdict}: {open_count} open finding(s), {skipped} skipped with a reason.")
    for pillar in (*PILLARS, None):
        group = [f for f in findings if (f.get("pillar") if f.get("pillar") in PILLARS else None)
                 == pillar]
        if not group:
            continue
        title = PILLAR_TITLES.get(str(pillar), "Other")
        opened = sum(1 for f in group if not f.get("skip_reason"))
        out += ["", f"### {title}: {opened} open, {len(group) - opened} skipped", ""]
        out += [f.get("_line") or _finding(f) for f in group]
    out += ["", "## Not built", ""]
    if design.not_built:
        out += [f"- **{_cell(what)}**: {_cell(why)}" for what, why in design.not_built]
    else:
        out.append("Everything the request named was built.")
    out += ["", "## Cost", "", cost_line(design) or "No cost estimate for this version."]
    top = sorted((i for i in design.cost_items if (i.get("monthly_usd") or 0) > 0),
                 key=lambda i: -float(i["monthly_usd"]))[:8]
    out += [f"- `{_cell(i['address'])}`: {_money(float(i['monthly_usd']))} {_cell(i.get('detail') or '')}"
            .rstrip() for i in top]
    out += ["", "## Links", ""]
    names = {"slack": "Slack thread", "stream": "Live stream of the work",
             "diagram": "Architecture diagram"}
    for key, label in names.items():
        if design.links.get(key):
            out.append(f"- [{label}]({design.links[key]})")
    if not any(design.links.get(k) for k in names):
        out.append("No web address is configured (ARCHOPS_PUBLIC_URL), so there are no links.")
    if design.links_expire and (design.links.get("stream") or design.links.get("diagram")):
        out.append(f"\nThe stream and diagram links are signed and read-only; they expire on "
                   f"{design.links_expire}.")
    cut = []
    if len(table) < all_rows:
        cut.append(f"{all_rows - len(table)} of {all_rows} resource rows")
    if len(findings) < all_findings:
        cut.append(f"{all_findings - len(findings)} of {all_findings} findings (the least "
                   "severe, skipped ones first)")
    if asked_chars < 4000:
        cut.append("the end of long messages")
    if cut:
        where = f": the whole report is at [the live stream]({full_report})" if full_report else \
            "; the module's files in this pull request hold every resource"
        out += ["", f"_Cut to fit GitHub's 65,536-character limit: {'; '.join(cut)}{where}._"]
    if design.footer:
        out += ["", design.footer]
    out += ["", f"<sub>Written by archops for conversation `{_cell(design.conversation_id)}` of "
            f"project `{_cell(design.project_id)}`, version {design.version}.</sub>", ""]
    return "\n".join(out)


def title(design: Design) -> str:
    words = design.title_words
    words = words if len(words) <= 72 else words[:71] + "…"
    return f"archops: {words}"


def labels(design: Design) -> list[str]:
    out = ["archops", "terraform", "review: passed" if design.passed else "review: failed"]
    if design.environment:
        out.append(f"env: {design.environment}")
    return out


def commit_message(design: Design, request_text: str | None) -> str:
    """What was asked and decided, as a commit message (the trailers are added on delivery)."""
    asked = " ".join((request_text or design.title_words).split())
    subject = asked if len(asked) <= 66 else asked[:65] + "…"
    lines = [f"v{design.version}: {subject}", "", f"Asked: {redact(asked)[:2000]}"]
    decided = [f"{k}={v}" for k, v in design.decisions.items()]
    decided += [f"{k}={v} (assumed)" for k, v in design.assumed.items()]
    if decided:
        lines += ["", "Decided: " + ", ".join(decided)]
    if design.blueprints:
        lines += ["Blueprints: " + ", ".join(t for t, _w in design.blueprints)]
    review = "passed" if design.passed else "did not pass"
    lines += ["", f"Review {review}" + (f"; {design.plan_line.strip()}" if design.plan_line else "")]
    cost = cost_line(design)
    if cost:
        lines.append(re.sub(r"\*\*", "", cost))
    if design.not_built:
        lines += ["Not built: " + "; ".join(f"{w} ({y})" for w, y in design.not_built)]
    return "\n".join(lines)
