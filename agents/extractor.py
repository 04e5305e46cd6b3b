"""The offline requirement extractor: plain English -> fields of :class:`Requirements`.

Deterministic rules over the text: intent words, resource kinds, names and quoted values, CIDRs,
instance classes, engines and versions, sizes, counts, regions, environments, budgets. It merges
into the requirements already gathered, so a follow-up ("add a Redis cache", "use MySQL
instead", "make it production") changes the design rather than replacing it.
"""

from __future__ import annotations

import re

from agents.requirements import Requirements, upload_name

_W = re.IGNORECASE

REGION_RE = re.compile(r"\b((?:us|eu|ap|sa|ca|me|af|il|mx)(?:-gov)?-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-\d)\b", _W)
PLACES: dict[str, str] = {
    "virginia": "us-east-1", "ohio": "us-east-2", "california": "us-west-1", "oregon": "us-west-2",
    "ireland": "eu-west-1", "dublin": "eu-west-1", "london": "eu-west-2", "paris": "eu-west-3",
    "frankfurt": "eu-central-1", "germany": "eu-central-1", "stockholm": "eu-north-1",
    "milan": "eu-south-1", "spain": "eu-south-2", "zurich": "eu-central-2", "tokyo": "ap-northeast-1",
    "japan": "ap-northeast-1", "seoul": "ap-northeast-2", "osaka": "ap-northeast-3",
    "singapore": "ap-southeast-1", "sydney": "ap-southeast-2", "australia": "ap-southeast-2",
    "mumbai": "ap-south-1", "india": "ap-south-1", "canada": "ca-central-1", "montreal": "ca-central-1",
    "sao paulo": "sa-east-1", "são paulo": "sa-east-1", "brazil": "sa-east-1", "bahrain": "me-south-1",
    "cape town": "af-south-1", "hong kong": "ap-east-1", "jakarta": "ap-southeast-3",
}
CIDR_RE = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3}/\d{1,2})\b")
DB_CLASS_RE = re.compile(r"\b(db\.[a-z0-9]+\.[a-z0-9]+)\b", _W)
CACHE_CLASS_RE = re.compile(r"\b(cache\.[a-z0-9]+\.[a-z0-9]+)\b", _W)
INSTANCE_RE = re.compile(r"(?<![.\w])([a-z][0-9][a-z]{0,3}\.(?:nano|micro|small|medium|large|\d*xlarge|metal))\b", _W)
DOMAIN_RE = re.compile(r"\b((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|io|dev|app|net|org|co|ai|tech|cloud|shop|store|xyz|me|site|de|uk|fr|eu))\b", _W)
BUDGET_RE = re.compile(r"(?:budget[^$\d]{0,20}|under|below|max(?:imum)?|at most|up to|spend)\s*\$?\s*(\d[\d,]*)\s*(k)?\s*(?:usd|dollars|\$)?(?:\s*(?:a|per|/)\s*month)?|\$\s*(\d[\d,]*)\s*(k)?\s*(?:a|per|/)\s*(?:month|mo)\b", _W)
STORAGE_RE = re.compile(r"\b(\d{1,5})\s*(gb|gib|tb|tib)\b", _W)
MEMORY_RE = re.compile(r"\b(\d{3,5})\s*mb\b", _W)
COUNT_RE = re.compile(r"\b(\d{1,3}|two|three|four|five|six)\s+(?:ec2\s+)?(?:instances|servers|nodes|vms|machines|replicas|tasks|containers)\b", _W)
AZ_RE = re.compile(r"\b(two|three|2|3)\s+(?:availability zones|azs?)\b", _W)
QUOTED_RE = re.compile(r"[\"'`“‘]([A-Za-z0-9][A-Za-z0-9._-]{1,62})[\"'`”’]")
NAMED_RE = re.compile(
    r"\b(bucket|queue|table|function|lambda|database|db|cluster|topic|vpc|project|app|application|service|site|website|api|instance)\s+(?:called|named|with (?:the )?name)\s+[\"'`“]?([A-Za-z0-9][A-Za-z0-9._-]{1,62})",
    _W,
)
VERSION_RE = re.compile(r"\b(postgres(?:ql)?|mysql|redis|node(?:js)?|python)\s*v?(\d+(?:\.\d+)?)", _W)
OS_RE = re.compile(r"\b(ubuntu)(?:\s+(?:server\s+)?(\d{2}\.04))?|\b(amazon linux|al)\s?(2023|2)\b", _W)
UPLOAD_RE = re.compile(r"[\"'`]?((?:[\w.-]+/)*[\w-][\w.-]*\.(?:pdf|png|jpe?g|gif|svg|html?|css|js|json|csv|txt|zip|gz|mp4|mp3|xml|ya?ml))[\"'`]?", _W)
TAG_RE = re.compile(r"\btag(?:s|ged)?\b[^=\n]{0,40}?\(?\s*[\"']?([A-Za-z][\w.:/-]{0,62})[\"']?\s*=\s*[\"']([^\"'\n]{1,100})[\"']", _W)
WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}

