// What the pages share: API paths (a ?cap= link passes on), a DOM builder, the event stream,
// and the rendering of a conversation's events (questions, results).
import { t } from "./i18n.js";

const query = new URLSearchParams(location.search);
export const cap = query.get("cap");
export const readOnly = Boolean(cap);

export function withCap(path) {
  if (!cap) return path;
  return path + (path.includes("?") ? "&" : "?") + "cap=" + encodeURIComponent(cap);
}

export function api(path) {
  return withCap(path);
}

export function conversationFromPath() {
  const match = location.pathname.match(/^\/c\/([^/]+)/);
  return match ? decodeURIComponent(match[1]) : null;
}

// h("p", {class: "x", onclick: fn}, "text", child): elements from text, never from HTML
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export async function getJSON(path) {
  const response = await fetch(api(path), { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body?.error?.message || response.statusText);
  return body;
}

export async function postJSON(path, payload) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body?.error?.message || response.statusText);
  return body;
}

export function money(value) {
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: value < 10 ? 2 : 0 });
}

const TYPES = ["status", "token", "question", "artifact", "error", "done"];

// Follow a conversation's events. EventSource resumes with Last-Event-ID by itself after a
// dropped connection; the server replays from there, so nothing is missed or repeated. An
// answer other than the stream (a 503 from an instance that is stopping) closes an EventSource
// for good: then the page asks whether it may still read, and opens a new one after the last
// event it has (?after=), unless the answer is no (401/403: the link expired).
export function follow(conversationId, onEvent, onState = () => {}) {
  const path = `/api/conversations/${encodeURIComponent(conversationId)}`;
  const seen = new Set();
  const stats = { received: 0, duplicates: 0, opens: 0, goodbyes: 0 };
  let last = null;
  let source = null;
  // for operators and tests: received,duplicates,connections opened
  const record = () => { document.body.dataset.stream = `${stats.received},${stats.duplicates},${stats.opens}`; };
  const handle = (message) => {
    if (message.data === undefined) return; // the connection's own error event
    stats.received += 1;
    if (seen.has(message.lastEventId)) {
      stats.duplicates += 1;
      record();
      return;
    }
    seen.add(message.lastEventId);
    last = message.lastEventId;
    record();
    onEvent(JSON.parse(message.data));
  };
  const reopen = async () => {
    const probe = await fetch(api(`${path}/history${last ? `?after=${encodeURIComponent(last)}` : ""}`),
      { headers: { Accept: "application/json" } }).catch(() => null);
    if (probe && (probe.status === 401 || probe.status === 403)) return onState("closed");
    if (!probe || !probe.ok) return setTimeout(reopen, 1000 + Math.random() * 2000);
    open();
  };
  const open = () => {
    source = new EventSource(api(`${path}/events${last ? `?after=${encodeURIComponent(last)}` : ""}`));
    for (const type of TYPES) source.addEventListener(type, handle);
    source.addEventListener("open", () => { stats.opens += 1; record(); onState("open"); });
    // the server ends a stream on purpose with "reconnect" (it is stopping, or the link
    // expired): the browser reconnects by itself after the retry it was given
    source.addEventListener("reconnect", () => {
      stats.goodbyes += 1;
      document.body.dataset.goodbyes = String(stats.goodbyes);
      onState("moving");
    });
    source.addEventListener("error", (e) => {
      if (e.data !== undefined) return;
      onState("reconnecting");
      if (source.readyState === EventSource.CLOSED) setTimeout(reopen, 500 + Math.random() * 1500);
    });
  };
  open();
  return { close: () => source.close() };
}

function pillarOf(finding) {
  return finding.pillar || "other";
}

// One conversation's events rendered into a page: a log, the open question, the result.
export class ConversationView {
  constructor({ conversationId, log, question, result, onAnswer = null }) {
    this.conversationId = conversationId;
    this.log = log;
    this.questionBox = question;
    this.resultBox = result;
    this.onAnswer = onAnswer;
    this.module = null;
    this.openQuestion = null;
    this.tokens = null;
    this.rowTag = ["UL", "OL"].includes(log.tagName) ? "li" : "div";
  }

  links(extra = "") {
    const id = encodeURIComponent(this.conversationId);
    return withCap(`/c/${id}${extra}`);
  }

