"""A finished design goes to its project's repository as a pull request (the worker's step).

The graph calls :meth:`Deliverer.deliver` once the fixer has the final module, before "done":
the conversation's project is found (the request's, the conversation's, the Slack channel's,
else the default one), the design becomes a :class:`core.codehost.Design`, and
:func:`core.codehost.effect.deliver_once` takes it to the host once per request. The outcome is
an ``artifact`` event (``kind: pull_request``) and a line of the reply; a failure is said there
too. :meth:`Deliverer.answer` answers "what changed since the last version?" from the branch.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from core.codehost import body as pr_body
from core.codehost.body import Design
from core.codehost.delivery import Change, history
from core.codehost.effect import deliver_once, describe, off_loop
from core.codehost.errors import CodeHostError
from core.codehost.hosts import DEFAULT_PROJECT, Hosts, principal_of, web_address
from core.codehost.naming import branch_name
from core.context import RequestContext
from core.envelope import Envelope
from core.errors import NotFound
from core.logging import get_logger
from core.projects import Projects

log = get_logger("archops.delivery")
LINK_TTL_S = 30 * 24 * 3600
# requirement fields that are bookkeeping, not decisions
_NOT_DECISIONS = {"language", "asked", "answers", "assumed", "uploads", "upload_paths", "names",
                  "wants_database", "removed", "copy_of"}
CHANGES_QUESTION = re.compile(
    r"what\s+(?:has\s+|have\s+)?changed|changes?\s+since|since\s+the\s+last\s+version|\bdiff\b|"
    r"변경\s*사항|무엇이\s*바뀌|뭐가\s*바뀌", re.I)


def decisions(req: dict[str, Any]) -> dict[str, str]:
    """What the requirements say, field by field, without what was assumed by default."""
    assumed = req.get("assumed") or {}
    out: dict[str, str] = {}
    for key, value in req.items():
        if key in _NOT_DECISIONS or key in assumed or value in (None, "", [], {}, False):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        out[key] = str(value)
    return out


def asked_of(state: dict[str, Any], envelope: Envelope) -> list[str]:
    """The person's own messages in the conversation (answers to questions are decisions)."""
    said = [str(m.get("text") or "") for m in state.get("messages") or []
            if m.get("role") == "user"]
    words = [s for s in said if s.strip() and not s.startswith("answered ")]
    if envelope.text and envelope.text not in words:
        words.append(envelope.text)
    return words


def engine_footer() -> str:
    """How the design was made: the offline engine, or the model and what it spent."""
    from agents.llm.accounting import footer, request_usage

    usage = request_usage()
    return usage.footer() if usage is not None else footer(None)


