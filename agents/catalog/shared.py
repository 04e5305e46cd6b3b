"""Shared resources and what blueprints ask of them.

A blueprint that uses a shared resource (the module's KMS key, the log bucket, the alert topic,
the application) refers to it through its typed handle here (``KEY.arn``, ``LOG_BUCKET.id_ref``,
``ALERTS.arn``) and asks, next to the block that needs it, for what AWS requires at apply time::

    out.add("x.tf", log_group(out, "app", name, retention))    # asks KEY.logs()
    out.ask(LOG_BUCKET.write("ElbLogDelivery", {"Service": ...}, ("alb/AWSLogs/", ACCOUNT, "/*")))
    ALERTS.alarms(ctx, out, Alarm(...))                         # asks ALERTS.publish(cloudwatch)
    out.ask(APP.bind("database", env={...}, secrets={...}, port=5432, security_group=sg))

The blueprint owning the shared resource assembles it from every ask of the design
(:meth:`agents.catalog.base.Fragment.assemble`): the key and bucket policies, the bucket ACL,
the topic policy, the container's environment, secrets and egress. A new blueprint brings its
own asks and nothing central changes. A shared resource may forward asks: the alert topic asks
the key to let each of its publishers encrypt messages.

The AWS facts behind each grant are cited where the grant is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import ValidationError
from core.terraform.model import Block, Call, Ref, Template, block, data, jsonencode, resource

# the account, partition and region the module is applied in (data sources in main.tf)
ACCOUNT = Ref("data", "aws_caller_identity", "current", "account_id")
PARTITION = Ref("data", "aws_partition", "current", "partition")
REGION = Ref("data", "aws_region", "current", "region")


def context_data_sources() -> list[Block]:
    """The data sources behind ACCOUNT, PARTITION and REGION (free, read at plan time)."""
    return [data("aws_caller_identity", "current"), data("aws_partition", "current"), data("aws_region", "current")]


def account_arn(service: str, *rest: Any) -> Template:
    """``arn:<partition>:<service>:<region>:<account>:<rest>`` in this module's account and region."""
    return Template("arn:", PARTITION, f":{service}:", REGION, ":", ACCOUNT, ":", *rest)


@dataclass(frozen=True)
class Grant:
    """One policy statement (or ACL entry) a blueprint asks of a shared resource.

    ``to`` is the shared resource's id; ``resources`` narrow the statement to part of it
    (objects under a prefix), empty meaning all of it; ``after`` are resources the shared one
    must wait for (a principal that must exist before a key policy names it). A grant asked of
    the key never refers to a resource the key encrypts (that would be a cycle): ARNs of such
    resources are spelled from the account, region and name instead.
    """

    to: str
    sid: str
    principal: Mapping[str, Any]
    actions: tuple[str, ...]
    condition: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    resources: tuple[Any, ...] = ()
    kind: Literal["policy", "acl"] = "policy"
    after: tuple[Ref, ...] = ()

    def statement(self, whole: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"Sid": self.sid, "Effect": "Allow", "Principal": dict(self.principal)}
        out["Action"] = list(self.actions) if len(self.actions) > 1 else self.actions[0]
        resources = list(self.resources) or ([whole] if not isinstance(whole, list) else whole)
        out["Resource"] = resources[0] if len(resources) == 1 else resources
        if self.condition:
            out["Condition"] = {op: dict(values) for op, values in self.condition.items()}
        return out


def merge_grants(grants: list[Any]) -> list[Any]:
    """One of each grant, in the order first asked; two different grants may not share a Sid."""
    out: list[Any] = []
    seen: dict[tuple[str, str], Any] = {}
    for grant in grants:
        key = (grant.to, grant.sid)
        if key in seen:
            if seen[key] != grant:
                raise ValidationError(f"two different grants ask {grant.to} for Sid {grant.sid!r}")
            continue
        seen[key] = grant
        out.append(grant)
    return out


@dataclass(frozen=True)
class Shared:
    """A resource several blueprints use, owned (built and assembled) by blueprint ``id``."""

    id: str
    # the shared resources this one's assembly asks grants of in turn
    forwards_to: tuple[str, ...] = ()


ENCRYPT = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")