  add(event) {
    const row = h(this.rowTag, { class: `event event-${event.type}`, dataset: { eventId: event.id || "", type: event.type } },
      h("time", { datetime: new Date(event.ts * 1000).toISOString() }, new Date(event.ts * 1000).toLocaleTimeString()),
      h("span", { class: "kind" }, event.type),
      h("span", { class: "text" }, event.text || ""));
    if (event.type === "token") {
      if (!this.tokens || this.tokens.dataset.request !== event.request_id) {
        this.tokens = h(this.rowTag, { class: "event event-token", dataset: { eventId: event.id, type: "token", request: event.request_id || "" } }, "");
        this.log.append(this.tokens);
      }
      this.tokens.textContent += event.text || "";
      this.tokens.dataset.eventId = event.id;
      return;
    }
    this.tokens = null;
    this.log.append(row);
    row.scrollIntoView?.({ block: "nearest" });
    if (this.openQuestion && event.type !== "question") this.closeQuestion();
    if (event.type === "question") this.showQuestion(event);
    else if (event.type === "artifact" && event.data?.kind === "module") this.module = event.data;
    else if (event.type === "artifact" && event.data?.kind === "pull_request") this.showPullRequest(event);
    else if (event.type === "done") this.showResult(event);
    else if (event.type === "error") this.showError(event);
  }

  // close a question card (the open one by default): answered, or followed by other events
  closeQuestion(value = null, box = this.openQuestion) {
    if (!box) return;
    for (const el of box.querySelectorAll("button, input")) el.disabled = true;
    box.classList.add("answered");
    if (value !== null && !box.querySelector(".answered-note")) {
      box.append(h("p", { class: "answered-note" }, t("answered", { value })));
    }
    if (this.openQuestion === box) this.openQuestion = null;
  }

  showQuestion(event) {
    this.closeQuestion();
    const q = event.data?.question || {};
    const choices = h("div", { class: "choices" });
    for (const choice of q.choices || []) {
      const isDefault = choice.value === q.default;
      choices.append(h("button", {
        type: "button", class: isDefault ? "choice primary" : "choice",
        dataset: { value: choice.value, default: String(isDefault) },
        disabled: !this.onAnswer,
        onclick: () => this.answer(q, choice.value, choice.label),
      },
      h("span", { class: "choice-label" }, choice.label),
      isDefault ? h("span", { class: "badge" }, t("recommended")) : null,
      choice.detail ? h("span", { class: "choice-detail" }, choice.detail) : null));
    }
    const card = h("section", { class: "card question", dataset: { questionId: q.id } },
      h("p", { class: "prompt" }, q.prompt || event.text || ""), choices);
    if (q.free_text && this.onAnswer) {
      const input = h("input", { type: "text", class: "free-text", "aria-label": t("your_answer"), placeholder: t("your_answer") });
      const form = h("form", { class: "free-form", onsubmit: (e) => { e.preventDefault(); if (input.value.trim()) this.answer(q, input.value.trim(), input.value.trim()); } },
        input, h("button", { type: "submit" }, t("answer")));
      card.append(form);
    }
    if (!this.onAnswer) card.append(h("p", { class: "note" }, t("question_read_only")));
    this.questionBox.append(card);
    this.openQuestion = card;
    card.scrollIntoView?.({ block: "nearest" });
  }

  async answer(question, value, label) {
    const box = this.openQuestion;
    if (!box || !this.onAnswer) return;
    for (const el of box.querySelectorAll("button, input")) el.disabled = true;
    try {
      await this.onAnswer({ question_id: question.id, value });
      // the next question may have arrived before this answer's reply: close this card only
      this.closeQuestion(label, box);
    } catch (err) {
      for (const el of box.querySelectorAll("button, input")) el.disabled = false;
      box.append(h("p", { class: "error" }, String(err.message || err)));
    }
  }

  // another part of archops opened the design's pull request: link it where the result is
  showPullRequest(event) {
    const url = safeUrl(event.data.url);
    if (!url) return;
    this.pullRequest = event.data;
    const title = event.data.title || (event.data.number ? `#${event.data.number}` : url);
    this.resultBox.append(h("section", { class: "card pull-request", dataset: { url } },
      h("p", {}, t("pull_request_opened", { title })),
      h("a", { class: "button primary pr-link", href: url, rel: "noopener", target: "_blank", "data-action": "open-pr" },
        t("pull_request"), event.data.number ? ` #${event.data.number}` : "")));
  }

  showError(event) {
    this.resultBox.append(h("section", { class: "card error-card" },
      h("h2", {}, t("error")), h("p", {}, event.text || ""),
      event.data?.hint ? h("p", { class: "hint" }, event.data.hint) : null));
  }

