"""The offline requirement extractor: plain English -> fields of :class:`Requirements`.

Deterministic rules over the text (normalized first: agents.text; Korean phrases glossed into
the English words the rules read): intent words, resource kinds, names and quoted values, CIDRs,
instance classes, engines and versions, sizes, counts, regions, environments, budgets. It merges
into the requirements already gathered, so a follow-up ("add a Redis cache", "use MySQL
instead", "make it production") changes the design rather than replacing it.
"""

from __future__ import annotations

import re

from agents.catalog import component_words
from agents.honesty import asked_in
from agents.requirements import Requirements, upload_name
from agents.text import language, normalize

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
    "indonesia": "ap-southeast-3", "south korea": "ap-northeast-2", "korea": "ap-northeast-2",
    "hyderabad": "ap-south-2", "melbourne": "ap-southeast-4", "uae": "me-central-1", "dubai": "me-central-1",
    "united arab emirates": "me-central-1", "israel": "il-central-1", "tel aviv": "il-central-1", "calgary": "ca-west-1",
    "malaysia": "ap-southeast-5", "kuala lumpur": "ap-southeast-5", "thailand": "ap-southeast-7", "bangkok": "ap-southeast-7",
    "taipei": "ap-east-2", "taiwan": "ap-east-2", "mexico": "mx-central-1", "n. california": "us-west-1", "northern california": "us-west-1",
    "n. virginia": "us-east-1", "northern virginia": "us-east-1", "us east": "us-east-1", "us west": "us-west-2",
}
# Korean place names (no word boundaries: a particle follows the noun, as in 서울에, 도쿄로)
KO_PLACES: dict[str, str] = {
    "서울": "ap-northeast-2", "한국": "ap-northeast-2", "국내": "ap-northeast-2", "도쿄": "ap-northeast-1", "동경": "ap-northeast-1",
    "일본": "ap-northeast-1", "오사카": "ap-northeast-3", "버지니아": "us-east-1", "미국 동부": "us-east-1", "미 동부": "us-east-1",
    "오하이오": "us-east-2", "오레곤": "us-west-2", "오리건": "us-west-2", "미국 서부": "us-west-2", "캘리포니아": "us-west-1",
    "프랑크푸르트": "eu-central-1", "독일": "eu-central-1", "아일랜드": "eu-west-1", "런던": "eu-west-2", "영국": "eu-west-2",
    "파리": "eu-west-3", "프랑스": "eu-west-3", "스톡홀름": "eu-north-1", "싱가포르": "ap-southeast-1", "시드니": "ap-southeast-2",
    "호주": "ap-southeast-2", "인도네시아": "ap-southeast-3", "자카르타": "ap-southeast-3", "뭄바이": "ap-south-1", "인도": "ap-south-1",
    "홍콩": "ap-east-1", "상파울루": "sa-east-1", "멜버른": "ap-southeast-4", "하이데라바드": "ap-south-2", "말레이시아": "ap-southeast-5",
    "쿠알라룸푸르": "ap-southeast-5", "태국": "ap-southeast-7", "방콕": "ap-southeast-7", "대만": "ap-east-2", "타이베이": "ap-east-2",
    "바레인": "me-south-1", "아랍에미리트": "me-central-1", "두바이": "me-central-1", "이스라엘": "il-central-1", "취리히": "eu-central-2",
    "스위스": "eu-central-2", "밀라노": "eu-south-1", "이탈리아": "eu-south-1", "스페인": "eu-south-2", "멕시코": "mx-central-1", "캘거리": "ca-west-1", "브라질": "sa-east-1", "캐나다": "ca-central-1",
}
# Korean phrases -> the English words the rules below read. Nouns that a negation follows
# ("캐시 없이", "DB는 필요 없어요") become "without <noun>".
KO_NOUNS: list[tuple[str, str]] = [
    ("고가용성|이중화|멀티\\s*AZ|다중\\s*AZ|(?<![A-Za-z])HA(?![A-Za-z])", "high availability"),
    ("레디스|Redis|캐시|세션\\s*저장소", "redis cache"),
    ("포스트그레스(?:QL)?|포스트그레SQL|PostgreSQL|Postgres", "postgres"),
    ("마이\\s*SQL|MySQL|마리아\\s*DB", "mysql"),
    ("오로라|Aurora", "aurora"),
    ("데이터베이스|디비|(?<![A-Za-z])DB(?![A-Za-z])|(?<![A-Za-z])RDS(?![A-Za-z])", "database"),
    ("다이나모\\s*DB|DynamoDB|NoSQL", "dynamodb"),
    ("메시지\\s*큐|작업\\s*큐|대기열|(?<![A-Za-z])SQS(?![A-Za-z])|큐", "queue"),
    ("알림\\s*토픽|(?<![A-Za-z])SNS(?![A-Za-z])", "sns topic"),
    ("CDN|씨디엔", "cdn"),
    ("웹\\s*방화벽|방화벽|(?<![A-Za-z])WAF(?![A-Za-z])", "waf"),
    ("백업", "backups"),
    ("모니터링|알람|경보", "monitoring"),
    ("버킷|파일\\s*저장소|파일\\s*저장|이미지\\s*저장|스토리지", "s3 bucket"),
    ("로드\\s*밸런서|로드밸런서", "load balancer"),
    ("NAT\\s*게이트웨이", "nat gateway"),
]
_KO_NEG = r"\s*(?:은|는|이|가|도|을|를|만)?\s*(?:없이|빼고|빼\s*줘|빼주|빼\s*주세요|제외|필요\s*없|필요없|필요하지\s*않|안\s*필요|불필요|없어도|쓰지\s*않|안\s*써|안\s*쓰|말고)"
KO_GLOSS: list[tuple[str, str]] = [
    (r"(?:스테이징|검증)\s*(?:용\s*)?(?:환경\s*)?(?:복사본|사본|복제본|복제|복사)", "a staging copy of production"),
    (r"개발\s*(?:용\s*)?(?:환경\s*)?(?:복사본|사본|복제본|복제|복사)", "a dev copy of production"),
    (r"(?:운영|프로덕션|상용)\s*(?:환경)?\s*(?:을|를|과|와|의)?\s*(?:복사|복제|똑같|그대로|같은\s*구성|동일한\s*구성|본뜬|사본|복사본)", "a copy of production"),
    (r"운영\s*(?:환경|용|계|서버|스택|배포|서비스)|운영환경|프로덕션|상용\s*(?:환경|서비스)?|실\s*서비스|라이브\s*서비스", "production"),
    (r"스테이징|검증\s*(?:환경|용|서버)|QA\s*환경", "staging"),
    (r"개발\s*(?:환경|용|서버|계)|개발환경|테스트\s*(?:환경|용|서버)|샌드박스|프로토타입|시제품|(?<![A-Za-z])PoC(?![A-Za-z])", "dev"),
    (r"정적\s*(?:웹\s*)?(?:사이트|페이지|웹)|랜딩\s*페이지|회사\s*소개\s*(?:페이지|사이트|홈페이지)|블로그|포트폴리오", "static website"),
    (r"웹\s*(?:앱|애플리케이션|어플리케이션|서비스)|쇼핑몰|커머스|대시보드|위키|포털|인트라넷|관리자\s*(?:페이지|화면|도구|툴)|어드민|홈페이지|웹\s*사이트|웹사이트", "web app"),
    (r"백엔드|API\s*서버|API|(?:모델|LLM)\s*(?:을|를)?\s*서빙|추론\s*(?:서버|API|엔드포인트)", "api"),
    (r"사내\s*(?:툴|도구|시스템|앱)|내부\s*(?:툴|도구|시스템)", "internal tool"),
    (r"워커|백그라운드\s*작업|비동기\s*작업|배치\s*작업", "background jobs"),
    (r"데이터\s*파이프라인|데이터\s*레이크|ETL|로그\s*수집", "data pipeline"),
    (r"서버리스|람다", "serverless lambda"),
    (r"업로드|올려\s*(?:줘|주세요|둬)", "upload"),
    (r"컨테이너|도커|파게이트", "containers"),
    (r"트래픽[이은가도]?\s*(?:많|높|폭증|몰리)|대규모|수백만|수십만|동시\s*접속자?\s*\d+\s*만", "high traffic"),
    (r"트래픽[이은가도]?\s*(?:적|낮|거의\s*없|별로\s*없)|소규모|사내\s*(?:용|툴|도구|시스템|전용)|내부\s*(?:용|전용)", "low traffic"),
    (r"저렴|싸게|저비용|비용[을를]?\s*(?:최소|줄|아끼)|최소\s*비용|가성비", "cheap"),
    (r"단일\s*AZ|AZ\s*하나|싱글\s*AZ", "single-az"),
]
# "no need for high availability", "HA isn't needed", "without multi-AZ"
_HA = r"(?:high(?:ly)?[- ]availab\w*|multi[- ]?az|\bha\b|redundan\w*|fail-?over|fault[- ]toleran\w*)"
NO_HA_RE = re.compile(
    rf"\b(?:no|not|without|don'?t|do not|doesn'?t|does not|won'?t|needn'?t|isn'?t|aren'?t|never|skip|forget)\b(?:\s+\w+){{0,4}}?\s+{_HA}|"
    rf"{_HA}\s+(?:is\s+|are\s+)?(?:not\s+(?:needed|required|necessary|important|a (?:priority|must|requirement|concern))|"
    rf"isn'?t\s+(?:needed|required|necessary|important|a (?:priority|must|requirement|concern))|unnecessary|overkill|optional|can wait)|"
    rf"\bno\s+{_HA}|{_HA}\s*:\s*no\b",
    _W,
)
HA_RE = re.compile(rf"{_HA}|across (?:two|three|2|3|multiple) (?:availability zones|azs)", _W)
USERS_RE = re.compile(
    r"\b(?:only\s+)?(?:our|my|the|about|around|roughly|~|just|for|with)?\s*(?:first\s+)?(\d[\d,]*(?:\.\d+)?|a (?:few|couple of) (?:hundred|thousand)|hundreds of|thousands of|a handful of|two|three|four|five|six|ten|few)\s*(k\b|thousand\b|m\b|million\b)?\s*"
    r"(?:\w+\s+){0,2}?(developers|devs|engineers|employees|staff|people|users|customers|visitors|clients|members|admins|testers|teammates)\b(?:\s+(?:a|per)\s+(day|month|week))?",
    _W,
)
KO_USERS_RE = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(천|만)?\s*명|(수백|수천|수만)\s*명")
COPY_RE = re.compile(
    r"\b(?:(?:a|an|the)\s+)?(?:(cheap(?:er)?|small(?:er)?|smaller|lighter)\s+)?(?:(staging|dev|development|test|qa)\s+)?(?:copy|clone|replica|mirror|duplicate|version)\s+of\s+(?:our\s+|the\s+|my\s+|this\s+|that\s+)?(?:existing\s+|current\s+)?(prod(?:uction)?|staging|dev)\b(?:\s+(?:stack|environment|setup|design|infrastructure|one))?|"
    r"\b(?:same|identical)\s+(?:shape|setup|stack|design|architecture)\s+as\s+(?:our\s+|the\s+)?(prod(?:uction)?|staging)\b(?:\s+(?:stack|environment|setup))?|"
    r"\b(staging|dev|test)\s+(?:copy|clone|replica|mirror)\b|"
    r"\b(?:that\s+|which\s+)?(?:mirrors|mirroring|copies|clones|looks like|is like|like)\s+(?:our\s+|the\s+)?(prod(?:uction)?)\b(?:\s+but\s+(?:smaller|cheaper|lighter))?",
    _W,
)
REQUESTS_RE = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(k|m|million|thousand)?\s*(?:requests|reqs|req|hits|page ?views|api calls|rps)\b(?:\s*(?:a|per|/)\s*(day|hour|minute|min|second|sec|s)\b)?", _W)
KRW_RE = re.compile(r"(?:월|한\s*달에?|매달)?\s*(\d[\d,]*(?:\.\d+)?)\s*(만|천)?\s*원")
KO_USD_RE = re.compile(r"(?:월|한\s*달에?|매달)\s*\$?\s*(\d[\d,]*)\s*(천|만)?\s*(?:달러|불|USD|\$)?|\$?\s*(\d[\d,]*)\s*(?:달러|불)\s*(?:이하|이내|미만|정도|안쪽)?|\$\s*(\d[\d,]*)\s*(?:이하|이내|미만|정도)", re.IGNORECASE)
KRW_PER_USD = 1350
STORAGE_TYPE_RE = re.compile(r"\b(gp2|gp3|io1|io2|magnetic)\b", _W)
PORT_RE = re.compile(r"\bports?\s+(\d{2,5}(?:\s*(?:,|and|&|/)\s*\d{2,5})*)|\b(\d{2,5})\s*(?:번\s*)?포트|포트\s*(\d{2,5})", _W)
TENANCY_RE = re.compile(r"\b(dedicated)\s+(?:tenancy|instances?|hosts?)|\btenancy\s*(?:=|of|:)?\s*[\"']?(dedicated|host|default)", _W)
APPLY_NOW_RE = re.compile(r"apply[_ ]immediately(?:\s*(?:=|:)\s*(true|false))?|(?:apply|make) (?:the )?changes immediately|without waiting for the maintenance window", _W)
PRODUCT_RE = re.compile(
    r"\b(?:our|my)\s+(?:startup|company|product|app|service|saas|platform|shop|store|brand|site|website)\s*,?\s+(?:is\s+)?(?:called\s+|named\s+)?[\"'`“]?([A-Z][A-Za-z0-9-]{1,30})\b|"
    r"\b(?:we are|we're|this is|i'm building|we're building|building)\s+([A-Z][A-Za-z0-9-]{1,30})\b(?=\s*[,.:;(-]|\s+(?:a|an|the)\s)|"
    r"\b([A-Z][A-Za-z0-9-]{1,30})(?:'s|’s)\s+(?:app|backend|api|website|site|platform|stack|infrastructure|infra)\b|"
    r"[\"'`“]?([A-Za-z][A-Za-z0-9-]{1,30})[\"'`”]?\s*(?:이라는|라는|란)\s*(?:이름의\s*)?(?:서비스|앱|제품|스타트업|플랫폼|쇼핑몰|사이트|프로젝트)|"
    r"(?:서비스|앱|제품|프로젝트|회사)\s*(?:이름|명)[은는이가]?\s*[\"'`“]?([A-Za-z][A-Za-z0-9-]{1,30})|"
    # "a mobile backend for Petpal": a capitalized name after "for", not a known word
    r"(?<=[a-z,] )for\s+([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)*)\b(?!\s*(?:users|customers|people|developers|teams?|students)\b)",
)
_NOT_PRODUCTS = {"a", "an", "the", "we", "i", "it", "this", "that", "aws", "our", "my", "app", "api", "web", "saas", "django", "rails",
                 "laravel", "react", "next", "node", "python", "docker", "postgres", "mysql", "redis", "lambda", "ecs", "ec2", "s3",
                 "wordpress", "production", "staging", "dev", "hello", "hi", "please", "build", "make", "create", "set", "need", "want",
                 "us", "me", "them", "now", "today", "everyone", "all", "mobile", "ios", "android", "iphone", "php", "java", "go",
                 "kubernetes", "terraform", "slack", "stripe", "shopify", "google", "github", "january", "february", "march", "april",
                 "may", "june", "july", "august", "september", "october", "november", "december", "monday", "friday", "christmas"}
