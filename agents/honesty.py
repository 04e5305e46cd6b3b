"""Honesty: what the request named that the design does not hold, and why.

The extractor records in ``Requirements.asked`` the capabilities a request names (GPU serving,
sign-up and login, Athena...), in English or Korean. After the review, :func:`not_built` looks
at the final module (its files, plan and cost, never at earlier assumptions) and returns one
entry per thing the request named that the design does not contain: a capability no blueprint
builds yet, a component the plan left out, an exact value the blueprints did not take, a budget
the estimate exceeds. The summary lists them under "Not built" in the conversation's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.changes import component_name
from agents.messages import t
from agents.requirements import Requirements

_I = re.IGNORECASE


@dataclass(frozen=True)
class Capability:
    id: str
    # what in a request names it (English and Korean)
    asked: re.Pattern[str]
    # whether the module's Terraform holds it
    built: Callable[[str], bool]


def _has(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern, _I)
    return lambda tf: compiled.search(tf) is not None


def _public_edge(tf: str) -> bool:
    return "aws_cloudfront_distribution" in tf or "aws_apigatewayv2_api" in tf or (
        '"aws_lb"' in tf and not re.search(r"\binternal\s*=\s*true", tf))


# for people inside the company only: "internal admin tool", "only employees", "사내용", "내부 전용"
INTERNAL_RE = re.compile(
    r"internal[- ](?:only|use)|\binternal (?:[a-z][\w-]* ){0,2}?(?:tools?|apps?|applications?|dashboards?|services?|apis?|portals?|wiki|site)|"
    r"only (?:be )?(?:reachable|accessible|available|visible) (?:from |inside |within |internally|through|on|via|to)|"
    r"(?:only|just) (?:our |the |company )?(?:employees|staff|team members|coworkers|colleagues|people (?:inside|in) the company)\b|"
    r"(?:for )?(?:employees|staff) only|not (?:be )?(?:public|exposed to the internet|reachable from the internet)|no public (?:access|endpoint|ip|url)|"
    r"behind (?:our|the|a) (?:corporate |company |office )?vpn|(?:company|corporate|office) network only|"
    r"\bintranet\b|사내\s*(?:전용|용|툴|도구|시스템|망|에서만|위키|앱|서비스|포털|대시보드|웹)|인트라넷|내부\s*(?:전용|용|망|에서만)|(?:임|직)원\s*(?:들)?\s*(?:만|전용)|외부\s*(?:접근|노출|공개)[은는이가을를]?\s*(?:없|막|차단|불가|안|하지)",
    _I,
)
# a password written into the request ("set the db password to hunter2", what the Submitter
# left of one: "password=[redacted: secret]", "비밀번호는 hunter22로")
LITERAL_PASSWORD_RE = re.compile(
    r"(?:\bpass(?:word|wd|phrase)|\bpwd|비밀\s*번호|패스워드|암호)\s*(?:[:=]|\b(?:to|is|as|of)\b|[은는을를]|(?:로|으로)\s*)\s*[\"'`]?"
    r"(?:\[redacted: [^\]]{1,40}\]|(?=[^\s\"'`,;]*[\d!@#$%^&*])[^\s\"'`,;]{4,})",
    _I,
)

CAPABILITIES: tuple[Capability, ...] = (
    Capability("gpu", re.compile(r"\bgpus?\b|\bcuda\b|\b(?:g[4-6][a-z]*|p[3-5][a-z]*)\.\d*x?large\b|fine-?tuned (?:\w+ )?model|model (?:serving|server|inference)|serve (?:a |our |the )?(?:\w+ ){0,2}model|\bllm\b|그래픽\s*카드|모델\s*서빙|추론\s*서버", _I),
               _has(r'"(?:g[4-6][a-z]*|p[3-5][a-z]*|inf[12]|trn1)\.\w+"')),
    Capability("php", re.compile(r"wordpress|\bphp\b|laravel|drupal|woocommerce|워드\s*프레스", _I), _has(r"wordpress|php")),
    Capability("auth", re.compile(r"sign[- ]?ups?\b|sign[- ]?in\b|log[- ]?ins?\b|user accounts?|authenticat|cognito|user pool|social login|회원\s*가입|로그인|사용자\s*인증|회원\s*관리", _I),
               _has(r"aws_cognito_user_pool")),
    Capability("direct_upload", re.compile(r"(?:photo|image|picture|file|video|avatar)s?\s+uploads?|upload(?:ing)?\s+(?:their\s+|of\s+)?(?:photos|images|pictures|files|videos)|presigned|direct uploads?|(?:사진|이미지|파일|동영상)\s*업로드", _I),
               _has(r"aws_s3_bucket_cors_configuration")),
    Capability("athena", re.compile(r"\bathena\b|아테나", _I), _has(r"aws_athena_workgroup")),
    Capability("glue", re.compile(r"\bglue\b|data catalog|데이터\s*카탈로그", _I), _has(r"aws_glue_catalog_(?:database|table)")),
    Capability("parquet", re.compile(r"parquet|파케이", _I), _has(r"parquet|data_format_conversion")),
    Capability("streaming", re.compile(r"kinesis|firehose|clickstream|click stream|event stream|streaming (?:data|events|ingest)|클릭\s*스트림|스트리밍\s*(?:데이터|수집)", _I),
               _has(r"aws_kinesis")),
    Capability("websocket", re.compile(r"web ?sockets?|real-?time chat|wss://|웹\s*소켓|실시간\s*채팅", _I), _has(r'protocol_type\s*=\s*"WEBSOCKET"')),
    Capability("vpn", re.compile(r"\bvpn\b", _I), _has(r"aws_ec2_client_vpn_endpoint")),
    Capability("session_manager", re.compile(r"session manager|\bssm\b|contractors?\b|외주|협력사", _I), _has(r"aws_ssm_document|AmazonSSMManagedInstanceCore")),
    Capability("internal", INTERNAL_RE,
               lambda tf: not _public_edge(tf)),
    Capability("kubernetes", re.compile(r"kubernetes(?!-free)|\bk8s\b|\beks\b|\bhelm\b|쿠버네티스", _I), _has(r"aws_eks_cluster")),
    Capability("email", re.compile(r"send(?:ing|s)? (?:\w+ )?e-?mails?|transactional e-?mails?|e-?mail (?:jobs?|sending|delivery|campaigns?|queues?)|(?:welcome|password[- ]reset|confirmation|marketing|receipt|verification) e-?mails?|\bses\b|e-?mail notifications?|newsletters?|(?:이메일|메일)\s*(?:발송|전송|보내)", _I), _has(r"aws_sesv?2?_")),
    Capability("search", re.compile(r"opensearch|elasticsearch|full[- ]text search|search engine|검색\s*엔진|전문\s*검색", _I), _has(r"aws_opensearch_domain|aws_elasticsearch_domain")),
    Capability("mongodb", re.compile(r"mongo(?:db)?|documentdb|몽고", _I), _has(r"aws_docdb_cluster")),
    Capability("kafka", re.compile(r"kafka|\bmsk\b|카프카", _I), _has(r"aws_msk_cluster")),
    Capability("schedule", re.compile(r"\bcron\b|scheduled (?:jobs?|tasks?)|on a schedule|(?:nightly|every (?:night|day|hour|morning)|daily) (?!backups?)(?:\w+ )?(?:jobs?|reports?|exports?|tasks?|batch(?:es)?|sync)|크론|스케줄|예약\s*작업|배치\s*작업", _I),
               _has(r"aws_scheduler_schedule|schedule_expression")),
    Capability("ml", re.compile(r"sagemaker|세이지메이커", _I), _has(r"aws_sagemaker_")),
    Capability("graphql", re.compile(r"appsync", _I), _has(r"aws_appsync_")),
    # insecure asks: answered with what was built instead and why, never silently dropped
    Capability("open_ssh", re.compile(r"(?:\bssh\b|port 22\b|22번|\brdp\b|port 3389)[^.\n]{0,40}(?:anywhere|the world|the internet|0\.0\.0\.0/0|everyone|public|전체|외부|어디서나)|open (?:port )?(?:22|3389)\b", _I),
               _has(r"from_port\s*=\s*(?:22|3389)\b[^}]*0\.0\.0\.0/0")),
    Capability("public_database", re.compile(r"public(?:ly accessible)? (?:database|db|rds|postgres|mysql)|(?:database|db|rds)\s+(?:that is |is )?(?:public(?:ly accessible)?|reachable from the internet|open to the internet)|(?:DB|데이터베이스)[를을]?\s*(?:외부에?\s*)?공개", _I),
               _has(r"publicly_accessible\s*=\s*true")),
    Capability("literal_password", LITERAL_PASSWORD_RE, lambda tf: False),
    Capability("public_bucket", re.compile(r"\bpublic(?:ly)?[- ](?:readable |accessible |read )?(?:s3 )?buckets?\b|\bbuckets?\s+(?:that is |is |to be )?(?:public(?:ly (?:readable|accessible))?|open to (?:the )?(?:public|world|internet))\b|"
                                          r"public[- ]read acl|(?:버킷|S3)[을를이가]?\s*(?:외부에?\s*)?(?:공개|퍼블릭)", _I),
               _has(r'block_public_acls\s*=\s*false|acl\s*=\s*"public-read')),
    Capability("public_cidr", re.compile(r"\b(?:vpc|cidr|address (?:space|range)|network range)\b[^.\n]{0,30}?(?<![\d.])(?!10\.|172\.(?:1[6-9]|2\d|3[01])\.|192\.168\.|100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.|0\.0\.0\.0/0)\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}\b", _I),
               lambda tf: False),
    Capability("no_encryption", re.compile(r"\b(?:without|no|skip|disable|turn off)\s+(?:the\s+)?(?:encryption|kms)\b|\bunencrypted\b|\bencryption\s+(?:is\s+)?(?:not needed|off)\b|암호화\s*(?:없이|안\s*함|끄|하지\s*않|필요\s*없)", _I),
               _has(r"storage_encrypted\s*=\s*false|encrypted\s*=\s*false")),
    Capability("wildcard_iam", re.compile(r"\"\*\"\s*actions?|actions?\s*[:=]\s*\"?\*\"?|administratoraccess|full admin (?:access|rights)|admin rights|all permissions|모든\s*권한", _I),
               _has(r'"Action"\s*[:=]\s*"\*"|actions\s*=\s*\["\*"\]|AdministratorAccess')),
)
# what is built instead of an insecure ask
INSTEAD = {"open_ssh": "why.open_ssh", "public_database": "why.public_database", "wildcard_iam": "why.wildcard_iam",
           "literal_password": "why.literal_password", "public_bucket": "why.public_bucket", "no_encryption": "why.no_encryption",
           "public_cidr": "why.public_cidr"}
BY_ID = {c.id: c for c in CAPABILITIES}

# components the request named, and how the summary names them
_COMPONENT_CAPS = {"redis": "redis", "sqs": "sqs", "sns": "sns", "dynamodb": "dynamodb", "cloudfront": "cdn", "waf": "waf", "backup": "backup"}


# a Terraform resource or data source type named as such ("an aws_ami for Amazon Linux 2")
TYPE_RE = re.compile(r"(?<![A-Za-z0-9_])(aws_[a-z0-9]+(?:_[a-z0-9]+)*)(?![A-Za-z0-9_])")


def asked_in(text: str) -> set[str]:
    """The capabilities ``text`` names, and the Terraform types it names literally."""
    latin = re.sub("[\uac00-\ud7a3\u3131-\u318e]+", " ", text)  # "GPU로" -> "GPU "
    return {c.id for c in CAPABILITIES if c.asked.search(text) or c.asked.search(latin)} | set(TYPE_RE.findall(latin))


def _tf(files: dict[str, str]) -> str:
    return "\n".join(body for name, body in sorted(files.items()) if name.endswith(".tf"))


def not_built(req: Requirements, plan: dict[str, Any], files: dict[str, str], cost: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(what, why) for each thing the request named that the final module lacks, in the
    conversation's language."""
    lang = req.language
    tf = _tf(files)
    planned = {item["id"] for item in plan.get("items", [])}
    out: list[tuple[str, str]] = []

    def add(what: str, why: str) -> None:
        if (what, why) not in out:
            out.append((what, why))

    for cid in req.asked:
        if cid.startswith("aws_"):
            if not re.search(rf'^(?:resource|data)\s+"{re.escape(cid)}"', tf, re.MULTILINE):
                add(t("cap.type", lang, type=cid), t("why.type_not_built", lang))
            continue
        cap = BY_ID.get(cid)
        if cap is not None and not cap.built(tf):
            what = t(f"cap.{cid}", lang)
            if cid in INSTEAD:
                add(what, t(INSTEAD[cid], lang))
            elif cid == "internal" and _public_edge(tf):
                edge = "CloudFront" if "aws_cloudfront_distribution" in tf else ("API Gateway" if "aws_apigatewayv2_api" in tf else "ALB")
                add(what, t("why.public_edge", lang, what=edge))
            else:
                add(what, t("why.no_blueprint", lang))
    for component, cid in _COMPONENT_CAPS.items():
        if req.has(component) and component not in planned:
            what = t(f"cap.{cid}", lang)
            add(what, t("why.not_in_design", lang, what=what))
    if req.domain and "aws_acm_certificate" not in tf and "aws_route53_record" not in tf:
        add(t("cap.domain", lang, value=req.domain), t("why.not_in_design", lang, what=req.domain))
    if (req.database or req.wants_database) and not re.search(r'"aws_(?:db_instance|rds_cluster)"', tf):
        add(t("cap.database", lang, value=req.database or "SQL"), t("why.not_in_design", lang, what=req.database or "database"))
    db_multi = re.findall(r"\bmulti_az\s*=\s*(true|false)", tf)
    if req.availability == "multi_az" and "false" in db_multi:
        add(t("cap.multi_az", lang), t("why.single_az_built", lang, environment=t(f"env.{req.environment or 'production'}", lang)))
    if req.availability == "single_az" and "true" in db_multi:
        add(t("cap.single_az", lang), t("why.production_multi_az", lang))
    total = (cost or {}).get("monthly_total")
    if req.budget_usd and total is not None and total > req.budget_usd:
        add(t("cap.budget", lang, value=f"{req.budget_usd:,}"), t("why.over_budget", lang, total=f"{total:,.0f}", budget=f"{req.budget_usd:,}"))
    for field, value in _exact_values(req, tf):
        add(t("cap.value", lang, field=t(f"field.{field}", lang), value=value), t("why.value_not_applied", lang))
    return out


