"""The guard: classifies a message and refuses what archops must not do, saying what it can do.

Refused: other clouds (by vendor, by product, by Terraform provider), destroying, deleting,
emptying or shutting down infrastructure (in plain words too: "tidy up the account", "retire
the servers", "start over from zero"), requests for secrets or credentials (and pasted
credentials), prompt injection (English or Korean), empty or oversize input.

The rules read the text as a person reads it (agents.text.normalize): full-width forms,
zero-width characters, look-alike letters of other scripts and letter-by-letter spelling are
folded first, so ``ｄｅｓｔｒｏｙ``, ``de\u200bstroy``, ``dеstroy`` (Cyrillic е) and ``d e s t r o y``
are all "destroy". Ordinary requests that use the same words for a feature stay allowed: a
lifecycle rule ("delete old log files after 30 days"), TLS termination, a design change
("remove the Redis cache"), a migration off another cloud.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.honesty import LITERAL_PASSWORD_RE
from agents.messages import t
from agents.text import normalize
from core.logging import redact

Route = Literal["new", "change", "question", "refuse"]

CAN_DO = t("guard.can_do")
_I = re.IGNORECASE

# other clouds: vendors, their products (Kubernetes, databases, serverless, storage, edge) and
# their Terraform providers
OTHER_CLOUD = re.compile(
    r"(?<![A-Za-z0-9])(azure|azurerm|azuread|microsoft cloud|gcp|google[ _-]?cloud|google compute|compute[ _-]?engine|app[ _-]?engine|gke|google kubernetes engine|"
    r"cloud[ _-]?run|cloud[ _-]?functions?|cloud[ _-]?sql|cloud[ _-]?spanner|spanner|firestore|bigtable|bigquery|big[ _-]query|dataflow|dataproc|pub/sub on google|google pub/?sub|"
    r"google[ _-]?cloud storage|gcs buckets?|anthos|vertex ai|"
    r"aks|azure kubernetes service|cosmos[ _-]?db|azure[ _-]?functions?|azure sql|azure blob|blob storage|app service|azure devops pipelines|synapse|"
    r"digitalocean|digital ocean|droplets?|doks|oracle cloud|oci|alibaba cloud|aliyun|linode|akamai cloud|hetzner|vultr|ibm cloud|tencent cloud|"
    r"cloudflare[ _-]?workers|cloudflare r2|cloudflare d1|cloudflare pages|workers kv|heroku|firebase|google compute|\bgce\b|gcs|"
    r"vercel|netlify|supabase|fly\.io|azure front door|front door cdn|"
    r"naver cloud|ncloud|nhn cloud|kt cloud)(?![A-Za-z0-9])|"
    r"provider\s+\"?(google|google-beta|azurerm|azuread|digitalocean|oci|alicloud|cloudflare|linode|hcloud)\"?|"
    r"hashicorp/(google|google-beta|azurerm|azuread|oci)|"
    r"(애저|애져|구글\s*클라우드|네이버\s*클라우드|NHN\s*클라우드|KT\s*클라우드|오라클\s*클라우드|알리바바\s*클라우드|빅쿼리|클라우드\s*SQL)",
    _I,
)
# leaving another cloud is an AWS request
_MIGRATION = r"\b(from|migrat\w*|leav\w*|off|move\w*\s+(?:\w+\s+){0,3}from|replac\w*|instead of|away from|switch\w*\s+from)\s+(?:[\w/.-]+\s+){0,3}?"
_KO_MIGRATION = r"(에서|으로부터|에서의|을|를)?\s*(AWS로|aws로|이전|마이그레이션|옮기|탈출)"
_TARGETS = (r"(?:all|every|the|our|my|this|that|these|those|any|entire|whole|old|unused|existing|current|prod(?:uction)?|staging|dev)?\s*"
            r"(?:\w+\s){0,3}?")
_THINGS = (r"(?:resources?|infrastructure|infra|instances?|buckets?|databases?|dbs?|stacks?|account|aws account|environments?|envs?|vpcs?|"
           r"clusters?|servers?|machines?|everything|all of it|prod(?:uction)?|services?|deployments?|tables?|data|stuff|things|junk|leftovers)")
DESTROY = re.compile(
    r"(?<![A-Za-z0-9])(terraform\s+destroy|destroy|tear\s+(?:it|everything|them|this|that|the \w+|our \w+)?\s*down|take\s+(?:it|everything|them|prod(?:uction)?|the \w+)\s+down|"
    r"nuke|wipe|obliterate|decommission|deprovision|de-provision|annihilate|"
    rf"(?:delete|remove|erase|purge|kill|terminate|stop|shut\s*down|shut\s+off|turn\s+off|power\s+off|switch\s+off|retire|sunset|scrap|trash|clean\s*(?:up|out)|tidy\s*up|clear\s*(?:out)?|empty(?:\s+out)?|flush|reset|get rid of)\s+{_TARGETS}{_THINGS}|"
    rf"shut\s+(?:it|everything|them|all|things|stuff|it all|the \w+|our \w+)\s+(?:all\s+)?(?:down|off)|shut\s+(?:down|off)\s+(?:everything|it all|all)|(?:{_THINGS})\s+(?:all\s+)?(?:gone|deleted|wiped|destroyed)|"
    r"start\s+(?:over|again|fresh)\s+(?:from\s+)?(?:zero|nothing|a clean (?:slate|account)|an empty account)|"
    r"(?:delete|remove|wipe|clean|clear|tear)\w*\s+(?:\w+\s+){0,4}?and\s+start\s+(?:over|again|fresh)|"
    r"drop (?:the |our |my |all )?(?:production |prod )?(?:database|tables?|schemas?)|rm\s+-rf)(?![A-Za-z0-9])",
    _I,
)
# Korean: 삭제/지워/파기/폐기/정리/비워/초기화/종료/내려 said of the account, the infrastructure, everything
KO_DESTROY = re.compile(
    r"(리소스|인프라|서버|인스턴스|데이터베이스|DB|디비|버킷|계정|환경|클러스터|스택|전부|전체|모두|모든\s*것|다)\s*(?:을|를|은|는|이|가|다|전부|모두)?\s*"
    r"(?:싹\s*|다\s*|전부\s*|모두\s*|깨끗이\s*|깔끔하게\s*)?(삭제|지워|지우|없애|파기|폐기|날려|날리|밀어|밀고|갈아\s*엎|정리해|비워|비우|초기화|종료|내려|꺼|끄|셧다운|제거해)",
    _I,
)
# a lifecycle or retention rule, not destruction ("delete old log files after 30 days")
LIFECYCLE = re.compile(
    r"\b(?:after|older than|once they are|when they are|past|beyond)\s+\d+\s*(?:days?|weeks?|months?|years?|hours?)\b|"
    r"\b(?:lifecycle|retention|expir\w*|ttl|time to live)\b|\d+\s*일\s*(?:이?\s*지난|후|뒤|이상)|보관\s*기간|수명\s*주기",
    _I,
)
SCHEDULE = re.compile(r"\b(?:at night|overnight|on weekends|outside (?:business|office|working) hours|every (?:night|evening|weekend)|on a schedule|nightly|after hours)\b|야간|주말|업무\s*시간\s*외|밤에|퇴근\s*후", _I)
SECRETS = re.compile(
    r"\b(show|give|tell|print|reveal|send|export|dump|list|display|what (is|are)|read|leak|share|email|post)\b[^.?!]{0,40}\b"
    r"(passwords?|secrets?|credentials?|access keys?|secret keys?|api keys?|tokens?|private keys?|ssh keys?|\.env)\b|"
    r"(비밀\s*번호|비밀번호|패스워드|액세스\s*키|시크릿\s*키|자격\s*증명|토큰|API\s*키)[을를은는이가]?\s*(?:좀\s*)?(보여|알려|출력|보내|넘겨|줘|공유)",
    _I,
)
PASTED_SECRET = re.compile(
    r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])|-----BEGIN [A-Z ]*PRIVATE KEY-----|"
    r"\b(password|passwd|secret|token)\s*(=|:|is)\s*[\"']?[^\s\"']{6,}|"
    r"\[redacted: [^\]]{1,40}\]",  # what the Submitter left where it removed a credential
    _I,
)
INJECTION = re.compile(
    r"(ignore|disregard|forget|override|bypass|skip)\s+(all\s+|any\s+|the\s+|your\s+|of\s+)*(previous|prior|above|earlier|preceding|system|safety|security)\s+(instructions|prompts?|rules|messages|guidelines|checks|policies)|"
    r"(reveal|print|show|repeat|output|dump)\s+(your|the)\s+(system\s+|hidden\s+|initial\s+)?(prompt|instructions)|you are now\b|from now on,? you\b|act as (?:an? )?(?:unrestricted|different)|"
    r"new instructions\s*:|\bjailbreak\b|developer mode|\bDAN\b|<\s*/?\s*(system|instructions?)\s*>|\[/?INST\]|<!--.*?-->|\bsystem\s*:\s|"
    # Korean: "이전 지시는 무시하고", "시스템 프롬프트를 보여줘", "지금부터 너는", "규칙을 무시해"
    r"(이전|앞의|위의|기존|모든|시스템)\s*(의\s*)?(지시|지침|명령|규칙|프롬프트|설정)\w{0,3}\s*(은|는|을|를|다|들)?\s*(모두\s*|전부\s*|다\s*)?(무시|잊어|잊고|따르지)|"
    r"(지시|지침|명령|규칙|프롬프트)\w{0,3}\s*(은|는|을|를)?\s*(무시하고|무시해|잊어)|"
    r"(시스템|숨겨진|내부)\s*(프롬프트|지시|지침)\w{0,3}\s*(을|를)?\s*(보여|출력|알려|공개)|"
    r"지금부터\s*(너는|넌|당신은)|너는\s*이제|개발자\s*모드|탈옥|제한\s*없는\s*모드",
    _I | re.DOTALL,
)
QUESTION = re.compile(
    r"^\s*(what|why|how|which|explain|describe|show me the (plan|design|diagram))\b.*|"
    r"^\s*(?:지금|현재)?\s*(?:설계|구성|디자인|계획|아키텍처)\w{0,2}\s*(?:을|를|은|는|이|가)?\s*(?:좀\s*)?(?:설명|보여|알려)|^\s*(?:왜|무엇|뭐가|어떤|어떻게)\b.*\?\s*$",
    _I,
)
NEW_DESIGN = re.compile(r"\b(start over|new design|from scratch|another (app|project|design))\b|새\s*설계|처음부터\s*새로|다른\s*(앱|프로젝트|서비스)", _I)


# what may split a word to hide it from the rules: punctuation inside it, never letters or digits
_JOIN = re.compile(r"(?<=[A-Za-z])[-_.*·'`~^|+]+(?=[A-Za-z])")
# three or more capitals spelt out ("G K E", "A K S"): normalize joins only runs of four
_CAPS = re.compile(r"(?<![A-Za-z])[A-Z](?: [A-Z]){2,}(?![A-Za-z])")
# digits and signs standing for letters inside a word ("d3stroy", "nuk3", "w1pe", "$hut")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_WORD = re.compile(r"(?=[\w@$]*[A-Za-z])(?=[\w@$]*[013457@$])[\w@$]{3,}")


def _unleet(text: str) -> str:
    return _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), text)


# the other cloud's name used only to describe what to build on AWS ("a Firebase-like backend
# on AWS", "Vercel-style previews"), or its directory as the identity provider users sign in with
_LIKENESS = re.compile(r"^[-\s]*(?:like|style|alike|similar|equivalent|clone)\b")
_IDENTITY = re.compile(r"^\s*(?:ad|active directory|entra(?: id)?)\b[^.]{0,40}\b(?:sign[- ]?in|sso|single sign[- ]on|log[- ]?in|saml|oidc|federat\w*|users?)\b", re.I)


@dataclass(frozen=True)
class Verdict:
    route: Route
    reason: str = ""
    # the message catalog's key of the reason and its fields, to say it in another language
    key: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


def _refuse(key: str, **fields: Any) -> Verdict:
    return Verdict("refuse", t(key, "en", can_do=t("guard.can_do", "en"), **fields), key, fields)


def localized(verdict: Verdict, lang: str) -> Verdict:
    """The same verdict, its reason said in ``lang``."""
    if not verdict.key:
        return verdict
    return Verdict(verdict.route, t(verdict.key, lang, can_do=t("guard.can_do", lang), **verdict.fields), verdict.key, verdict.fields)


# the request as a whole moves to AWS ("migrate to AWS; we run on Azure today", "AWS로 이전")
TO_AWS = re.compile(r"\b(?:migrat\w*|mov\w*|switch\w*|port\w*|bring\w*)\s+(?:\w+\s+){0,4}?(?:to|onto|into)\s+aws\b|"
                    r"\b(?:but|instead)\s+on\s+aws\b|\bon\s+aws\s+instead\b|\baws\s+(?:equivalent|version|counterpart)\s+of\b|AWS\s*(?:로|으로)\s*(?:이전|마이그레이션|옮기|옮겨|이사|전환)", _I)


def _other_cloud(body: str) -> str | None:
    moving = TO_AWS.search(body) is not None
    for m in OTHER_CLOUD.finditer(body):
        name = next(g for g in m.groups() if g)
        before = body[max(0, m.start() - 80): m.start()]
        # moving to AWS names where it comes from; building on the other cloud is still refused
        building = re.search(r"\b(?:set\s*up|create|deploy|build|make|provision|spin\s*up|launch|add)\b[^.,;]{0,30}$", before, _I) or re.match(
            r"\s*에\s+(?:\S+\s*){0,3}?(?:배포|만들|구축|생성|올려|띄워)", body[m.end(): m.end() + 30])
        if moving and not building:
            continue
        after = body[m.end(): m.end() + 40]
        if _LIKENESS.match(after) or re.search(r"\b(?:like|than|similar to|equivalent of|alternative to|instead of)\s+(?:\w+\s+)?$", before[-30:], _I) or (
                name.lower() == "azure" and _IDENTITY.match(after)):
            continue
        if re.search(_MIGRATION + r"$", before, _I) or re.search(r"^\s*" + _KO_MIGRATION, after, _I):
            continue
        if re.search(r"\b(from|off|leaving|migrat\w*)\b", before[-30:], _I) or re.search(r"^\s*(?:to|into|onto)\s+aws\b", after, _I):
            continue
        return name
    return None


def _destructive(body: str) -> bool:
    for pattern in (DESTROY, KO_DESTROY):
        for m in pattern.finditer(body):
            # a lifecycle rule near the words is a feature, not destruction
            window = body[max(0, m.start() - 60): m.end() + 60]
            lead = body[max(0, m.start() - 40): m.start()]
            if re.search(r"(?:사용자|고객|회원|유저|이용자)(?:가|이|들이)?\s*(?:직접\s*)?$", lead) or re.match(r"\w*\s*(?:수\s*있|기능)", body[m.end(): m.end() + 12]):
                continue
            # a feature for the application's own users ("lets users delete their account"),
            # or a schedule ("shut down dev instances at night")
            if re.search(r"\b(?:users?|customers?|members?|people|visitors|they|lets?|allows?|allowing|enables?)\s+(?:\w+\s+)?(?:to\s+)?$", lead, _I):
                continue
            if SCHEDULE.search(window) and not re.search(r"everything|account|all\s+(?:our|the)?\s*(?:resources|infrastructure)|prod", m.group(0), _I):
                continue
            if LIFECYCLE.search(window) and not re.search(r"terraform\s+destroy|nuke|everything|account|all\s+(?:our|the)?\s*(?:resources|infrastructure)|전부|전체|계정", m.group(0), _I):
                continue
            return True
    return False


def classify(text: str | None, *, has_design: bool, max_chars: int) -> Verdict:
    """Decide what to do with a message; refusals carry a clear reason and what archops can do."""
    raw = (text or "").strip()
    if not raw:
        return _refuse("guard.empty")
    if len(raw) > max_chars:
        return _refuse("guard.oversize", length=len(raw), limit=max_chars)
    body = normalize(raw)
    # each word also without what splits it ("de-stroy", "d*e*s*t*r*o*y", "Cloud_Run")
    joined = _CAPS.sub(lambda m: m.group(0).replace(" ", ""), " ".join(_JOIN.sub("", word) for word in body.split()))
    variants = (body, joined, _unleet(joined))
    if any(INJECTION.search(v) for v in (raw, *variants)):
        return _refuse("guard.injection")
    if PASTED_SECRET.search(raw) or PASTED_SECRET.search(body):
        # a labelled password ("password: ...", what the Submitter left of one) is told what
        # archops does instead; keys and tokens are credentials for archops itself
        rest = LITERAL_PASSWORD_RE.sub(" ", raw)
        only_password = not (PASTED_SECRET.search(rest) or PASTED_SECRET.search(LITERAL_PASSWORD_RE.sub(" ", body)))
        return _refuse("guard.pasted_password" if only_password else "guard.pasted_secret")
    if any(SECRETS.search(v) for v in variants):
        return _refuse("guard.secrets")
    cloud = _other_cloud(body) or _other_cloud(joined)
    if cloud:
        return _refuse("guard.other_cloud", cloud=cloud)
    if any(_destructive(v) for v in variants):
        return _refuse("guard.destroy")
    if has_design and QUESTION.match(body) and not re.search(r"\b(add|use|make|switch|change|remove|with)\b|추가|바꿔|바꾸|변경|옮겨|빼", body, _I):
        return Verdict("question")
    if has_design and not NEW_DESIGN.search(body):
        return Verdict("change")
    return Verdict("new")


def safe_excerpt(text: str, limit: int = 120) -> str:
    """A short, redacted excerpt of user text for logs and messages."""
    clean = redact(" ".join(text.split()))
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