CIDR_RE = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3}/\d{1,2})\b")
DB_CLASS_RE = re.compile(r"\b(db\.[a-z0-9]+\.[a-z0-9]+)\b", _W)
CACHE_CLASS_RE = re.compile(r"\b(cache\.[a-z0-9]+\.[a-z0-9]+)\b", _W)
INSTANCE_RE = re.compile(r"(?<![.\w])([a-z][0-9][a-z]{0,3}\.(?:nano|micro|small|medium|large|\d*xlarge|metal))\b", _W)
DOMAIN_RE = re.compile(r"(?<![A-Za-z0-9.@-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|io|dev|app|net|org|co|ai|tech|cloud|shop|store|xyz|me|site|de|uk|fr|eu|kr|jp|sg|in|us|ca|au|info|biz|gg|tv|so|ly|to|link|page|studio|design|online|world|life|team|works|network|systems|games|care|health|finance|money|education|academy|email|chat|social|digital|agency|global|asia|nz|es|it|nl|se|ch|be|at|pl|io))(?![A-Za-z0-9-]|\.[A-Za-z0-9])", _W)
BUDGET_RE = re.compile(
    # "budget of 300", "budget: $2k"
    r"budget[^$\d\n]{0,20}\$?\s*(\d[\d,]*(?:\.\d+)?)\s*(k)?\b|"
    # "under $300 a month", "about $8k/month", "spend at most 500 dollars", "~$1,200 per month"
    r"(?:under|below|less than|no more than|max(?:imum)?|at most|up to|spend|about|around|roughly|approximately|approx\.?|~|within|cap(?:ped)? at)\s*"
    r"(?:\$\s*(\d[\d,]*(?:\.\d+)?)\s*(k)?|(\d[\d,]*(?:\.\d+)?)\s*(k)?\s*(?:usd|dollars|bucks|\$))|"
    # "$300/month", "$2k per month", "300 USD a month"
    r"\$\s*(\d[\d,]*(?:\.\d+)?)\s*(k)?\s*(?:a|per|/|each)\s*(?:month|mo)\b|"
    r"(\d[\d,]*(?:\.\d+)?)\s*(k)?\s*(?:usd|dollars|bucks)\s*(?:a|per|/|each)\s*(?:month|mo)\b",
    _W,
)
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
    ("static_site", r"static (?:web)?site|static (?:marketing|company|corporate|product|landing|documentation|docs|personal|brochure|informational|simple|small|html) (?:web ?)?site|landing page|static web|static (?:html|pages?|content)|marketing (?:site|page)|html site|portfolio|docs site|documentation site|single[- ]page app|\bspa\b|hugo|jekyll|gatsby|blog"),
    ("data_pipeline", r"data pipeline|\betl\b|ingest|data lake|analytics pipeline|process(?:ing)? (?:files|uploads|events|data)"),
    ("worker", r"queue workers?|background (?:jobs?|workers?)|job queue|workers? (?:that|to) process|async(?:hronous)? jobs"),
    ("api", r"\bapi\b|rest(?:ful)? (?:api|service)|graphql|webhook|backend service|microservice|mobile backend|backend for (?:our|a|the) (?:mobile|ios|android) app|model serving|inference (?:api|endpoint|server)|serve (?:it|our|a|the) (?:\w+ ){0,2}?(?:model|llm)"),
    ("web_app", r"web ?app|saas|website|web application|portal|dashboard|admin (?:tool|panel|app)|internal tool|intranet|\bwiki\b|back-?office|\bcrm\b|e-?commerce|\bshop\b|django|rails|laravel|next\.?js|wordpress"),
]