WORKLOADS: list[tuple[str, str]] = [
    ("static_site", r"static (?:web)?site|landing page|static web|static (?:html|pages?|content)|marketing (?:site|page)|html site|portfolio|docs site|documentation site|single[- ]page app|\bspa\b|hugo|jekyll|gatsby|blog"),
    ("data_pipeline", r"data pipeline|\betl\b|ingest|data lake|analytics pipeline|process(?:ing)? (?:files|uploads|events|data)"),
    ("worker", r"queue workers?|background (?:jobs?|workers?)|job queue|workers? (?:that|to) process|async(?:hronous)? jobs"),
    ("api", r"\bapi\b|rest(?:ful)? (?:api|service)|graphql|webhook|backend service|microservice"),
    ("web_app", r"web ?app|saas|website|web application|portal|dashboard|e-?commerce|\bshop\b|django|rails|laravel|next\.?js|wordpress"),
]

# word pattern -> component id
COMPONENT_WORDS: list[tuple[str, str]] = [
    ("redis", r"redis|elasticache|\bcache\b|caching|session store"),
    ("dynamodb", r"dynamo ?db|nosql|key[- ]value"),
    ("sqs", r"\bsqs\b|\bqueues?\b|dead[- ]letter"),
    ("sns", r"\bsns\b|pub/?sub|notifications? topic|fan[- ]?out|\btopic\b"),
    ("s3", r"\bs3\b|\bbuckets?\b|uploads?|object storage|file storage|store (?:files|images|assets)"),
    ("cloudfront", r"cloudfront|\bcdn\b|edge cach"),
    ("waf", r"\bwaf\b|web application firewall|firewall"),
    ("route53", r"route ?53|\bdns\b|hosted zone"),
    ("kms", r"\bkms\b|customer[- ]managed key|encryption key"),
    ("secrets", r"secrets? manager|store (?:the )?(?:secrets?|passwords?|api keys?)"),
    ("cloudtrail", r"cloudtrail|audit (?:log|trail)"),
    ("guardduty", r"guardduty|threat detection"),
    ("config", r"aws config|config rules|configuration recorder"),
    ("alarms", r"alarms?|monitoring|alerts?|cloudwatch"),
    ("budget", r"budget|cost alert|spending limit"),
    ("backup", r"\bbackups?\b|aws backup|disaster recovery"),
    ("apigw", r"api gateway|http api|rest api"),
    ("lambda", r"lambda|serverless|functions?\b"),
    ("alb", r"load balancer|\balb\b|\belb\b"),
    ("vpc", r"\bvpc\b|private network|subnets?"),
    ("acm", r"\bacm\b|certificate|\bhttps\b|\btls\b|\bssl\b"),
]
COMPUTE_WORDS: list[tuple[str, str]] = [
    ("lambda", r"lambda|serverless"),
    ("ecs", r"\becs\b|fargate|containers?|docker|kubernetes-free|container image"),
    ("asg", r"auto ?scaling|autoscaling|\basg\b|scale out"),
    ("ec2", r"\bec2\b|virtual machines?|\bvms?\b|\bservers?\b|bastion|\binstances?\b"),
]
REMOVE_RE = re.compile(r"\b(?:remove|drop|delete from the design|without|get rid of|no longer need|don'?t need|no)\s+(?:the\s+|a\s+|an\s+)?([a-z0-9 -]{2,30}?)(?=\s+(?:and|but|then|so|to|from)\b|[,.;!?]|$)", _W)
FROM_TO_RE = re.compile(r"\b(?:from|replace)\s+[\w.-]+(?:\s+[\w.-]+)?\s+(?:to|with|by)\b", _W)
INSTEAD_RE = re.compile(r"\binstead of\s+([a-z0-9 -]{2,30}?)(?=\s+(?:and|but|then|so)\b|[,.;!?]|$)", _W)


def _has(pattern: str, text: str) -> bool:
    return re.search(pattern, text, _W) is not None