@dataclass(frozen=True)
class Key(Shared):
    """The module's customer-managed KMS key."""

    arn: Ref = Ref("aws_kms_key", "main", "arn")
    key_id: Ref = Ref("aws_kms_key", "main", "key_id")

    def logs(self) -> Grant:
        """CloudWatch Logs encrypts a log group with the key: the regional principal
        ``logs.<region>.amazonaws.com`` with the log-group encryption context
        (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html)."""
        return Grant(
            self.id, "CloudWatchLogsEncryptLogGroups",
            {"Service": Template("logs.", REGION, ".amazonaws.com")}, ENCRYPT,
            {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": account_arn("logs", "*")}},
        )

    def service(self, sid: str, service: str, actions: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey*"),
                condition: Mapping[str, Mapping[str, Any]] | None = None) -> Grant:
        """An AWS service principal may use the key (publishers to an encrypted topic or queue);
        AWS's documented key policies for alarm, budget and EventBridge publishers carry no
        condition, so none is the default."""
        return Grant(self.id, sid, {"Service": service}, actions, condition or {})

    def role(self, sid: str, role_arn: Any, actions: tuple[str, ...],
             condition: Mapping[str, Mapping[str, Any]] | None = None, after: tuple[Ref, ...] = ()) -> Grant:
        return Grant(self.id, sid, {"AWS": role_arn}, actions, condition or {}, after=after)

    def policy(self, grants: list[Grant]) -> Call:
        """The key policy: the account administers the key (IAM policies apply), plus each grant."""
        admin: dict[str, Any] = {
            "Sid": "AccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": Template("arn:", PARTITION, ":iam::", ACCOUNT, ":root")},
            "Action": "kms:*",
            "Resource": "*",
        }
        return jsonencode({"Version": "2012-10-17", "Statement": [admin, *(g.statement("*") for g in grants)]})


# The canonical user of CloudFront's standard (legacy) log delivery, awslogsdelivery
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html)
AWSLOGSDELIVERY = "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"


@dataclass(frozen=True)
class Bucket(Shared):
    """A shared S3 bucket (the log bucket) whose policy and ACL assemble what writers ask."""

    rid: str = "logs"

    @property
    def id_ref(self) -> Ref:
        return Ref("aws_s3_bucket", self.rid, "id")

    @property
    def arn(self) -> Ref:
        return Ref("aws_s3_bucket", self.rid, "arn")

    @property
    def policy_ref(self) -> Ref:
        """The bucket policy resource: writers that check it at creation wait for it."""
        return Ref("aws_s3_bucket_policy", self.rid)

    @property
    def domain_name(self) -> Ref:
        return Ref("aws_s3_bucket", self.rid, "bucket_domain_name")

    def objects(self, *prefix: Any) -> Template:
        """Objects under ``prefix`` (``alb/AWSLogs/<account>/*``)."""
        return Template(self.arn, "/", *prefix)

    def write(self, sid: str, principal: Mapping[str, Any], prefix: tuple[Any, ...],
              condition: Mapping[str, Mapping[str, Any]] | None = None,
              actions: tuple[str, ...] = ("s3:PutObject",)) -> Grant:
        """A log writer may put objects under ``prefix``."""
        return Grant(self.id, sid, principal, actions, condition or {}, (self.objects(*prefix),))

    def read_acl(self, sid: str, service: str, condition: Mapping[str, Mapping[str, Any]] | None = None) -> Grant:
        """A log writer checks the bucket's ACL (and lists it) before delivering."""
        return Grant(self.id, sid, {"Service": service}, ("s3:GetBucketAcl", "s3:ListBucket"), condition or {}, (self.arn,))

    def acl(self, sid: str, canonical_user: str) -> Grant:
        """A writer that delivers through the bucket ACL (FULL_CONTROL for its canonical user)."""
        return Grant(self.id, sid, {"CanonicalUser": canonical_user}, ("FULL_CONTROL",), kind="acl")

    def policy_blocks(self, grants: list[Grant]) -> list[dict[str, Any]]:
        return [g.statement(self.arn) for g in grants if g.kind == "policy"]

    def acl_blocks(self, grants: list[Grant]) -> list[Block]:
        """ACLs on (BucketOwnerPreferred) with the owner and each ACL writer, when any asks."""
        writers = [g for g in grants if g.kind == "acl"]
        if not writers:
            return []
        owner = Ref("data", "aws_canonical_user_id", "current", "id")
        policy = block("access_control_policy")
        entries = [(owner, "FULL_CONTROL")] + [(g.principal["CanonicalUser"], a) for g in writers for a in g.actions]
        for grantee, permission in entries:
            policy.add(block("grant", permission=permission).add(block("grantee", id=grantee, type="CanonicalUser")))
        policy.add(block("owner", id=owner))
        return [
            data("aws_canonical_user_id", "current"),
            resource("aws_s3_bucket_acl", self.rid, policy, bucket=self.id_ref,
                     depends_on=[Ref("aws_s3_bucket_ownership_controls", self.rid)]),
        ]