  showResult(event) {
    const module = this.module;
    const card = h("section", { class: "card result", dataset: { version: module?.version ?? "" } },
      h("h2", {}, t("result"), module?.version ? h("span", { class: "version" }, " · " + t("version", { n: module.version })) : null),
      h("p", { class: "summary" }, event.text || ""));
    this.module = null;
    if (!module) {
      this.resultBox.append(card);
      return;
    }
    const links = h("p", { class: "links" },
      h("a", { class: "button", href: api(`/api/conversations/${encodeURIComponent(this.conversationId)}/module.zip?version=${module.version}`), download: "", "data-action": "download-zip" }, t("download_zip")),
      h("a", { class: "button", href: this.links(`/diagram?version=${module.version}`), "data-action": "open-diagram" }, t("open_diagram")),
      h("a", { class: "button", href: this.links(""), "data-action": "open-stream" }, t("open_stream")));
    const pr = safeUrl(module.pull_request?.url || event.data?.pull_request_url || this.pullRequest?.url);
    if (pr) links.append(h("a", { class: "button pr-link", href: pr, rel: "noopener", "data-action": "open-pr" }, t("open_pr")));
    card.append(links);

    const items = module.plan?.items || [];
    // the list is long: folded, with its count, so findings and cost stay in view
    card.append(h("details", { class: "resources-box" },
      h("summary", {}, h("h3", {}, `${t("resources")} (${items.length})`)),
      h("ul", { class: "resources" }, items.map((item) =>
        h("li", {}, h("strong", {}, item.title), h("code", {}, item.file), h("span", { class: "why" }, item.why))))));

    // every finding by pillar, as the review reports them: open ones, then the documented skips
    // with their reasons (a clean design still shows what it waived and why)
    const all = module.findings || [];
    const open = all.filter((f) => !f.skip_reason);
    const byPillar = new Map();
    for (const finding of all) {
      const key = pillarOf(finding);
      if (!byPillar.has(key)) byPillar.set(key, []);
      byPillar.get(key).push(finding);
    }
    const findings = h("div", { class: "findings" });
    if (!open.length) findings.append(h("p", {}, t("no_findings")));
    for (const [pillar, list] of byPillar) {
      const opened = list.filter((f) => !f.skip_reason);
      const waived = list.length - opened.length;
      const label = [opened.length ? t("findings_open", { n: opened.length }) : "",
                     waived ? t("findings_skipped", { n: waived }) : ""].filter(Boolean).join(" · ");
      findings.append(h("details", { class: "pillar", dataset: { pillar } },
        h("summary", {}, `${t("pillar_" + pillar)} · ${label}`),
        h("ul", {}, [...opened, ...list.filter((f) => f.skip_reason)].map((f) => h("li", {
          class: f.skip_reason ? "skipped" : `severity-${String(f.severity || "").toLowerCase()}`,
        }, h("code", {}, f.check_id), " ", h("code", {}, f.address || ""), " ", f.message,
          f.skip_reason ? h("span", { class: "why" }, ` — ${f.skip_reason}`) : "")))));
    }
    card.append(h("h3", {}, t("findings")), findings);

    const notBuilt = module.not_built || [];
    if (notBuilt.length) {
      card.append(h("h3", {}, t("not_built")), h("ul", { class: "not-built" },
        notBuilt.map((item) => h("li", {}, typeof item === "string" ? item : `${item.what || item.id}: ${item.why || ""}`))));
    }

    const cost = module.cost || {};
    if (cost.monthly_total !== undefined && cost.monthly_total !== null) {
      const lines = (cost.items || []).filter((i) => i.monthly_usd > 0).sort((a, b) => b.monthly_usd - a.monthly_usd).slice(0, 8);
      card.append(h("h3", {}, t("cost")),
        h("p", { class: "cost-total" }, t("per_month", { amount: money(cost.monthly_total) })),
        h("ul", { class: "cost-items" }, lines.map((i) => h("li", {}, t("cost_line", { address: i.address, amount: money(i.monthly_usd), detail: i.detail || "" })))));
    }
    this.resultBox.append(card);
    card.scrollIntoView?.({ block: "start" });
  }
}

// only web links: a URL from an event never becomes a javascript: or data: link
export function safeUrl(value) {
  try {
    const url = new URL(String(value || ""), location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

const BADGE = { open: "connected", reconnecting: "reconnecting", moving: "stream_moving", closed: "stream_closed" };

export function connectionBadge(el) {
  return (state) => {
    el.dataset.state = state;
    el.textContent = t(BADGE[state] || "reconnecting");
  };
}

// crypto.randomUUID needs a secure context; getRandomValues does not
export function randomId(prefix = "") {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