def _database(text: str) -> tuple[str | None, bool]:
    """The engine the text names, and whether it asks for a database at all."""
    aurora = _has(r"aurora", text)
    if _has(r"postgres|postgresql|\bpg\b", text):
        return ("aurora-postgresql" if aurora else "postgres"), True
    if _has(r"mysql|mariadb", text):
        return ("aurora-mysql" if aurora else "mysql"), True
    if aurora:
        return "aurora-postgresql", True
    wants = _has(r"database|\bdb\b|\brds\b|relational|\bsql\b", text)
    return None, wants


def _removed(text: str) -> set[str]:
    """Components the text takes away ("remove the cache", "without a queue")."""
    out: set[str] = set()
    for match in [*REMOVE_RE.finditer(text), *INSTEAD_RE.finditer(text)]:
        phrase = match.group(1)
        for component, pattern in COMPONENT_WORDS:
            if _has(pattern, phrase):
                out.add(component)
        engine, wants = _database(phrase)
        if engine or wants:
            out.add("database")
    return out


def _names(text: str, req: Requirements) -> None:
    mapping = {
        "bucket": "s3", "queue": "sqs", "table": "dynamodb", "function": "lambda", "lambda": "lambda",
        "database": "rds", "db": "rds", "cluster": "ecs", "topic": "sns", "vpc": "vpc",
        "site": "site", "website": "site", "api": "apigw", "instance": "ec2",
    }
    names = dict(req.names)
    for kind, name in NAMED_RE.findall(text):
        kind = kind.lower()
        if kind in {"project", "app", "application", "service"}:
            slug = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:31]
            if slug and slug[0].isalpha():
                req.project = slug
            continue
        names[mapping[kind]] = name
    req.names = names


def _sizes(text: str, req: Requirements) -> None:
    if m := DB_CLASS_RE.search(text):
        req.db_instance_class = m.group(1).lower()
    if m := INSTANCE_RE.search(text):
        req.instance_type = m.group(1).lower()
    if m := STORAGE_RE.search(text):
        size = int(m.group(1)) * (1024 if m.group(2).lower().startswith("t") else 1)
        if 5 <= size <= 65536:
            req.db_storage_gb = size
    if m := MEMORY_RE.search(text):
        req.memory_mb = max(128, min(10240, int(m.group(1))))
    if m := COUNT_RE.search(text):
        raw = m.group(1).lower()
        req.instance_count = WORDS.get(raw) or max(1, int(raw))
    if m := AZ_RE.search(text):
        raw = m.group(1).lower()
        req.az_count = WORDS.get(raw) or int(raw)
    if m := CIDR_RE.search(text):
        req.vpc_cidr = m.group(1)
    for engine, version in VERSION_RE.findall(text):
        engine = engine.lower()
        if engine.startswith("node"):
            req.lambda_runtime = f"nodejs{version.split('.')[0]}.x"
        elif engine == "python":
            req.lambda_runtime = f"python{version}" if "." in version else req.lambda_runtime
        elif engine != "redis":
            req.db_version = version


def _details(text: str, req: Requirements) -> None:
    """Operating system, load balancer kind, files to upload, tags."""
    if m := OS_RE.search(text):
        if m.group(1):
            req.operating_system = f"ubuntu-{m.group(2) or '24.04'}" if (m.group(2) or "24.04") in {"20.04", "22.04", "24.04"} else "ubuntu-24.04"  # type: ignore[assignment]
        else:
            req.operating_system = "al2023" if m.group(4) == "2023" else "al2"  # type: ignore[assignment]
    if _has(r"network load balancer|\bnlb\b|layer ?4|tcp load balanc", text):
        req.load_balancer = "network"
    elif _has(r"application load balancer|\balb\b", text):
        req.load_balancer = "application"
    if _has(r"\b(upload|store|put|copy|host)\b", text):
        found = [m.group(1) for m in UPLOAD_RE.finditer(text) if "/" in m.group(1) or m.group(0)[0] in "\"'`"]
        found = [f for f in found if not DOMAIN_RE.fullmatch(f)]
        if found:
            renamed = {upload_name(f): f for f in found if upload_name(f) != f}
            if renamed:
                req.upload_paths = {**req.upload_paths, **renamed}
            req.uploads = sorted({*req.uploads, *found})
            req.add("s3")
    tags = {k: v for k, v in TAG_RE.findall(text)}
    if tags:
        req.tags = {**req.tags, **tags}


