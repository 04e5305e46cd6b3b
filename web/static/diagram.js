// The diagram page: the server builds a DOT graph from the design (web/dot.py); Graphviz,
// compiled to WebAssembly (@viz-js/viz), lays it out here. Where WebAssembly is missing the
// server lays out the same graph (/c/{id}/diagram.svg) and the page works the same on it.
// Pan with the mouse, zoom with the wheel or the buttons, click a component for its details,
// open or close a group of repeated resources, pick a version, export SVG or PNG.
import { applyStrings, t } from "./i18n.js";
import { api, conversationFromPath, getJSON, h, money, withCap } from "./common.js";

const $ = (id) => document.getElementById(id);
const conversationId = conversationFromPath();
const COPY = "@az";
const GROUP = "group:";
const MORE = ":more";
let data = null;
let svg = null;
let home = null; // the viewBox that shows everything
let box = null;
let viz = null; // the WebAssembly layout engine, or null: the server lays out
let expanded = new Set((new URLSearchParams(location.search).get("expand") || "").split(",").filter(Boolean));
let wired = false;

function setBox(next) {
  box = next;
  svg.setAttribute("viewBox", `${box.x} ${box.y} ${box.w} ${box.h}`);
}

function zoom(factor, cx = box.x + box.w / 2, cy = box.y + box.h / 2) {
  const w = Math.min(home.w * 4, Math.max(home.w / 20, box.w * factor));
  const k = w / box.w;
  setBox({ x: cx - (cx - box.x) * k, y: cy - (cy - box.y) * k, w, h: box.h * k });
}

function toSvgPoint(event) {
  const rect = svg.getBoundingClientRect();
  const scale = Math.max(box.w / rect.width, box.h / rect.height);
  // preserveAspectRatio xMidYMid meet: the drawing is centred in the element
  const offX = (rect.width - box.w / scale) / 2;
  const offY = (rect.height - box.h / scale) / 2;
  return { x: box.x + (event.clientX - rect.left - offX) * scale, y: box.y + (event.clientY - rect.top - offY) * scale, scale };
}

function panZoom() {
  let drag = null;
  if (wired) return;
  wired = true;
  const canvas = $("canvas");
  canvas.addEventListener("wheel", (e) => {
    if (!svg) return;
    e.preventDefault();
    const p = toSvgPoint(e);
    zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
  }, { passive: false });
  canvas.addEventListener("pointerdown", (e) => {
    if (!svg) return;
    drag = { x: e.clientX, y: e.clientY, box: { ...box }, scale: toSvgPoint(e).scale, moved: 0 };
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag || !(e.buttons & 1)) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    drag.moved = Math.max(drag.moved, Math.abs(dx) + Math.abs(dy));
    if (drag.moved > 3) {
      svg.setPointerCapture?.(e.pointerId);
      setBox({ ...drag.box, x: drag.box.x - dx * drag.scale, y: drag.box.y - dy * drag.scale });
    }
  });
  canvas.addEventListener("pointerup", (e) => {
    const wasDrag = drag && drag.moved > 3;
    drag = null;
    if (!wasDrag) select(e.target.closest?.("g.node"));
  });
  canvas.addEventListener("dblclick", (e) => {
    const name = nameOf(e.target.closest?.("g.node"));
    if (name && name.startsWith(GROUP)) openGroup(name.replace(/@az\d+$/, "").replace(MORE, ""));
  });
  $("zoom-in").addEventListener("click", () => zoom(1 / 1.3));
  $("zoom-out").addEventListener("click", () => zoom(1.3));
  $("fit").addEventListener("click", () => setBox({ ...home }));
}

function row(label, value) {
  if (value === null || value === undefined || value === "") return null;
  return [h("dt", {}, label), h("dd", {}, value)];
}

const nameOf = (g) => (g ? g.id.replace(/^node:/, "") : null);

function stateOf(id) {
  const c = data.changes;
  return data.nodes[id]?.removed ? "removed" : (c.added.includes(id) ? "added" : (c.changed.includes(id) ? "changed" : null));
}

// the open group a node is shown in (it can be closed again from the node)
function openGroupOf(id) {
  return Object.values(data.groups).find((g) => g.open && expanded.has(g.id) && g.members.includes(id)) || null;
}