# component id -> the words a request names it by: each blueprint declares its own
COMPONENT_WORDS: list[tuple[str, str]] = component_words()
COMPUTE_WORDS: list[tuple[str, str]] = [
    ("lambda", r"lambda|serverless"),
    ("ecs", r"\becs\b|fargate|containers?|docker|kubernetes-free|container image"),
    ("asg", r"auto ?scaling|autoscaling|\basg\b|scale out"),
    ("ec2", r"\bec2\b|virtual machines?|\bvms?\b|\bservers?\b|bastion|\binstances?\b"),
]
REMOVE_RE = re.compile(r"\b(?:remove|drop|delete from the design|without|get rid of|no longer need|don'?t need|do not need|doesn'?t need|won'?t need|no need for|no|skip|leave out|exclude)\s+(?:the\s+|a\s+|an\s+)?([a-z0-9 -]{2,30}?)(?=\s+(?:and|but|then|so|to|from)\b|[,.;!?]|$)", _W)
FROM_TO_RE = re.compile(r"\b(?:from|replace)\s+[\w.-]+(?:\s+[\w.-]+)?\s+(?:to|with|by)\b", _W)
# the application is for the public after all ("make it public", "open it to our customers")
PUBLIC_RE = re.compile(
    r"\bmake (?:it|the app|the tool|the site) public\b|\bpublic[- ]facing\b|\bopen (?:it )?(?:up )?to (?:the public|the internet|our customers|everyone)\b|"
    r"\bnot (?:an? )?internal(?:[- ]only)?\b|외부\s*(?:에|로)?\s*(?:공개|오픈)|공개\s*(?:서비스|로\s*(?:바꿔|전환|해))",
    _W,
)
# "backups are not needed", "a CDN isn't necessary", "the queue would be overkill"
NOT_NEEDED_RE = re.compile(
    r"([a-z0-9/-]+(?:\s+[a-z0-9/-]+){0,3}?)\s+(?:(?:is|are|would be|will be)\s+(?:not|n't)\s+(?:needed|required|necessary|wanted|a priority)|"
    r"(?:isn'?t|aren'?t|won'?t be)\s+(?:needed|required|necessary|wanted|a priority)|(?:is|are|would be|seems?)\s+(?:unnecessary|overkill)|not\s+(?:needed|required|necessary))\b",
    _W,
)
# "no NAT gateway", "skip the NAT", "we don't need NAT gateways", "NAT is not needed"
NO_NAT_RE = re.compile(
    r"\b(?:no|without|skip(?:\s+the)?|drop(?:\s+the)?|remove(?:\s+the)?|don'?t need(?:\s+(?:a|the|any))?|no need for(?:\s+(?:a|the|any))?)\s+nat\b|"
    r"\bnat(?:\s+gateways?)?\s+(?:is|are)?\s*(?:not needed|unnecessary|not required)|\bno[- ]nat\b",
    _W,
)
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
    for match in [*REMOVE_RE.finditer(text), *INSTEAD_RE.finditer(text), *NOT_NEEDED_RE.finditer(text)]:
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
    for m in CIDR_RE.finditer(text):
        # a VPC's block is private and /16 to /28; "0.0.0.0/0" or an office's public range is not
        if re.match(r"^(?:10\.|172\.(?:1[6-9]|2\d|3[01])\.|192\.168\.|100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)", m.group(1)) and 16 <= int(m.group(1).rsplit("/", 1)[1]) <= 28:
            req.vpc_cidr = m.group(1)
            break
    for engine, version in VERSION_RE.findall(text):
        if engine.lower() in {"postgres", "postgresql", "mysql"}:
            req.db_version = version
    _runtime(text, req)