class Deliverer:
    def __init__(self, store: Any, hosts: Hosts, signer: Any = None) -> None:
        self.store = store
        self.hosts = hosts
        self.settings = hosts.settings
        self.projects = Projects(store, hosts)
        self.signer = signer

    async def project_of(self, envelope: Envelope) -> Any:
        """The request's project, the conversation's, the Slack channel's, or the default."""
        if envelope.project_id:
            found = await self.store.find_project(envelope.project_id)
            if found is not None:
                return found
        try:
            conversation = await self.store.get_conversation(envelope.conversation_id)
        except NotFound:
            conversation = None  # not recorded yet (the worker records it first)
        if conversation is not None and conversation.project_id:
            found = await self.store.find_project(conversation.project_id)
            if found is not None:
                return found
        channel = envelope.reply_to.get("channel")
        if channel:
            found = await self.store.find_project_by_channel(channel)
            if found is not None:
                return found
        return await self.projects.ensure_default()

    def links(self, envelope: Envelope) -> tuple[dict[str, str], str | None]:
        """The Slack thread, and signed read-only links to the live stream and the diagram."""
        out: dict[str, str] = {}
        reply = envelope.reply_to
        if envelope.source == "slack" and reply.get("channel"):
            if reply.get("permalink"):
                out["slack"] = reply["permalink"]
            else:
                ts = reply.get("thread_ts") or reply.get("ts") or ""
                team = reply.get("team") or ""
                out["slack"] = (f"https://app.slack.com/client/{team}/{reply['channel']}"
                                + (f"/thread/{reply['channel']}-{ts}" if ts else ""))
        web = web_address(self.settings)
        expires = None
        if web and self.signer is not None:
            cid = envelope.conversation_id
            cap = self.signer.issue("conversation", cid, actions={"read"}, ttl_s=LINK_TTL_S)
            page = f"{web}/c/{quote(cid, safe='')}"
            out["stream"] = f"{page}?cap={quote(cap, safe='.-_')}"
            out["diagram"] = f"{page}/diagram?cap={quote(cap, safe='.-_')}"
            expires = datetime.fromtimestamp(
                datetime.now(UTC).timestamp() + LINK_TTL_S, UTC).strftime("%Y-%m-%d")
        return out, expires

    async def deliver(self, ctx: RequestContext, state: dict[str, Any], req: dict[str, Any],
                      files: dict[str, str], report: dict[str, Any],
                      missing: list[tuple[str, str]], version: int) -> tuple[dict[str, Any], str]:
        """Open or update the design's pull request; (the artifact's data, the reply's line)."""
        env = ctx.envelope
        project = await self.project_of(env)
        await self.store.ensure_conversation(env.conversation_id, env.source, env.user,
                                             project_id=project.id)
        asked = asked_of(state, env)
        previous = state.get("validation_output") or {}
        cost = report.get("cost") or {}
        links, expires = self.links(env)
        design = Design(
            conversation_id=env.conversation_id, project_id=project.id, version=version,
            asked=asked, files=files, decisions=decisions(req),
            assumed={k: str(v) for k, v in (req.get("assumed") or {}).items()},
            blueprints=[(i["title"], i.get("why", "")) for i in
                        (state.get("resource_plan") or {}).get("items", [])],
            plan_line=report.get("plan"), passed=bool(report.get("passed")),
            findings=list(report.get("findings") or []), not_built=list(missing),
            monthly_usd=cost.get("monthly_total"),
            previous_monthly_usd=((previous.get("cost") or {}).get("monthly_total")
                                  if version > 1 else None),
            region=req.get("region"), environment=req.get("environment"),
            cost_items=list(cost.get("items") or []), links=links, links_expire=expires,
            footer=engine_footer(),
        )
        branch = branch_name(project.id, asked[0] if asked else env.text, env.conversation_id)
        record = await self.store.get_pull_request(env.conversation_id)
        base = record.base if record is not None and record.branch == branch else None
        said = env.text or (f"answered {env.action.question_id} = {env.action.value}"
                            if env.action else None)

        def render(delta: Any, commit: str, earlier: str | None) -> str:
            return pr_body.render(design, delta, commit, earlier, full_report=links.get("stream"))

        change = Change(env.conversation_id, env.request_id, version, branch, project.repo_path,
                        files, pr_body.commit_message(design, said), pr_body.title(design),
                        pr_body.labels(design), render, base)
        make_host, credentials = await self.hosts.for_project(project, principal_of(env))
        result = await deliver_once(ctx, make_host, change,
                                    max_wait_s=self.settings.github_max_wait_s)
        result = {**result, "project": project.id,
                  "host": "github" if project.github_repo else "local",
                  "repository": project.github_repo or str(self.hosts.local_path(project.id))}
        result.pop("calls", None)
        if result.get("action") == "failed":
            if result.get("code") == "credentials_rejected" and credentials and \
                    credentials.principal:
                await self.store.mark_github_account(credentials.principal, "revoked")
        else:
            await self.store.record_pull_request(
                env.conversation_id, project_id=project.id, host=result["host"],
                repository=result["repository"], branch=branch, base=result.get("base") or "main",
                path=project.repo_path, number=int(result["number"]), url=str(result["url"]),
                head_commit=str(result["commit"]), design_version=version,
                monthly_usd=design.monthly_usd)
        line = describe(result)
        await ctx.emit("artifact", line, **result)
        return result, line

    async def answer(self, envelope: Envelope, text: str | None, fallback: str) -> str:
        """"What changed since the last version?" from the branch's history; ``fallback`` (the
        design's description) for every other question."""
        if not text or not CHANGES_QUESTION.search(text):
            return fallback
        record = await self.store.get_pull_request(envelope.conversation_id)
        if record is None:
            return fallback
        project = await self.store.find_project(record.project_id or DEFAULT_PROJECT)
        if project is None:
            return fallback
        make_host, _credentials = await self.hosts.for_project(project, principal_of(envelope))
        try:
            versions = await off_loop(
                lambda: history(make_host(), record.branch, envelope.conversation_id, record.path,
                                limit=5))
        except CodeHostError as exc:
            return f"{fallback}\n(The branch's history cannot be read: {exc.message})"
        if not versions:
            return fallback
        lines = [f"From the branch {record.branch} (pull request #{record.number}, {record.url}):"]
        for commit, delta in versions:
            subject = (commit.message.splitlines() or [""])[0]
            lines.append(f"- {subject} ({commit.sha[:12]}): {delta.describe()}")
        return "\n".join(lines)
