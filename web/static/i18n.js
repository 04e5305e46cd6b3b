// Every string the pages show, per language. Add a language by adding one object.
export const STRINGS = {
  en: {
    title_chat: "archops: chat",
    title_stream: "archops: live stream",
    title_diagram: "archops: diagram",
    tagline: "Ask for AWS infrastructure in plain words; archops designs, checks and writes the Terraform.",
    signed_in_as: "Signed in as {who}",
    read_only_link: "Read-only link",
    new_conversation: "New conversation",
    prompt_placeholder: "e.g. a SaaS web app with a Postgres database",
    send: "Send",
    sending: "Sending…",
    take_defaults: "Use recommended answers without asking",
    conversation: "Conversation {id}",
    open_stream: "Live stream",
    open_diagram: "Diagram",
    download_zip: "Download module (.zip)",
    open_pr: "Pull request",
    recommended: "recommended",
    your_answer: "Your own answer",
    answer: "Answer",
    answered: "Answered: {value}",
    question_read_only: "Sign in as this conversation's owner to answer.",
    working: "Working…",
    connected: "Live",
    reconnecting: "Reconnecting…",
    result: "Result",
    summary: "Summary",
    resources: "Resources",
    findings: "Findings by pillar",
    findings_open: "{n} open",
    findings_skipped: "{n} documented skips",
    no_findings: "No open findings.",
    not_built: "Not built",
    cost: "Estimated cost",
    per_month: "≈ ${amount}/month before usage-based charges",
    cost_line: "{address}: ${amount}/month ({detail})",
    version: "version {n}",
    events: "Events",
    error: "Error",
    you: "You",
    archops: "archops",
    pillar_security: "Security",
    pillar_reliability: "Reliability",
    pillar_operational_excellence: "Operational excellence",
    pillar_performance_efficiency: "Performance efficiency",
    pillar_cost_optimisation: "Cost optimization",
    pillar_sustainability: "Sustainability",
    pillar_other: "Other",
    diagram_loading: "Laying out the diagram…",
    diagram_none: "This conversation has no design yet.",
    no_wasm: "This browser cannot run WebAssembly, which draws the diagram. The components are listed below instead.",
    layout_failed: "The diagram could not be laid out: {error}",
    export_svg: "Export SVG",
    export_png: "Export PNG",
    fit: "Fit",
    zoom_in: "Zoom in",
    zoom_out: "Zoom out",
    details_hint: "Click a component for its attributes, findings and cost.",
    kind: "Kind",
    group: "Where",
    blueprint: "Blueprint",
    file: "File",
    address: "Address",
    why: "Why",
    node_findings: "Findings",
    node_cost: "Cost",
    none: "none",
    skipped: "skipped: {reason}",
    copy_of: "Copy in availability zone {az} of {id}",
    back_to_chat: "Chat",
    language: "Language",
    version_picker: "Design version",
    changes_legend: "Against version {v}: {added} added, {changed} changed, {removed} removed",
    first_version: "First version of this design",
    state_added: "Added in this version",
    state_changed: "Changed in this version",
    state_removed: "Removed in this version",
  },
  ko: {
    title_chat: "archops: 채팅",
    title_stream: "archops: 실시간 스트림",
    title_diagram: "archops: 다이어그램",
    tagline: "필요한 AWS 인프라를 평범한 말로 요청하세요. archops가 설계하고 검사한 뒤 Terraform을 작성합니다.",
    signed_in_as: "{who}(으)로 로그인됨",
    read_only_link: "읽기 전용 링크",
    new_conversation: "새 대화",
    prompt_placeholder: "예: Postgres 데이터베이스를 쓰는 SaaS 웹 앱",
    send: "보내기",
    sending: "보내는 중…",
    take_defaults: "묻지 말고 권장 답변 사용",
    conversation: "대화 {id}",
    open_stream: "실시간 스트림",
    open_diagram: "다이어그램",
    download_zip: "모듈 다운로드 (.zip)",
    open_pr: "풀 리퀘스트",
    recommended: "권장",
    your_answer: "직접 입력",
    answer: "답변",
    answered: "답변함: {value}",
    question_read_only: "답하려면 이 대화의 소유자로 로그인하세요.",
    working: "작업 중…",
    connected: "연결됨",
    reconnecting: "다시 연결하는 중…",
    result: "결과",
    summary: "요약",
    resources: "리소스",
    findings: "필라별 검사 결과",
    findings_open: "미해결 {n}건",
    findings_skipped: "문서화된 예외 {n}건",
    no_findings: "미해결 항목이 없습니다.",
    not_built: "만들지 않은 것",
    cost: "예상 비용",
    per_month: "사용량 기반 요금 제외 월 ≈ ${amount}",
    cost_line: "{address}: 월 ${amount} ({detail})",
    version: "버전 {n}",
    events: "이벤트",
    error: "오류",
    you: "나",
    archops: "archops",
    pillar_security: "보안",
    pillar_reliability: "안정성",
    pillar_operational_excellence: "운영 우수성",
    pillar_performance_efficiency: "성능 효율성",
    pillar_cost_optimisation: "비용 최적화",
    pillar_sustainability: "지속 가능성",
    pillar_other: "기타",
    diagram_loading: "다이어그램을 배치하는 중…",
    diagram_none: "이 대화에는 아직 설계가 없습니다.",
    no_wasm: "이 브라우저는 다이어그램을 그리는 WebAssembly를 실행할 수 없습니다. 대신 구성 요소 목록을 보여 드립니다.",
    layout_failed: "다이어그램을 배치하지 못했습니다: {error}",
    export_svg: "SVG 내보내기",
    export_png: "PNG 내보내기",
    fit: "맞추기",
    zoom_in: "확대",
    zoom_out: "축소",
    details_hint: "구성 요소를 누르면 속성, 검사 결과, 비용이 보입니다.",
    kind: "종류",
    group: "위치",
    blueprint: "블루프린트",
    file: "파일",
    address: "주소",
    why: "이유",
    node_findings: "검사 결과",
    node_cost: "비용",
    none: "없음",
    skipped: "예외: {reason}",
    copy_of: "{id}의 가용 영역 {az} 사본",
    back_to_chat: "채팅",
    language: "언어",
    version_picker: "설계 버전",
    changes_legend: "버전 {v} 대비: 추가 {added}, 변경 {changed}, 삭제 {removed}",
    first_version: "이 설계의 첫 버전",
    state_added: "이 버전에서 추가됨",
    state_changed: "이 버전에서 변경됨",
    state_removed: "이 버전에서 삭제됨",
  },
};

export const LANGUAGES = Object.keys(STRINGS);

function pick() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked && STRINGS[asked]) {
    try { localStorage.setItem("archops.lang", asked); } catch { /* private mode */ }
    return asked;
  }
  let saved = null;
  try { saved = localStorage.getItem("archops.lang"); } catch { /* private mode */ }
  if (saved && STRINGS[saved]) return saved;
  const nav = (navigator.language || "en").slice(0, 2).toLowerCase();
  return STRINGS[nav] ? nav : "en";
}

export let lang = pick();

export function setLang(next) {
  if (!STRINGS[next]) return;
  lang = next;
  try { localStorage.setItem("archops.lang", next); } catch { /* private mode */ }
}

export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

// Fill [data-i18n] (text) and [data-i18n-placeholder] of a page from the strings.
export function applyStrings(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}