GT = "GreaterThanThreshold"


@dataclass(frozen=True)
class Alarm:
    """A CloudWatch alarm a blueprint raises on its own metrics, to the alert topic."""

    rid: str
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, Any]
    threshold: float
    comparison: str = GT
    statistic: str = "Average"
    periods: int = 3

    def block(self, topic: Ref) -> Block:
        return resource(
            "aws_cloudwatch_metric_alarm",
            self.rid,
            alarm_name=Template(Ref("local", "name"), f"-{self.rid.replace('_', '-')}"),
            alarm_description=self.description,
            namespace=self.namespace,
            metric_name=self.metric,
            dimensions=dict(self.dimensions),
            statistic=self.statistic,
            period=300,
            evaluation_periods=self.periods,
            comparison_operator=self.comparison,
            threshold=self.threshold,
            treat_missing_data="notBreaching",
            alarm_actions=[topic],
            ok_actions=[topic],
        )


@dataclass(frozen=True)
class Topic(Shared):
    """The alert topic: its policy lets each publisher publish; the key lets them encrypt."""

    arn: Ref = Ref("aws_sns_topic", "alerts", "arn")

    def publish(self, service: str, sid: str, condition: Mapping[str, Mapping[str, Any]] | None = None) -> Grant:
        """``service`` publishes to the topic (CloudWatch alarms, AWS Budgets, EventBridge)
        (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services)."""
        return Grant(self.id, sid, {"Service": service}, ("sns:Publish",),
                     condition or {"StringEquals": {"aws:SourceAccount": ACCOUNT}})

    def alarms(self, ctx: Any, out: Any, *alarms: Alarm) -> None:
        """Raise ``alarms`` to the topic when the design has it (CloudWatch may then publish)."""
        if not alarms or not ctx.has(self.id):
            return
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
        out.ask(self.publish("cloudwatch.amazonaws.com", "CloudWatchAlarms"))
        out.add("monitoring.tf", *(a.block(self.arn) for a in alarms))

    def policy(self, grants: list[Grant]) -> Call:
        statements = [g.statement(self.arn) for g in grants]
        if not statements:  # nothing publishes yet: the account alone may
            statements = [{"Sid": "AccountPublishes", "Effect": "Allow",
                           "Principal": {"AWS": Template("arn:", PARTITION, ":iam::", ACCOUNT, ":root")},
                           "Action": "sns:Publish", "Resource": self.arn}]
        return jsonencode({"Version": "2012-10-17", "Statement": statements})

    def key_grants(self, grants: list[Grant]) -> list[Grant]:
        """What the key must allow each publisher of the encrypted topic."""
        return [KEY.service(f"{g.sid}Encrypt", g.principal["Service"]) for g in grants]


@dataclass(frozen=True)
class Binding:
    """What a data store, cache or queue offers the application that uses it: its endpoints as
    environment, its secrets as Secrets Manager references (name -> (secret ARN, JSON key)),
    and the port of its security group the application must reach."""

    to: str
    sid: str
    env: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, tuple[Any, str | None]] = field(default_factory=dict)
    port: int | None = None
    security_group: Ref | None = None
    # what the application's role may do on the store (IAM statements)
    statements: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class App(Shared):
    """The application (the ECS service, the instances): it assembles what the stores offer."""

    def bind(self, sid: str, *, env: Mapping[str, Any] | None = None,
             secrets: Mapping[str, tuple[Any, str | None]] | None = None,
             port: int | None = None, security_group: Ref | None = None,
             statements: tuple[Mapping[str, Any], ...] = ()) -> Binding:
        return Binding(self.id, sid, env or {}, secrets or {}, port, security_group, statements)