def _exact_values(req: Requirements, tf: str) -> list[tuple[str, str]]:
    """The exact values the request stated that the module does not carry."""
    missing: list[tuple[str, str]] = []

    def quoted(value: str) -> bool:
        return f'"{value}"' in tf

    for field in ("instance_type", "db_instance_class", "cache_node_type", "vpc_cidr"):
        value = getattr(req, field)
        if value and not quoted(value):
            missing.append((field, value))
    if req.db_version and (req.database or req.wants_database) and not re.search(rf'engine_version\s*=\s*"{re.escape(req.db_version)}', tf):
        missing.append(("db_version", req.db_version))
    if req.db_storage_gb and '"aws_db_instance"' in tf and not re.search(rf"allocated_storage\s*=\s*{req.db_storage_gb}\b", tf):
        missing.append(("db_storage_gb", str(req.db_storage_gb)))
    if req.db_storage_type and not re.search(rf'storage_type\s*=\s*"{req.db_storage_type}"', tf):
        missing.append(("db_storage_type", req.db_storage_type))
    if req.tenancy and req.tenancy != "default" and not re.search(rf'tenancy\s*=\s*"{req.tenancy}"', tf):
        missing.append(("tenancy", req.tenancy))
    if req.lambda_runtime and '"aws_lambda_function"' in tf and not re.search(rf'runtime\s*=\s*"{re.escape(req.lambda_runtime)}"', tf):
        missing.append(("lambda_runtime", req.lambda_runtime))
    if req.apply_immediately is not None and not re.search(rf"apply_immediately\s*=\s*{str(req.apply_immediately).lower()}", tf):
        missing.append(("apply_immediately", str(req.apply_immediately).lower()))
    insecure = {22, 3389} if "open_ssh" in req.asked else set()
    ports = [p for p in req.ports if p not in insecure and not re.search(rf"\b(?:port|from_port|to_port|container_port)\s*=\s*{p}\b", tf)]
    if ports:
        missing.append(("ports", ", ".join(map(str, ports))))
    for name in sorted(set(req.names.values())):
        if name not in tf:
            missing.append(("name", name))
    for key, value in sorted(req.tags.items()):
        if key not in tf or value not in tf:
            missing.append(("tag", f"{key}={value}"))
    return missing


def kept(req: Requirements, plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, why) for each component the request left out that the design still holds: another
    blueprint needs it, or archops' baseline keeps it ("no monitoring" keeps the alarms)."""
    lang = req.language
    items = plan.get("items", [])
    planned = {item["id"] for item in items}
    out: list[tuple[str, str]] = []
    for component in req.removed:
        if component not in planned:
            continue
        users = [component_name(item["id"], lang) for item in items if component in item.get("depends_on", [])]
        why = t("why.kept_needed", lang, by=", ".join(users)) if users else t("why.kept_baseline", lang)
        out.append((component_name(component, lang), why))
    return out


def readme_section(missing: list[tuple[str, str]], lang: str, held: list[tuple[str, str]] | None = None) -> str:
    """The "Not built" (and "Kept") part of the module's README and of the pull request body, in
    the conversation's language, as the reply says it; empty when there is nothing to say."""
    parts: list[str] = []
    for head, rows in ((t("sum.not_built", lang), missing), (t("sum.kept", lang), held or [])):
        if rows:
            parts.append(f"## {head.rstrip(':')}\n\n" + "\n".join(t("sum.not_built.item", lang, what=w, why=y) for w, y in rows) + "\n")
    return "\n".join(parts)
