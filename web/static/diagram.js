// The diagram page: the server builds a DOT graph from the design (web/diagram.py); Graphviz,
// compiled to WebAssembly (@viz-js/viz), lays it out here. Pan with the mouse, zoom with the
// wheel or the buttons, click a component for its details, export SVG or PNG.
import { applyStrings, t } from "./i18n.js";
import { conversationFromPath, getJSON, h, money, withCap } from "./common.js";

const $ = (id) => document.getElementById(id);
const conversationId = conversationFromPath();
const COPY = "@az";
let data = null;
let svg = null;
let home = null; // the viewBox that shows everything
let box = null;

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
  $("zoom-in").addEventListener("click", () => zoom(1 / 1.3));
  $("zoom-out").addEventListener("click", () => zoom(1.3));
  $("fit").addEventListener("click", () => setBox({ ...home }));
}

function row(label, value) {
  if (value === null || value === undefined || value === "") return null;
  return [h("dt", {}, label), h("dd", {}, value)];
}

function select(g) {
  for (const el of svg.querySelectorAll("g.node.selected")) el.classList.remove("selected");
  const panel = $("details");
  panel.replaceChildren();
  if (!g) {
    panel.append(h("p", { class: "note" }, t("details_hint")));
    return;
  }
  const name = g.id.replace(/^node:/, "");
  const [primary, az] = name.includes(COPY) ? name.split(COPY) : [name, null];
  const node = data.nodes[primary];
  for (const el of svg.querySelectorAll("g.node")) {
    const other = el.id.replace(/^node:/, "").split(COPY)[0];
    if (other === primary) el.classList.add("selected");
  }
  if (!node) return;
  panel.dataset.node = primary;
  const state = node.removed ? "removed" : (data.changes.added.includes(primary) ? "added"
    : (data.changes.changed.includes(primary) ? "changed" : null));
  const open = node.findings.filter((f) => !f.skip_reason);
  const skipped = node.findings.filter((f) => f.skip_reason);
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
  ].filter(Boolean));
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

async function main() {
  applyStrings();
  document.title = t("title_diagram");
  $("conversation-label").textContent = t("conversation", { id: conversationId });
  $("stream-link").href = withCap(`/c/${encodeURIComponent(conversationId)}`);
  if (typeof WebAssembly !== "object") return fail(t("no_wasm"));
  try {
    const { instance } = await import("./vendor/viz.js");
    viz = await instance();
  } catch (err) {
    return fail(t("layout_failed", { error: err.message || err }));
  }
  $("export-svg").addEventListener("click", () => download(`${conversationId}-v${data.version}.svg`, new Blob([exportSvg()], { type: "image/svg+xml" })));
  $("export-png").addEventListener("click", exportPng);
  $("version-picker").addEventListener("change", (e) => load(e.target.value));
  await load(new URLSearchParams(location.search).get("version"));
}

let viz = null;

async function load(version) {
  document.body.dataset.diagram = "loading";
  const suffix = version ? `?version=${encodeURIComponent(version)}` : "";
  try {
    data = await getJSON(`/api/conversations/${encodeURIComponent(conversationId)}/diagram${suffix}`);
  } catch (err) {
    return fail(String(err.message || err));
  }
  const picker = $("version-picker");
  picker.replaceChildren(...data.versions.map((v) => h("option", { value: v, selected: v === data.version }, t("version", { n: v }))));
  const url = new URL(location.href);
  url.searchParams.set("version", data.version);
  history.replaceState(null, "", url);
  const c = data.changes;
  $("changes").textContent = c.against ? t("changes_legend", { v: c.against, added: c.added.length, changed: c.changed.length, removed: c.removed.length }) : t("first_version");
  const started = performance.now();
  try {
    svg = viz.renderSVGElement(data.dot);
  } catch (err) {
    return fail(t("layout_failed", { error: err.message || err }));
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
  select(null);
  document.body.dataset.diagram = "ready";
  document.body.dataset.layoutMs = layoutMs.toFixed(1);
}

main();