function select(g) {
  for (const el of svg.querySelectorAll("g.node.selected")) el.classList.remove("selected");
  const panel = $("details");
  panel.replaceChildren();
  delete panel.dataset.node;
  delete panel.dataset.group;
  if (!g) {
    panel.append(h("p", { class: "note" }, t("details_hint")));
    return;
  }
  const name = nameOf(g);
  const [primary, az] = name.includes(COPY) ? name.split(COPY) : [name, null];
  for (const el of svg.querySelectorAll("g.node")) {
    if (nameOf(el).split(COPY)[0] === primary) el.classList.add("selected");
  }
  if (primary.startsWith(GROUP)) return showGroup(panel, primary.replace(MORE, ""), primary.endsWith(MORE));
  const node = data.nodes[primary];
  if (!node) return;
  panel.dataset.node = primary;
  const state = stateOf(primary);
  const open = node.findings.filter((f) => !f.skip_reason);
  const skipped = node.findings.filter((f) => f.skip_reason);
  const group = openGroupOf(primary);
  panel.append(...[
    h("h2", {}, node.label),
    az ? h("p", { class: "note" }, t("copy_of", { az, id: primary })) : null,
    state ? h("p", { class: `state state-${state}` }, t(`state_${state}`)) : null,
    h("dl", {},
      row(t("address"), h("code", {}, node.id)), row(t("kind"), node.kind), row(t("group"), node.group),
      row(t("blueprint"), node.title || node.blueprint), row(t("file"), node.file), row(t("why"), node.why)),
    h("h3", {}, t("node_cost")),
    node.cost.length ? h("ul", { class: "node-cost" }, node.cost.map((c) => h("li", {}, t("cost_line", { address: c.address, amount: money(c.monthly_usd), detail: c.detail || "" })))) : h("p", { class: "note" }, t("none")),
    h("h3", {}, t("node_findings")),
    open.length || skipped.length ? h("ul", { class: "node-findings" },
      open.map((f) => h("li", { class: `severity-${String(f.severity || "").toLowerCase()}` }, h("code", {}, f.check_id), " ", f.message)),
      skipped.map((f) => h("li", { class: "skipped" }, h("code", {}, f.check_id), " ", f.message, " — ", t("skipped", { reason: f.skip_reason })))) : h("p", { class: "note" }, t("none")),
    group ? h("p", {}, t("in_group", { label: group.label }), " ",
      h("button", { type: "button", id: "collapse-group", onclick: () => closeGroup(group.id) }, t("collapse"))) : null,
  ].filter(Boolean));
}

function showGroup(panel, id, more) {
  const group = data.groups[id];
  if (!group) return;
  panel.dataset.group = id;
  const members = group.members.map((m) => data.nodes[m]).filter(Boolean);
  const shown = more ? members.slice(group.shown || 0) : members;
  panel.append(...[
    h("h2", {}, group.label),
    h("p", { class: "note" }, t("group_note", { n: group.count })),
    h("dl", {},
      row(t("kind"), group.kind.replace(/^category:/, "")),
      row(t("node_cost"), t("per_month", { amount: money(group.monthly_usd) })),
      row(t("node_findings"), String(group.findings))),
    group.open ? null : h("p", {}, h("button", { type: "button", class: "primary", id: "expand-group", onclick: () => openGroup(id) }, t("expand", { n: group.count }))),
    group.open && expanded.has(id) ? h("p", {}, h("button", { type: "button", id: "collapse-group", onclick: () => closeGroup(id) }, t("collapse"))) : null,
    h("h3", {}, t("members")),
    h("ul", { class: "group-members" }, shown.slice(0, 200).map((n) => h("li", {}, n.label, " ", h("code", {}, n.id)))),
    shown.length > 200 ? h("p", { class: "note" }, t("and_more", { n: shown.length - 200 })) : null,
  ].filter(Boolean));
}

function openGroup(id) {
  expanded.add(id);
  load(data.version, id);
}

function closeGroup(id) {
  expanded.delete(id);
  load(data.version);
}