@dataclass(frozen=True)
class Protection:
    """A store asks the backup plan to keep copies of it (its ARN joins the plan's selection)."""

    to: str
    sid: str
    arn: Any


@dataclass(frozen=True)
class BackupPlan(Shared):
    """The AWS Backup plan: its selection assembles the stores that ask to be backed up."""

    def protect(self, sid: str, arn: Any) -> Protection:
        return Protection(self.id, sid, arn)


Ask = Grant | Binding | Protection


def bindings(asks: list[Ask]) -> list[Binding]:
    return [a for a in asks if isinstance(a, Binding)]


def grants(asks: list[Ask]) -> list[Grant]:
    return [a for a in asks if isinstance(a, Grant)]


def protections(asks: list[Ask]) -> list[Protection]:
    return [a for a in asks if isinstance(a, Protection)]


KEY = Key("kms")
BACKUP = BackupPlan("backup")
APP = App("app")
LOG_BUCKET = Bucket("logs_bucket")
ALERTS = Topic("alarms", forwards_to=("kms",))


def log_group(ctx: Any, out: Any, rid: str, name: Any, *, encrypted: bool = True, **attrs: Any) -> Block:
    """A CloudWatch log group kept a year in production and a month elsewhere (the environment's
    variation, said on the block), encrypted with the module's key when ``encrypted`` (asking
    the key for the regional CloudWatch Logs principal)."""
    if encrypted:
        attrs["kms_key_id"] = KEY.arn
        out.ask(KEY.logs())
    production = ctx.req.production
    group = resource("aws_cloudwatch_log_group", rid, name=name, retention_in_days=365 if production else 30, **attrs)
    if not production:
        group.skip("CKV_AWS_338", f"{ctx.req.environment} environment: 30 days of logs keep cost down; production keeps a year")
    return group


# ports a load balancer listens on (HTTP, HTTPS) and ports no application is exposed on
EDGE_PORTS = frozenset({80, 443})
ADMIN_PORTS = frozenset({22, 3389})
DEFAULT_APP_PORT = 8080


def app_ports(req: Any) -> list[int]:
    """The ports the application listens on: those the request names (other than the load
    balancer's 80/443 and the administrative 22/3389, which stay closed), else 8080; the first
    is the one the load balancer forwards to."""
    named = [p for p in req.ports if p not in EDGE_PORTS | ADMIN_PORTS]
    return named or [DEFAULT_APP_PORT]


def app_port(req: Any) -> int:
    return app_ports(req)[0]


# -- typed handles of what blueprints provide each other -----------------------------------------
@dataclass(frozen=True)
class SecurityGroup:
    """A security group a blueprint owns and others refer to (as a source or a destination)."""

    rid: str

    @property
    def id(self) -> Ref:
        return Ref("aws_security_group", self.rid, "id")


@dataclass(frozen=True)
class Network(Shared):
    """The VPC blueprint's network: the VPC, its address block and its subnet tiers (one subnet
    of each tier per AZ, ``count``-indexed)."""

    TIERS = ("public", "private", "data")

    @property
    def vpc_id(self) -> Ref:
        return Ref("aws_vpc", "main", "id")

    @property
    def cidr_block(self) -> Ref:
        return Ref("aws_vpc", "main", "cidr_block")

    def subnet_ids(self, tier: str) -> Ref:
        """Every subnet of a tier (``aws_subnet.<tier>[*].id``)."""
        return Ref("aws_subnet", self._tier(tier), "*", "id")

    def subnet_id(self, tier: str, index: int | Any) -> Ref:
        """The subnet of a tier in one AZ (``aws_subnet.<tier>[i].id``)."""
        return Ref("aws_subnet", self._tier(tier), index, "id")

    @property
    def public_subnet_ids(self) -> Ref:
        return self.subnet_ids("public")

    @property
    def private_subnet_ids(self) -> Ref:
        return self.subnet_ids("private")

    @property
    def data_subnet_ids(self) -> Ref:
        return self.subnet_ids("data")

    @property
    def internet_gateway(self) -> Ref:
        return Ref("aws_internet_gateway", "main")

    def _tier(self, tier: str) -> str:
        if tier not in self.TIERS:
            raise ValidationError(f"the network has no {tier!r} subnets", hint=f"choose from {', '.join(self.TIERS)}")
        return tier