def _context(text: str, req: Requirements) -> None:
    if m := REGION_RE.search(text):
        req.region = m.group(1).lower()
    else:
        low = text.lower()
        for place, region in PLACES.items():
            if re.search(rf"\b{place}\b", low):
                req.region = region
                break
    if _has(r"\b(prod|production|live|go[- ]live)\b", text):
        req.environment = "production"
    elif _has(r"\bstaging|pre-?prod|\bqa\b|\buat\b", text):
        req.environment = "staging"
    elif _has(r"\b(dev|development|sandbox|prototype|poc|proof of concept|test(?:ing)? env)", text):
        req.environment = "dev"
    if _has(r"multi-?az|highly available|high availability|\bha\b|fault[- ]tolerant|redundan", text):
        req.availability = "multi_az"
    elif _has(r"single[- ]az|one az|one availability zone", text):
        req.availability = "single_az"
    if _has(r"(one|single|1) nat|nat per vpc|cheap nat", text):
        req.nat = "single"
    elif _has(r"nat (gateway )?(per|in each|for each) (az|availability zone)", text):
        req.nat = "per_az"
    if _has(r"million|high traffic|heavy traffic|viral|spiky|10k\+? (users|rps)|thousands of requests", text):
        req.traffic = "high"
    elif _has(r"low traffic|few users|small (?:app|team)|internal tool|hobby|mvp", text):
        req.traffic = "low"
    if m := BUDGET_RE.search(text):
        digits = (m.group(1) or m.group(3) or "").replace(",", "")
        if digits:
            amount = int(digits) * (1000 if (m.group(2) or m.group(4)) else 1)
            if amount > 0:
                req.budget_usd = amount
    for word, tag in (("hipaa", "HIPAA"), ("pci", "PCI-DSS"), ("soc ?2", "SOC2"), ("gdpr", "GDPR"), ("iso ?27001", "ISO27001")):
        if _has(rf"\b{word}", text) and tag not in req.compliance:
            req.compliance = [*req.compliance, tag]
    if m := DOMAIN_RE.search(text):
        candidate = m.group(1).lower()
        if not candidate.startswith(("db.", "cache.")) and not INSTANCE_RE.fullmatch(candidate):
            req.domain = candidate
            if req.project is None:
                req.project = project_of_domain(candidate)


def project_of_domain(domain: str) -> str | None:
    """The product a domain names (``app.acme.io`` -> ``acme``): the project's name when the
    request gives none, so two products never share a state key or resource names."""
    labels = domain.split(".")
    # a two-part public suffix (co.uk, com.au) leaves the label before it
    name = labels[-3] if len(labels) >= 3 and labels[-2] in {"co", "com", "org", "net", "ac", "gov"} else labels[-2] if len(labels) >= 2 else ""
    slug = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:31]
    return slug if slug and slug[0].isalpha() and slug != "example" else None


def extract(text: str, current: Requirements | None = None) -> Requirements:
    """Merge what ``text`` says into ``current`` (a copy); pure and deterministic."""
    req = (current or Requirements()).model_copy(deep=True)
    removed = _removed(text)
    for workload, pattern in WORKLOADS:
        if _has(pattern, text) and (req.workload is None or current is None):
            req.workload = workload  # type: ignore[assignment]
            break
    for compute, pattern in COMPUTE_WORDS:
        if _has(pattern, text) and compute not in removed:
            req.compute = compute  # type: ignore[assignment]
            break
    engine, wants = _database(_strip_removed(text))
    if "database" in removed and not engine:
        req.database, req.wants_database = None, False
        req.drop("rds", "aurora")
    if engine:
        req.database = engine  # type: ignore[assignment]
        req.db_version = None if current and current.database != engine else req.db_version
    req.wants_database = req.wants_database or wants or engine is not None
    found = [c for c, pattern in COMPONENT_WORDS if _has(pattern, _strip_removed(text)) and c not in removed]
    if found:
        req.add(*found)
    drop = [c for c in removed if c != "database"]
    if drop:
        req.drop(*drop)
    _names(text, req)
    _sizes(text, req)
    _context(text, req)
    _details(text, req)
    if req.workload is None and (req.components or req.compute or req.wants_database):
        req.workload = "custom"
    return req


def _strip_removed(text: str) -> str:
    """The text without its "remove X"/"instead of X" phrases, so X is not added back."""
    text = INSTEAD_RE.sub(" ", text)
    text = FROM_TO_RE.sub(" to ", text)
    return REMOVE_RE.sub(" ", text)
