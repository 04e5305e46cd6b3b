// A project's last scan (what it holds, what could not be read and which permission fixes it,
// what exists judged by pillar) and its tag plans: propose, dry-run, approve, apply.
import { getJSON, h, postJSON } from "./common.js";

const $ = (id) => document.getElementById(id);
const project = decodeURIComponent(location.pathname.split("/")[2] || "");
const api = (path = "") => `/api/projects/${encodeURIComponent(project)}${path}`;
const PILLARS = { security: "Security", reliability: "Reliability", performance_efficiency: "Performance efficiency",
  cost_optimisation: "Cost optimisation", operational_excellence: "Operational excellence", sustainability: "Sustainability" };
const tags = (t) => Object.entries(t || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "(none)";

function showScan(scan) {
  const box = $("scan");
  const findings = Object.entries(scan.findings || {});
  const review = scan.review;
  box.replaceChildren(...[
    h("h2", {}, `Last scan `, h("span", { class: `status-${scan.status}`, id: "scan-status" }, scan.status)),
    h("p", { class: "note" }, `${scan.id} of ${scan.regions.join(", ")}, asked by ${scan.requested_by} via ${scan.source}`,
      scan.finished_at ? ` · ${new Date(scan.finished_at).toLocaleString()}` : "",
      ` · ${scan.resources} resources (${scan.adopted} to adopt) · ${scan.api_calls} API calls in ${Number(scan.seconds).toFixed(1)} s`),
    scan.error ? h("p", { class: "error" }, scan.error) : null,
    h("h3", {}, "Inventory"),
    h("ul", { class: "counts", id: "counts" }, Object.entries(scan.counts || {}).map(([kind, n]) =>
      h("li", { dataset: { kind } }, h("span", {}, kind.replaceAll("_", " ")), h("span", { class: "n" }, n)))),
    h("h3", {}, `Not read (${scan.missing.length})`),
    scan.missing.length ? h("ul", { class: "missing", id: "missing" }, scan.missing.map((m) =>
      h("li", { dataset: { action: m.action } }, m.text || `${m.service} ${m.operation}`, " ", h("code", {}, m.action))))
      : h("p", { class: "note" }, "Everything the scan reads was read."),
    review ? h("p", {}, `Terraform review (${(review.checks_run || []).join(", ")}): `,
      h("strong", {}, review.passed ? "passed" : "failed"), review.plan ? ` · ${review.plan}` : "") : null,
    h("h3", {}, "What exists, by Well-Architected pillar"),
    findings.length ? h("div", { id: "findings" }, findings.map(([pillar, list]) => h("details", { class: "pillar", dataset: { pillar } },
      h("summary", {}, `${PILLARS[pillar] || pillar} · ${list.length}`),
      h("ul", {}, list.map((f) => h("li", { class: `severity-${f.severity}` },
        h("code", {}, f.check_id), " ", h("code", {}, f.address), " ", f.message))))))
      : h("p", { class: "note" }, "No finding."),
  ].filter(Boolean));
  const link = $("diagram-link");
  link.href = scan.diagram_url;
  link.hidden = !["done", "partial"].includes(scan.status);
}

function step(plan, action, label) {
  return h("button", { type: "button", class: action === "apply" ? "primary" : "", dataset: { action },
    onclick: async (e) => {
      e.target.disabled = true;
      try { await postJSON(api(`/tag-plans/${plan.id}/${action}`), {}); } catch (err) { alert(err.message); }
      await loadPlans();
    } }, label);
}

function showPlan(plan) {
  const app = plan.applications.at(-1);
  const rows = app ? app.outcomes : (plan.dry_run?.outcomes || plan.changes.map((c) => ({ ...c, status: "proposed" })));
  return h("article", { class: "plan", dataset: { plan: plan.id, status: plan.status } },
    h("h3", {}, `${plan.key}=${plan.value} on ${plan.changes.length} resource(s) · `, h("span", { class: "plan-status" }, plan.status.replace("_", " "))),
    h("p", { class: "note" }, `${plan.id}, proposed by ${plan.created_by}`,
      plan.dry_run_by ? ` · dry run by ${plan.dry_run_by}` : "",
      plan.approved_by ? ` · approved by ${plan.approved_by} via ${plan.approved_via}` : "",
      app ? ` · applied by ${app.applied_by}: ${app.status}` : ""),
    h("div", { class: "steps" },
      plan.next.includes("dry_run") ? step(plan, "dry-run", "Dry run") : null,
      plan.next.includes("approve") ? step(plan, "approve", "Approve") : null,
      plan.next.includes("apply") ? step(plan, "apply", "Apply") : null),
    h("table", {}, h("tr", {}, ["resource", "region", "before", "after", "result"].map((t) => h("th", {}, t))),
      rows.map((o) => h("tr", { class: `outcome-${o.status.replace(" ", "-")}` }, h("td", {}, `${o.kind} ${o.id}`), h("td", {}, o.region),
        h("td", {}, tags(o.before)), h("td", {}, tags(o.after)), h("td", {}, o.status, o.via ? ` (${o.via})` : "", o.error ? `: ${o.error}` : "")))));
}

async function loadPlans() {
  const { plans } = await getJSON(api("/tag-plans"));
  $("plan-list").replaceChildren(...(plans.length ? plans.map(showPlan) : [h("p", { class: "note" }, "No tag plan yet.")]));
}

async function propose(e) {
  e.preventDefault();
  $("plan-error").textContent = "";
  const lines = $("plan-select").value.split(/\s+/).filter(Boolean);
  const body = { vpcs: [...$("plan-vpcs").selectedOptions].map((o) => o.value), select: lines,
    name_pattern: $("plan-pattern").value.trim(), key: $("plan-key").value.trim(), value: $("plan-value").value.trim() };
  for (const [k, v] of Object.entries(body)) if (!v || (Array.isArray(v) && !v.length)) delete body[k];
  try { await postJSON(api("/tag-plans"), body); await loadPlans(); } catch (err) { $("plan-error").textContent = err.message; }
}

async function main() {
  $("project-label").textContent = `Project ${project}`;
  $("plan-form").addEventListener("submit", propose);
  try {
    const scan = await getJSON(api("/scan"));
    showScan(scan);
    $("plan-vpcs").replaceChildren(...(scan.vpcs || []).map((v) => h("option", { value: v.id }, v.label)));
  } catch (err) {
    $("scan").replaceChildren(h("h2", {}, "Last scan"), h("p", { class: "note", id: "scan-status" }, err.message));
  }
  await loadPlans();
  document.body.dataset.ready = "1";
}

main();