@dataclass(frozen=True)
class LoadBalancer:
    """The load balancer blueprint's balancer and its application target group."""

    @property
    def arn(self) -> Ref:
        return Ref("aws_lb", "main", "arn")

    @property
    def dns_name(self) -> Ref:
        return Ref("aws_lb", "main", "dns_name")

    @property
    def zone_id(self) -> Ref:
        return Ref("aws_lb", "main", "zone_id")

    @property
    def arn_suffix(self) -> Ref:
        return Ref("aws_lb", "main", "arn_suffix")

    @property
    def target_group_arn(self) -> Ref:
        return Ref("aws_lb_target_group", "app", "arn")

    @property
    def target_group_arn_suffix(self) -> Ref:
        return Ref("aws_lb_target_group", "app", "arn_suffix")


@dataclass(frozen=True)
class Certificate:
    """A validated ACM certificate (``main``: in the region, for the load balancer; ``cdn``: in
    us-east-1, for CloudFront): consumers take the ARN once validation finished."""

    rid: str

    @property
    def arn(self) -> Ref:
        return Ref("aws_acm_certificate_validation", self.rid, "certificate_arn")


@dataclass(frozen=True)
class WebAcl:
    """The WAF web ACL the edge (CloudFront, or a regional load balancer) is guarded by."""

    @property
    def arn(self) -> Ref:
        return Ref("aws_wafv2_web_acl", "main", "arn")


@dataclass(frozen=True)
class Distribution:
    @property
    def arn(self) -> Ref:
        return Ref("aws_cloudfront_distribution", "main", "arn")

    @property
    def domain_name(self) -> Ref:
        return Ref("aws_cloudfront_distribution", "main", "domain_name")

    @property
    def hosted_zone_id(self) -> Ref:
        return Ref("aws_cloudfront_distribution", "main", "hosted_zone_id")


@dataclass(frozen=True)
class BucketHandle:
    """A bucket another blueprint reads from or notifies on (the site's, the application's)."""

    rid: str

    @property
    def id(self) -> Ref:
        return Ref("aws_s3_bucket", self.rid, "id")

    @property
    def arn(self) -> Ref:
        return Ref("aws_s3_bucket", self.rid, "arn")

    @property
    def regional_domain_name(self) -> Ref:
        return Ref("aws_s3_bucket", self.rid, "bucket_regional_domain_name")


@dataclass(frozen=True)
class Function:
    @property
    def arn(self) -> Ref:
        return Ref("aws_lambda_function", "main", "arn")

    @property
    def name(self) -> Ref:
        return Ref("aws_lambda_function", "main", "function_name")

    @property
    def invoke_arn(self) -> Ref:
        return Ref("aws_lambda_function", "main", "invoke_arn")


@dataclass(frozen=True)
class Queue:
    """The work queue (and its dead-letter queue)."""

    @property
    def arn(self) -> Ref:
        return Ref("aws_sqs_queue", "main", "arn")

    @property
    def url(self) -> Ref:
        return Ref("aws_sqs_queue", "main", "url")

    @property
    def name(self) -> Ref:
        return Ref("aws_sqs_queue", "main", "name")

    @property
    def visibility_timeout(self) -> int:
        return VISIBILITY_TIMEOUT


# a consumer's longest run must fit in it (Lambda refuses a queue whose visibility timeout is
# shorter than the function's timeout; AWS recommends six times the function's timeout)
VISIBILITY_TIMEOUT = 180

NETWORK = Network("vpc")
WEB_ACL = WebAcl()
APP_SG = SecurityGroup("app")
LB_SG = SecurityGroup("alb")
DB_SG = SecurityGroup("db")
CACHE_SG = SecurityGroup("redis")
LB = LoadBalancer()
REGIONAL_CERT = Certificate("main")
CDN_CERT = Certificate("cdn")
CDN = Distribution()
SITE_BUCKET = BucketHandle("site")
APP_BUCKET = BucketHandle("app")
FUNCTION = Function()
QUEUE = Queue()