# the language a function is written in -> (AWS Lambda runtime id for a version, the current one)
RUNTIMES: list[tuple[str, re.Pattern[str]]] = [
    ("node", re.compile(r"\bnode\.?js\b|\bnode\s+js\b|\b(?:in|with|using|on)\s+node\b|\bnode\s+(?:lambda|api|backend|app|service|function|handler)s?\b|"
                        r"\btype\s?script\b|\bjavascript\b|\bexpress(?:\.js)?\s+(?:api|app|server|backend)|\bnestjs\b|노드|자바\s*스크립트|타입\s*스크립트", _W)),
    ("python", re.compile(r"\bpython\b|\bdjango\b|\bflask\b|\bfastapi\b|파이썬", _W)),
    ("java", re.compile(r"\bjava\b(?!\s*script)|\bkotlin\b|\bspring(?:\s+boot)?\b|자바(?!\s*스크립트)|코틀린|스프링", _W)),
    ("go", re.compile(r"\bgolang\b|\b(?:in|with|using|written in)\s+Go\b(?!\s+live)|\bGo\s+(?:lambdas?|apis?|services?|functions?|backends?|binar(?:y|ies)|apps?|servers?|code|handlers?)\b|고랭|Go\s*(?:언어|로)|\brust\b|러스트")),
    ("ruby", re.compile(r"\bruby\b|\brails\b|루비", _W)),
    ("dotnet", re.compile(r"\.net\b|\bc#|\bdotnet\b|닷넷", _W)),
]
# a version stated with the language ("node 20", "Node.js v18", "python 3.12", "Java 17")
RUNTIME_VERSIONS = {
    "node": re.compile(r"\bnode(?:\.?js)?\s*v?(\d{2})\b", _W),
    "python": re.compile(r"\bpython\s*v?(3\.\d{1,2})\b", _W),
    "java": re.compile(r"\bjava\s*v?(\d{1,2})\b", _W),
}
RUNTIME_IDS = {"node": ("nodejs{}.x", {"18", "20", "22"}, "nodejs22.x"), "python": ("python{}", {"3.9", "3.10", "3.11", "3.12", "3.13"}, "python3.13"),
               "java": ("java{}", {"8", "11", "17", "21"}, "java21"), "go": ("", set(), "provided.al2023"), "ruby": ("", set(), "ruby3.3"),
               "dotnet": ("", set(), "dotnet8")}