function download(name, blob) {
  const a = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function exportSvg() {
  const copy = svg.cloneNode(true);
  copy.setAttribute("viewBox", `${home.x} ${home.y} ${home.w} ${home.h}`);
  copy.setAttribute("width", home.w);
  copy.setAttribute("height", home.h);
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  for (const el of copy.querySelectorAll(".selected")) el.classList.remove("selected");
  return new XMLSerializer().serializeToString(copy);
}

function exportPng() {
  const text = exportSvg();
  const img = new Image();
  img.onload = () => {
    const canvas = h("canvas", { width: Math.ceil(home.w * 2), height: Math.ceil(home.h * 2) });
    const g = canvas.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.drawImage(img, 0, 0, canvas.width, canvas.height);
    canvas.toBlob((blob) => download(`${conversationId}-v${data.version}.png`, blob), "image/png");
  };
  img.src = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(text)));
}

function fail(message) {
  $("status").textContent = message;
  $("fallback").hidden = false;
  document.body.dataset.diagram = "fallback";
}

function query(version) {
  const params = new URLSearchParams();
  if (version) params.set("version", version);
  if (expanded.size) params.set("expand", [...expanded].join(","));
  const text = params.toString();
  return text ? `?${text}` : "";
}

// the layout: here (WebAssembly), or the server's (the same DOT, laid out by Graphviz there)
async function layout(version) {
  if (viz) return viz.renderSVGElement(data.dot);
  const response = await fetch(api(`/c/${encodeURIComponent(conversationId)}/diagram.svg${query(version)}`));
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body?.error?.message || response.statusText);
  }
  const doc = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
  const root = doc.documentElement;
  if (root.nodeName !== "svg") throw new Error("the server's drawing is not SVG");
  return document.importNode(root, true);
}

async function main() {
  applyStrings();
  document.title = t("title_diagram");
  $("conversation-label").textContent = t("conversation", { id: conversationId });
  $("stream-link").href = withCap(`/c/${encodeURIComponent(conversationId)}`);
  if (typeof WebAssembly === "object") {
    try {
      const { instance } = await import("./vendor/viz.js");
      viz = await instance();
    } catch (err) {
      viz = null; // the server lays out instead
      console.warn("WebAssembly layout unavailable:", err);
    }
  }
  document.body.dataset.engine = viz ? "wasm" : "server";
  $("export-svg").addEventListener("click", () => download(`${conversationId}-v${data.version}.svg`, new Blob([exportSvg()], { type: "image/svg+xml" })));
  $("export-png").addEventListener("click", exportPng);
  $("version-picker").addEventListener("change", (e) => load(e.target.value));
  await load(new URLSearchParams(location.search).get("version"));
}

async function load(version, focus = null) {
  document.body.dataset.diagram = "loading";
  try {
    data = await getJSON(`/api/conversations/${encodeURIComponent(conversationId)}/diagram${query(version)}`);
  } catch (err) {
    return fail(String(err.message || err));
  }
  expanded = new Set(data.expanded);
  const picker = $("version-picker");
  picker.replaceChildren(...data.versions.map((v) => h("option", { value: v, selected: v === data.version }, t("version", { n: v }))));
  const url = new URL(location.href);
  url.searchParams.set("version", data.version);
  if (expanded.size) url.searchParams.set("expand", [...expanded].join(","));
  else url.searchParams.delete("expand");
  history.replaceState(null, "", url);
  const c = data.changes;
  $("changes").textContent = c.against ? t("changes_legend", { v: c.against, added: c.added.length, changed: c.changed.length, removed: c.removed.length }) : t("first_version");
  const folded = Object.values(data.groups).filter((g) => !g.open).length;
  $("node-count").textContent = t("node_count", { shown: data.node_count, total: Object.keys(data.nodes).length, groups: folded })
    + (viz ? "" : t("drawn_by_server"));
  const started = performance.now();
  try {
    svg = await layout(version || data.version);
  } catch (err) {
    return fail(t(viz ? "layout_failed" : "no_wasm_no_server", { error: err.message || err }));
  }
  const layoutMs = performance.now() - started;
  const [x, y, w, hgt] = svg.getAttribute("viewBox").split(/\s+/).map(Number);
  home = { x, y, w, h: hgt };
  box = { ...home };
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  $("canvas").replaceChildren(svg);
  $("fallback").hidden = true;
  panZoom();
  const target = focus && svg.querySelector(`[id="node:${CSS.escape(data.groups[focus]?.members[0] || focus)}"]`);
  select(target || null);
  document.body.dataset.diagram = "ready";
  document.body.dataset.layoutMs = layoutMs.toFixed(1);
}

main();
