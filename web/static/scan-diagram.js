// A scan's diagram: the server turns the scan's diagram.json into DOT (web/scan_diagram.py);
// Graphviz compiled to WebAssembly lays it out here. Pan, zoom, click a resource for its details.
import { getJSON, h } from "./common.js";

const $ = (id) => document.getElementById(id);
const [, , project, , scanId] = location.pathname.split("/").map(decodeURIComponent);
let svg = null, home = null, box = null, data = null;

function setBox(next) {
  box = next;
  svg.setAttribute("viewBox", `${box.x} ${box.y} ${box.w} ${box.h}`);
}

function zoom(factor) {
  const w = box.w * factor, hgt = box.h * factor;
  setBox({ x: box.x + (box.w - w) / 2, y: box.y + (box.h - hgt) / 2, w, h: hgt });
}

function select(g) {
  for (const el of svg.querySelectorAll("g.node.selected")) el.classList.remove("selected");
  const panel = $("details");
  const node = g && data.nodes[g.id.replace(/^node:/, "")];
  if (!node) { panel.replaceChildren(h("p", { class: "note" }, "Click a resource for its details.")); return; }
  g.classList.add("selected");
  panel.dataset.node = node.id;
  const links = (list) => list.length ? h("ul", {}, list.map((e) => h("li", {}, h("code", {}, e.id), e.label ? ` (${e.label})` : ""))) : h("p", { class: "note" }, "none");
  panel.replaceChildren(h("h2", {}, node.label), h("dl", {},
    h("dt", {}, "id"), h("dd", {}, h("code", {}, node.id)), h("dt", {}, "kind"), h("dd", {}, node.kind),
    h("dt", {}, "region"), h("dd", {}, node.region), h("dt", {}, "in"), h("dd", {}, node.where)),
    h("h3", {}, "Reaches"), links(node.to), h("h3", {}, "Reached from"), links(node.from));
}

function fallback(message) {
  $("status").textContent = message;
  const list = $("fallback");
  list.hidden = false;
  if (data) list.replaceChildren(h("h2", {}, "Resources"), h("ul", {}, Object.values(data.nodes).map((n) =>
    h("li", {}, `${n.label} `, h("code", {}, n.id), ` · ${n.where}`))));
  document.body.dataset.diagram = "fallback";
}

async function main() {
  $("project-link").href = `/p/${encodeURIComponent(project)}`;
  $("scan-label").textContent = `Project ${project} · ${scanId}`;
  try {
    data = await getJSON(`/api/projects/${encodeURIComponent(project)}/scans/${encodeURIComponent(scanId)}/diagram`);
  } catch (err) {
    return fallback(err.message);
  }
  if (typeof WebAssembly !== "object") return fallback("This browser cannot run the layout engine (WebAssembly).");
  let viz;
  try {
    const { instance } = await import("./vendor/viz.js");
    viz = await instance();
    svg = viz.renderSVGElement(data.dot);
  } catch (err) {
    return fallback(`The layout failed: ${err.message || err}`);
  }
  const [x, y, w, hgt] = svg.getAttribute("viewBox").split(/\s+/).map(Number);
  home = { x, y, w, h: hgt };
  box = { ...home };
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  $("canvas").replaceChildren(svg);
  svg.addEventListener("click", (e) => select(e.target.closest?.("g.node")));
  $("zoom-in").addEventListener("click", () => zoom(1 / 1.3));
  $("zoom-out").addEventListener("click", () => zoom(1.3));
  $("fit").addEventListener("click", () => setBox({ ...home }));
  document.body.dataset.diagram = "ready";
  document.body.dataset.nodes = String(svg.querySelectorAll("g.node").length);
}

main();