def _runtime(text: str, req: Requirements) -> None:
    """The Lambda runtime of the language the text names ("Node.js", "노드", "Go", "Java 17"):
    the version's runtime when the text states a supported one, else the current runtime, which
    the summary then lists as assumed."""
    for language, pattern in RUNTIMES:
        versioned = RUNTIME_VERSIONS[language].search(text) if language in RUNTIME_VERSIONS else None
        if versioned or pattern.search(text):
            template, supported, current = RUNTIME_IDS[language]
            version = versioned.group(1) if versioned else None
            stated = template.format(version) if version and version in supported else None
            req.lambda_runtime = stated or current
            req.assumed = {k: v for k, v in req.assumed.items() if k != "lambda_runtime"} | ({} if stated else {"lambda_runtime": current})
            return


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
    if (region := region_in(text)) is not None:
        req.region = region
    copy = COPY_RE.search(text)
    if copy:
        source = next((g for g in (copy.group(3), copy.group(4), copy.group(6)) if g), "production")
        req.copy_of = "production" if source.lower().startswith("prod") else source.lower()  # type: ignore[assignment]
        text = COPY_RE.sub(" " + (copy.group(2) or copy.group(5) or "") + " ", text)
    if _has(r"\b(prod|production|live|go[- ]live)\b", text) and not copy:
        req.environment = "production"
    elif _has(r"\bstaging|pre-?prod|\bqa\b|\buat\b", text):
        req.environment = "staging"
    elif _has(r"\b(dev|development|sandbox|prototype|poc|proof of concept|test(?:ing)? env)\b", text):
        req.environment = "dev"
    if NO_HA_RE.search(text) or _has(r"single[- ]az|one az\b|one availability zone", text):
        req.availability = "single_az"
    elif HA_RE.search(text):
        req.availability = "multi_az"
    if NO_NAT_RE.search(text):
        req.nat = "none"
    elif _has(r"(one|single|1) nat|nat per vpc|cheap nat", text):
        req.nat = "single"
    elif _has(r"nat (gateway )?(per|in each|for each) (az|availability zone)", text):
        req.nat = "per_az"
    if _has(r"million|high traffic|heavy traffic|viral|spiky|10k\+? (users|rps)|thousands of requests", text):
        req.traffic = "high"
    elif _has(r"low traffic|few users|small (?:app|team)|internal tool|hobby|side project|mvp", text):
        req.traffic = "low"
    if (amount := budget(text)) is not None:
        req.budget_usd = amount
    for word, tag in (("hipaa", "HIPAA"), ("pci", "PCI-DSS"), ("soc ?2", "SOC2"), ("gdpr", "GDPR"), ("iso ?27001", "ISO27001")):
        if _has(rf"\b{word}", text) and tag not in req.compliance:
            req.compliance = [*req.compliance, tag]
    for m in DOMAIN_RE.finditer(text):
        candidate = m.group(1).lower()
        if not candidate.startswith(("db.", "cache.")) and not INSTANCE_RE.fullmatch(candidate) and not UPLOAD_RE.fullmatch(candidate):
            req.domain = candidate
            break


