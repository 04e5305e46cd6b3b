// The metrics page of a project: its insights (with "make this change"), then one card per
// resource with a small chart per metric; an insight's window is shaded on the charts it names.
import { getJSON, h, money, postJSON } from "./common.js";
import { lang } from "./i18n.js";

const STRINGS = {
  en: {
    range: "Range", cost: "collection: ${week} this week, ${month} in 30 days", act: "Make this change",
    acted: "Requested: follow it", no_data: "No metrics yet: the monitor collects every few minutes.",
    no_insight: "No open insight.", not_read: "Not read:", per_month: "/month",
  },
  ko: {
    range: "기간", cost: "수집 비용: 이번 주 ${week}, 30일 ${month}", act: "이 변경 요청",
    acted: "요청됨: 진행 보기", no_data: "아직 지표가 없습니다. 모니터가 몇 분마다 수집합니다.",
    no_insight: "열린 항목이 없습니다.", not_read: "읽지 못함:", per_month: "/월",
  },
};
const SVG = "http://www.w3.org/2000/svg";
const projectId = decodeURIComponent(location.pathname.split("/")[2] || "");
let text = STRINGS[lang] || STRINGS.en;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function effect(usd) {
  if (usd === null || usd === undefined) return "";
  return `${usd < 0 ? "-" : "+"}$${money(Math.abs(usd))}${text.per_month}`;
}

function insightCard(insight, language) {
  const title = insight.title[language] || insight.title.en;
  const rec = insight.recommendation[language] || insight.recommendation.en;
  const card = h("article", { class: `card insight sev-${insight.severity}`, dataset: { insight: insight.id } },
    h("h3", {}, `[${insight.severity}] ${title}`, h("span", { class: "effect" }, effect(insight.monthly_usd))),
    h("p", {}, rec));
  if (insight.change_request) {
    const status = h("span", { class: "note" });
    const button = h("button", { class: "primary", type: "button" }, text.act);
    const follow = (conversation) => {
      status.replaceChildren(h("a", { href: `/c/${encodeURIComponent(conversation)}` }, text.acted));
    };
    if (insight.status === "acted" && insight.conversation_id) follow(insight.conversation_id);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const answer = await postJSON(`/api/projects/${encodeURIComponent(projectId)}/insights/${insight.id}/act`, {});
        follow(answer.conversation_id);
      } catch (err) {
        status.textContent = err.message;
        button.disabled = false;
      }
    });
    card.append(h("p", { class: "change" }, insight.change_request), h("p", {}, button, " ", status));
  }
  return card;
}

// the chart's top value in its unit: 44 MB, 18 %, 1.2 s
function scale(value, unit) {
  if (unit === "Bytes") {
    const steps = ["B", "KB", "MB", "GB", "TB"];
    let k = 0;
    while (value >= 1024 && k < steps.length - 1) { value /= 1024; k += 1; }
    return `${Number(value.toPrecision(3))} ${steps[k]}`;
  }
  const short = { Percent: "%", Seconds: "s", Milliseconds: "ms", Count: "", "Count/Second": "/s" };
  return `${Number(value.toPrecision(3))} ${unit in short ? short[unit] : (unit || "")}`.trim();
}

function chart(series, window, marks) {
  const width = 340, height = 120, pad = 18;
  const points = series.points;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `${series.name} ${series.stat}` });
  const x = (ts) => pad + (ts - window.from) / (window.to - window.from) * (width - 2 * pad);
  const top = Math.max(...points.map((p) => p[2]), 1e-9);
  const y = (v) => height - pad - (v / top) * (height - 2 * pad);
  for (const m of marks) {
    const from = Math.max(m.window_start, window.from), to = Math.min(Math.max(m.window_end, m.window_start + window.bucket), window.to);
    if (to <= window.from || from >= window.to) continue;
    svg.append(s("rect", { class: `mark sev-${m.severity}`, x: x(from), y: pad / 2, width: Math.max(2, x(to) - x(from)),
      height: height - pad * 1.5, "data-insight": m.id }, s("title", {}, m.title.en)));
  }
  svg.append(s("line", { class: "axis", x1: pad, y1: height - pad, x2: width - pad, y2: height - pad }));
  if (points.length) {
    const path = (i) => points.map((p, k) => `${k ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[i]).toFixed(1)}`).join(" ");
    svg.append(s("path", { class: "peak", d: path(2) }), s("path", { class: "line", d: path(1) }));
  }
  svg.append(s("text", { x: pad, y: 10 }, scale(top, series.unit)));
  return svg;
}

async function load() {
  const days = document.getElementById("range").value;
  const data = await getJSON(`/api/projects/${encodeURIComponent(projectId)}/metrics?days=${days}`);
  const language = STRINGS[lang] ? lang : data.project.language;
  text = STRINGS[language] || STRINGS.en;
  document.getElementById("range-label").textContent = text.range;
  document.getElementById("project-label").textContent = data.project.name || data.project.id;
  document.getElementById("cost").textContent = text.cost
    .replace("${week}", `$${data.cost.week.usd.toFixed(2)}`).replace("${month}", `$${data.cost.month.usd.toFixed(2)}`);
  const insights = document.getElementById("insights");
  insights.replaceChildren(...(data.insights.length ? data.insights.map((i) => insightCard(i, language))
    : [h("p", { class: "note" }, text.no_insight)]));
  const problems = data.problems.map((p) => p.metric || p.region).filter(Boolean);
  document.getElementById("problems").textContent = problems.length ? `${text.not_read} ${problems.join(", ")}` : "";
  const cards = data.resources.map((r) => {
    const marks = data.insights.filter((i) => i.resource_id === r.id);
    const card = h("article", { class: "card resource", dataset: { resource: r.id } },
      h("h2", {}, r.label, " ", h("span", { class: "kind" }, `${r.kind} · ${r.region}`)));
    for (const series of r.series) {
      if (!series.points.length) continue;
      const own = marks.filter((m) => !m.metric || m.metric === series.metric);
      card.append(h("div", { class: "series-title" }, `${series.name} (${series.stat})`), chart(series, data.window, own));
    }
    return card;
  });
  document.getElementById("resources").replaceChildren(...cards);
  const empty = document.getElementById("empty");
  empty.hidden = data.resources.some((r) => r.series.some((x) => x.points.length));
  empty.textContent = text.no_data;
  document.body.dataset.loaded = String(data.resources.length);
}

document.getElementById("range").addEventListener("change", () => load().catch(showError));
function showError(err) {
  document.getElementById("empty").hidden = false;
  document.getElementById("empty").textContent = err.message;
}
load().catch(showError);
