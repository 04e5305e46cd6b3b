// The chat page: start or continue a conversation, answer questions, watch the work, see the result.
import { applyStrings, lang, LANGUAGES, setLang, t } from "./i18n.js";
import { ConversationView, connectionBadge, follow, getJSON, h, postJSON, randomId } from "./common.js";

const $ = (id) => document.getElementById(id);
const clientId = randomId("web-");
let conversationId = new URLSearchParams(location.search).get("conversation");
let view = null;
let source = null;

function languagePicker() {
  const select = $("lang");
  for (const code of LANGUAGES) select.append(h("option", { value: code, selected: code === lang }, code === "ko" ? "한국어" : "English"));
  select.addEventListener("change", () => {
    setLang(select.value);
    location.reload();
  });
}

function start(id) {
  conversationId = id;
  const url = new URL(location.href);
  url.searchParams.set("conversation", id);
  history.replaceState(null, "", url);
  $("conversation-bar").hidden = false;
  $("conversation-label").textContent = t("conversation", { id });
  $("stream-link").href = `/c/${encodeURIComponent(id)}`;
  if (source) return;
  const timeline = $("timeline");
  view = new ConversationView({
    conversationId: id, log: timeline, question: timeline, result: timeline,
    onAnswer: (action) => send({ action }),
  });
  source = follow(id, (event) => view.add(event), connectionBadge($("connection")));
}

async function send(fields) {
  const body = { ...fields, client_id: clientId, idempotency_key: randomId() };
  if (conversationId) body.conversation_id = conversationId;
  const answer = await postJSON("/api/messages", body);
  start(answer.conversation_id);
  return answer;
}

async function main() {
  applyStrings();
  document.title = t("title_chat");
  languagePicker();
  getJSON("/api/whoami").then((me) => { $("who").textContent = t("signed_in_as", { who: me.principal }); }).catch(() => {});
  if (conversationId) start(conversationId);
  $("composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    const button = $("send");
    button.disabled = true;
    button.textContent = t("sending");
    $("composer-error").hidden = true;
    $("timeline").append(h("div", { class: "mine" }, h("span", { class: "kind" }, t("you")), h("span", { class: "text" }, text)));
    try {
      await send({ text, non_interactive: $("non-interactive").checked });
      $("text").value = "";
    } catch (err) {
      $("composer-error").textContent = String(err.message || err);
      $("composer-error").hidden = false;
    } finally {
      button.disabled = false;
      button.textContent = t("send");
    }
  });
}

main();