def extract(text: str, current: Requirements | None = None) -> Requirements:
    """Merge what ``text`` says into ``current`` (a copy); pure and deterministic."""
    req = (current or Requirements()).model_copy(deep=True)
    said = normalize(text)
    req.language = language(said, current.language if current else None)
    text = gloss(said) + _type_words(said)
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
    found = [c for c, pattern in COMPONENT_WORDS if _has(pattern, _strip_removed(_strip_scale(text))) and c not in removed]
    if found:
        req.add(*found)
    drop = [c for c in removed if c != "database"]
    if drop:
        req.drop(*drop)
    before = req.model_copy(deep=True)
    _names(text, req)
    _sizes(text, req)
    _exact(text, req)
    _context(text, req)
    _details(text, req)
    _product(said, req)
    _scale(text, req, before)
    if req.copy_of is not None and (current is None or current.copy_of != req.copy_of or current.environment != req.environment):
        _copy_shape(text, req)
    req.asked = sorted({*req.asked, *asked_in(said)} - _unasked(said, req))
    if PUBLIC_RE.search(text):
        # "make it public after all": no longer internal-only
        req.internal = False
        req.asked = [a for a in req.asked if a != "internal"]
    elif "internal" in req.asked:
        req.internal = True
    if req.workload is None and req.internal:
        req.workload = "web_app"  # "a tool only employees can use"
    if req.workload is None and (req.components or req.compute or req.wants_database):
        req.workload = "custom"
    if current is not None:
        # what this message states replaces what archops assumed before
        req.assumed = {k: v for k, v in req.assumed.items() if getattr(req, k, v) == getattr(current, k, v)}
    return req


def named_components(text: str) -> set[str]:
    """The components a message names as wanted ("add a nightly backup", "캐시 추가"), the
    database as ``rds``/``aurora``: what a change list checks against the previous design."""
    said = normalize(text)
    body = _strip_removed(_strip_scale(gloss(said) + _type_words(said)))
    removed = _removed(gloss(said))
    found = {c for c, pattern in COMPONENT_WORDS if _has(pattern, body) and c not in removed}
    engine, wants = _database(body)
    if (engine or wants) and "database" not in removed:
        found.add("aurora" if (engine or "").startswith("aurora") else "rds")
    return found


def gloss(text: str) -> str:
    """The text with English glosses of its Korean phrases appended, so the rules read them:
    "서울에 운영 환경, 캐시 없이" reads also as "production. without redis cache." """
    if not re.search("[\uac00-\ud7a3]", text):
        return text
    extra: list[str] = []
    body = text
    for pattern, english in KO_NOUNS:
        negated = re.compile(f"(?:{pattern}){_KO_NEG}", re.IGNORECASE)
        if negated.search(body):
            extra.append(f"no need for {english}" if english == "high availability" else f"without {english}")
            body = negated.sub(" ", body)
    for pattern, english in KO_NOUNS:
        if re.search(pattern, body, re.IGNORECASE):
            extra.append(english)
    for pattern, english in KO_GLOSS:
        if re.search(pattern, body, re.IGNORECASE):
            extra.append(english)
            if "copy of production" in english:
                body = re.sub(pattern, " ", body, flags=re.IGNORECASE)
    # the Latin words of the text without the Hangul around them ("ap-northeast-2에" ->
    # "ap-northeast-2"), so the English rules' word boundaries hold
    latin = re.sub("[\uac00-\ud7a3\u3131-\u318e]+", " ", body)
    return body + "\n" + latin + ("\n" + ".\n".join(extra) + "." if extra else "")


# Terraform types named literally -> the words the rules read
TYPE_WORDS: dict[str, str] = {
    "aws_instance": "ec2 instance", "aws_ami": "ec2 instance", "aws_launch_template": "ec2 instance", "aws_autoscaling_group": "auto scaling",
    "aws_s3_bucket": "s3 bucket", "aws_db_instance": "database", "aws_rds_cluster": "aurora database", "aws_lambda_function": "lambda",
    "aws_sqs_queue": "sqs queue", "aws_sns_topic": "sns topic", "aws_dynamodb_table": "dynamodb", "aws_vpc": "vpc",
    "aws_lb": "load balancer", "aws_alb": "load balancer", "aws_ecs_service": "ecs containers", "aws_ecs_cluster": "ecs containers",
    "aws_elasticache_replication_group": "redis", "aws_elasticache_cluster": "redis", "aws_cloudfront_distribution": "cloudfront",
    "aws_wafv2_web_acl": "waf", "aws_kms_key": "kms", "aws_secretsmanager_secret": "secrets manager", "aws_cloudtrail": "cloudtrail",
    "aws_guardduty_detector": "guardduty", "aws_backup_plan": "aws backup", "aws_apigatewayv2_api": "api gateway", "aws_route53_zone": "route 53",
    "aws_acm_certificate": "acm certificate", "aws_budgets_budget": "budget",
}


