// A conversation's live stream: its events as they arrive (resumed with Last-Event-ID by the
// browser after a dropped connection), its open question and its result. Read-only with a link.
import { applyStrings, t } from "./i18n.js";
import { ConversationView, connectionBadge, conversationFromPath, follow, postJSON, randomId, readOnly, withCap } from "./common.js";

const $ = (id) => document.getElementById(id);
const conversationId = conversationFromPath();

applyStrings();
document.title = t("title_stream");
$("conversation-label").textContent = t("conversation", { id: conversationId });
$("diagram-link").href = withCap(`/c/${encodeURIComponent(conversationId)}/diagram`);
$("chat-link").href = `/?conversation=${encodeURIComponent(conversationId)}`;
if (readOnly) {
  $("access").textContent = t("read_only_link");
  $("chat-link").hidden = true;
}
const view = new ConversationView({
  conversationId, log: $("events"), question: $("question"), result: $("result"),
  onAnswer: readOnly ? null : (action) => postJSON("/api/messages", {
    conversation_id: conversationId, action, idempotency_key: randomId(),
  }),
});
follow(conversationId, (event) => view.add(event), connectionBadge($("connection")));
