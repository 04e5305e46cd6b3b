// The projects page: list, create and change projects; link or unlink your GitHub account.
import { getJSON, h } from "./common.js";

const FIELDS = ["name", "slack_channel", "aws_account_id", "aws_role_arn", "aws_regions",
  "repository", "path", "tag_key", "tag_value", "approvers"];
const form = document.getElementById("project-form");
const errorBox = document.getElementById("form-error");
const okBox = document.getElementById("form-ok");
const match = location.pathname.match(/^\/projects\/([^/]+)$/);
const editing = match ? decodeURIComponent(match[1]) : null;

async function send(method, path, payload) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload ?? {}),
  });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

function clearErrors() {
  errorBox.hidden = true;
  okBox.hidden = true;
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function showErrors(error) {
  errorBox.textContent = error?.message || "the project was not saved";
  errorBox.hidden = false;
  for (const [name, reason] of Object.entries(error?.fields || {})) {
    const input = form.elements.namedItem(name === "id" ? "id" : name);
    if (!input) continue;
    input.setAttribute("aria-invalid", "true");
    input.closest("label").append(h("span", { class: "field-error error", dataset: { field: name } }, reason));
  }
}

function values() {
  const out = {};
  for (const name of ["id", ...FIELDS]) {
    const value = form.elements.namedItem(name).value.trim();
    if (value === "" && name !== "repository") continue;
    if (value === "" && !editing) continue;
    if (name === "aws_regions" || name === "approvers") out[name] = value.split(/[\s,]+/).filter(Boolean);
    else out[name] = value;
  }
  return out;
}

function fill(project) {
  for (const name of ["id", ...FIELDS]) {
    const value = project[name];
    form.elements.namedItem(name).value = Array.isArray(value) ? value.join(", ") : (value ?? "");
  }
  form.elements.namedItem("id").readOnly = true;
  document.getElementById("form-title").textContent = `Project ${project.id}`;
  document.getElementById("save").textContent = "Save";
  if (project.may_change === false) {
    for (const el of form.elements) el.disabled = true;
    okBox.textContent = "Only its creator and approvers may change this project.";
    okBox.hidden = false;
  }
  const pulls = project.pull_requests || [];
  if (pulls.length) {
    document.getElementById("pulls").hidden = false;
    document.getElementById("pull-list").replaceChildren(...pulls.map((pr) =>
      h("li", {}, h("a", { href: pr.url, rel: "noopener" }, `#${pr.number}`), " ",
        h("code", {}, pr.branch), ` · version ${pr.version}`)));
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const payload = values();
  const result = editing
    ? await send("PATCH", `/api/projects/${encodeURIComponent(editing)}`, payload)
    : await send("POST", "/api/projects", payload);
  if (!result.ok) return showErrors(result.body?.error);
  okBox.textContent = editing ? "Saved." : `Project ${result.body.id} created.`;
  okBox.hidden = false;
  if (!editing) location.assign(`/projects/${encodeURIComponent(result.body.id)}`);
});

async function listProjects() {
  const { projects } = await getJSON("/api/projects");
  const table = document.getElementById("project-list");
  table.replaceChildren(h("tr", {}, ...["Project", "AWS account", "Regions", "Repository", "Tag"].map((t) => h("th", {}, t))),
    ...projects.map((p) => h("tr", { dataset: { project: p.id } },
      h("td", {}, h("a", { href: `/projects/${encodeURIComponent(p.id)}` }, p.name || p.id)),
      h("td", {}, p.aws_account_id || "—"),
      h("td", {}, (p.aws_regions || []).join(", ") || "—"),
      h("td", {}, p.repository ? `${p.repository}/${p.path}` : `local: ${p.clone_url}`),
      h("td", {}, p.tag_key ? `${p.tag_key}=${p.tag_value}` : "—"))));
}

async function github(check = false) {
  const status = document.getElementById("github-status");
  const link = document.getElementById("github-link");
  const unlink = document.getElementById("github-unlink");
  const checkButton = document.getElementById("github-check");
  const state = await getJSON(check ? "/api/github?check=1" : "/api/github");
  link.hidden = !state.configured || (state.linked && state.status === "linked");
  unlink.hidden = checkButton.hidden = !state.linked;
  if (!state.configured) status.textContent = "Linking GitHub accounts is not configured here: pull requests open with archops' own credentials.";
  else if (!state.linked) status.textContent = "Not linked: pull requests open with archops' own credentials.";
  else if (state.status === "revoked") status.textContent = `@${state.login}: ${state.problem}`;
  else status.textContent = `Linked as @${state.login}: your designs' pull requests are yours.`;
  status.dataset.status = state.linked ? state.status : "unlinked";
}

document.getElementById("github-check").addEventListener("click", () => github(true));
document.getElementById("github-unlink").addEventListener("click", async () => {
  const result = await send("DELETE", "/api/github", {});
  await github();
  if (result.body?.note) document.getElementById("github-status").textContent += ` (${result.body.note})`;
});

getJSON("/api/whoami").then((me) => { document.getElementById("who").textContent = me.principal; }).catch(() => {});
listProjects().catch((err) => { errorBox.textContent = String(err.message || err); errorBox.hidden = false; });
github().catch(() => {});
if (editing) getJSON(`/api/projects/${encodeURIComponent(editing)}`).then(fill).catch((err) => {
  errorBox.textContent = String(err.message || err);
  errorBox.hidden = false;
});