def _type_words(text: str) -> str:
    words = [TYPE_WORDS[m] for m in re.findall(r"(?<![A-Za-z0-9_])(aws_[a-z0-9_]+)", text) if m in TYPE_WORDS]
    return ("\n" + ". ".join(words) + ".") if words else ""


def region_in(text: str) -> str | None:
    """The region a text names: a code (ap-northeast-2), a place in English or in Korean."""
    if m := REGION_RE.search(text):
        return m.group(1).lower()
    low = text.lower()
    hits: list[tuple[int, str]] = []
    for place, region in PLACES.items():
        if m := re.search(rf"\b{re.escape(place)}\b", low):
            hits.append((m.start(), region))
    for place, region in sorted(KO_PLACES.items(), key=lambda kv: -len(kv[0])):
        idx = text.find(place)
        if idx >= 0 and not any(p != place and place in p and p in text for p in KO_PLACES):
            hits.append((idx, region))
    # "move it from Virginia to Seoul": the place after "to"/"in" wins over the one after "from"
    if len(hits) > 1 and (m := re.search(r"\bfrom\s+(\S+)", low)):
        hits = [h for h in hits if h[0] != m.start(1)] or hits
    return min(hits)[1] if hits else None


def budget(text: str) -> int | None:
    """The monthly budget in USD the text names ("under $300 a month", "about $8k/month",
    "월 300달러", "월 50만원"), or None."""
    if m := BUDGET_RE.search(text):
        pairs = [(m.group(i), m.group(i + 1)) for i in range(1, 10, 2)]
        digits, kilo = next(((d, k) for d, k in pairs if d), (None, None))
        if digits:
            amount = float(digits.replace(",", "")) * (1000 if kilo else 1)
            if amount >= 1:
                return int(amount)
    if m := KRW_RE.search(text):
        won = float(m.group(1).replace(",", "")) * {"만": 10000, "천": 1000}.get(m.group(2) or "", 1)
        if won >= KRW_PER_USD:
            return max(1, round(won / KRW_PER_USD))
    if m := KO_USD_RE.search(text):
        raw = m.group(1) or m.group(3) or m.group(4)
        if raw and (m.group(3) or m.group(4) or re.search(r"달러|불|USD|\$", m.group(0), re.IGNORECASE)):
            amount = int(raw.replace(",", "")) * {"천": 1000, "만": 10000}.get(m.group(2) or "", 1)
            return amount if amount >= 1 else None
    return None


_FEW = {"a few hundred": 300, "a couple of hundred": 200, "hundreds of": 500, "a few thousand": 3000, "a couple of thousand": 2000,
        "thousands of": 5000, "a handful of": 5, "few": 5, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10}
_KO_FEW = {"수백": 300, "수천": 3000, "수만": 30000}


def users_in(text: str) -> tuple[int, str | None] | None:
    """(how many people use it, per day/month or None) when the text says."""
    if re.search(r"\b(?:me|myself|i) and my (?:co-?founder|partner|friend|colleague)\b|\bjust (?:the )?(?:two|2) of us\b|나(?:와|랑|하고) 공동\s*창업자", text, _W):
        return 2, None
    if m := USERS_RE.search(text):
        raw = m.group(1).lower()
        digits = raw.replace(",", "")
        scale = {"k": 1000, "thousand": 1000, "m": 1_000_000, "million": 1_000_000}.get((m.group(2) or "").lower(), 1)
        count = _FEW[raw] if raw in _FEW else float(digits) if re.fullmatch(r"\d+(?:\.\d+)?", digits) else None
        if count:
            return max(1, int(count * scale)), (m.group(4) or "").lower() or None
    if m := KO_USERS_RE.search(text):
        if m.group(1):
            count = int(float(m.group(1).replace(",", "")) * {"천": 1000, "만": 10000}.get(m.group(2) or "", 1))
        else:
            count = _KO_FEW[m.group(3)]
        return max(1, count), "day" if re.search(r"하루|일\s*(?:방문|사용)", text) else None
    return None


def _scale(text: str, req: Requirements, before: Requirements) -> None:
    """Sizing words and budgets steer traffic, availability and NAT when the text does not
    state them: a handful of users or a small budget is a single-AZ design with one NAT; a
    large budget or audience is high traffic. (The environment question's default follows
    the same signals: agents.questions.)"""
    found = users_in(text)
    if found:
        req.users = max(1, found[0])
    if (m := REQUESTS_RE.search(text)) and req.traffic == before.traffic and not _has(r"traffic", text):
        # requests a day or a second: above ~100 per second on average is high traffic
        count = float(m.group(1).replace(",", "")) * {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}.get((m.group(2) or "").lower(), 1)
        per = (m.group(3) or ("second" if "rps" in m.group(0).lower() else "day")).lower()
        per_second = count / {"day": 86400, "hour": 3600, "minute": 60, "min": 60}.get(per, 1)
        req.traffic = "high" if per_second >= 100 else "medium" if per_second >= 5 else "low"
    users, amount = req.users, req.budget_usd
    few = (users is not None and users <= 50) or (amount is not None and amount <= 300)
    small = few or _has(r"\bcheap(?:er|est)?\b|low[- ]cost|as little as possible|on a shoestring|tight budget|minimal cost|reduce (?:the )?cost", text)
    big = (users is not None and users >= 100_000) or (amount is not None and amount >= 5000)
    if req.traffic == before.traffic and not _has(r"traffic", text):
        if few or (users is not None and users <= 2000):
            req.traffic = "low"
        elif big:
            req.traffic = "high"
        elif (users is not None and users < 100_000) or (amount is not None and amount >= 1000):
            req.traffic = "medium"
    if few and not big and (req.availability is None or (req.availability == before.availability and not HA_RE.search(text))):
        # a handful of users or a small budget: single-AZ, unless this message asks for HA
        req.availability = "single_az"
    if small and not big and not _has(r"nat (gateway )?(per|in each|for each)", text):
        req.nat = "single"
    if req.availability == "single_az" and req.nat is None:
        req.nat = "single"


def _copy_shape(text: str, req: Requirements) -> None:
    """A copy of another environment: the same components, in its own environment's sizes.
    What the copied environment had because it was production (Multi-AZ, a NAT per AZ, WAF,
    three AZs) goes, unless this message asks for it again; explicit names, which must be
    unique, go too (resources take the new environment's names)."""
    if req.environment in {None, "production"}:
        req.environment = "staging"
    if not HA_RE.search(text) or NO_HA_RE.search(text):
        req.availability = "single_az"
    if not _has(r"nat (gateway )?(per|in each|for each)", text):
        req.nat = "single"
    if not AZ_RE.search(text):
        req.az_count = None
    if not _has(r"\bwaf\b|firewall", text):
        req.components = [c for c in req.components if c != "waf"]
    req.names = {}
    req.answers = {k: v for k, v in req.answers.items() if k not in {"environment", "nat"}}
    req.assumed = {k: v for k, v in req.assumed.items() if k not in {"environment", "nat"}}


def _strip_scale(text: str) -> str:
    """Sizing phrases name no component ("keep it under $300 a month" is no AWS Budget)."""
    return BUDGET_RE.sub(" ", text) if not _has(r"budget (?:alert|alarm)|aws budgets?|cost alert", text) else text


def _unasked(text: str, req: Requirements) -> set[str]:
    """Capabilities the text names only to say they are not wanted ("no login needed")."""
    out: set[str] = set()
    for cid in asked_in(text) - {"no_encryption"}:  # "no encryption" is itself the ask
        for m in re.finditer(r"\b(?:no|without|don'?t need|do not need|no need for|skip)\s+(?:\w+\s+){0,2}?(\w[\w -]{1,30})", text, _W):
            if cid in asked_in(m.group(0)):
                out.add(cid)
    return out


def _product(text: str, req: Requirements) -> None:
    """The product's name anywhere in the text ("our app Petpal", "Acme's backend",
    "펫팔이라는 서비스") becomes the project name, unless the text named the project already."""
    if req.project and "project" not in req.assumed:
        return
    for m in PRODUCT_RE.finditer(text):
        name = next((g for g in m.groups() if g), "")
        slug = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:31]
        if slug and slug[0].isalpha() and slug not in _NOT_PRODUCTS and not REGION_RE.fullmatch(slug) and slug not in PLACES:
            req.project = slug
            req.assumed = {k: v for k, v in req.assumed.items() if k != "project"}
            return
    if req.project is None and req.domain:
        # the product's name from its domain: app.petpal.io -> petpal, shop.acme.co.kr -> acme
        labels = req.domain.split(".")
        while len(labels) > 2 and labels[-2] in {"co", "com", "net", "org", "or", "ac", "go", "ne"} and len(labels[-1]) == 2:
            labels = labels[:-1]
        slug = re.sub(r"[^a-z0-9-]", "-", labels[-2] if len(labels) >= 2 else "")[:31].strip("-")
        if slug and slug[0].isalpha() and slug not in {"example", "localhost"}:
            req.project = slug


def _exact(text: str, req: Requirements) -> None:
    """Exact values: storage type, cache node type, ports, tenancy, apply_immediately."""
    if m := STORAGE_TYPE_RE.search(text):
        req.db_storage_type = m.group(1).lower()  # type: ignore[assignment]
    if m := CACHE_CLASS_RE.search(text):
        req.cache_node_type = m.group(1).lower()
    ports: set[int] = set()
    for m in PORT_RE.finditer(text):
        for raw in re.findall(r"\d{2,5}", m.group(0)):
            if 1 <= int(raw) <= 65535:
                ports.add(int(raw))
    if ports:
        req.ports = sorted({*req.ports, *ports})
    if m := TENANCY_RE.search(text):
        req.tenancy = (m.group(1) or m.group(2)).lower()  # type: ignore[assignment]
    if m := APPLY_NOW_RE.search(text):
        req.apply_immediately = (m.group(1) or "true").lower() == "true"


def _strip_removed(text: str) -> str:
    """The text without its "remove X"/"instead of X"/"X is not needed" phrases, so X is not
    added back."""
    text = INSTEAD_RE.sub(" ", text)
    text = FROM_TO_RE.sub(" to ", text)
    text = NOT_NEEDED_RE.sub(" ", text)
    return REMOVE_RE.sub(" ", text)
