"""Edge blueprints: load balancer with HTTPS, ACM certificates and Route 53 records."""

from __future__ import annotations

from typing import Any

from agents.catalog.base import (
    SERVERS,
    BuildContext,
    Facts,
    Fragment,
    blueprint,
    outside_production,
    runs_on,
)
from agents.catalog.shared import (
    ACCOUNT,
    ALERTS,
    CDN,
    LB,
    LB_SG,
    LOG_BUCKET,
    NETWORK,
    REGIONAL_CERT,
    Alarm,
    app_port,
)
from agents.requirements import Requirements
from core.terraform.model import (
    Block,
    ForList,
    ForMap,
    Ref,
    Template,
    block,
    data,
    local,
    output,
    resource,
    var,
    variable,
)

US_EAST_1 = Ref("aws", "us_east_1")
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CDN_ORIGIN_REASON = (
    "only CloudFront reaches this listener (origin-facing prefix list, inside AWS's network); "
    "viewers get HTTPS at CloudFront"
)
CF_PREFIX_LIST = Ref("data", "aws_ec2_managed_prefix_list", "cloudfront", "id")

# Regions opened before August 2022 deliver load balancer access logs as a regional ELB account
# (data.aws_elb_service_account); later ones as the log delivery service principal
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html)
ELB_ACCOUNT_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-north-1",
    "me-south-1", "sa-east-1", "us-gov-west-1", "us-gov-east-1",
})
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"


def elb_access_logs(ctx: BuildContext, out: Fragment, lb: Block, prefix: str) -> None:
    """Access logs of load balancer ``lb`` into the log bucket (SSE-S3, as ELB requires), asking
    the bucket to let the region's ELB log writer put them: the log delivery principal always,
    and the regional ELB account where the region has one. The load balancer waits for the
    policy: ELB checks it can write when access logs are switched on."""
    if not ctx.has(LOG_BUCKET.id):
        return
    path = (f"{prefix}/AWSLogs/", ACCOUNT, "/*")
    out.ask(LOG_BUCKET.write("ElbLogDelivery", {"Service": ELB_LOG_DELIVERY}, path))
    if (ctx.req.region or "") in ELB_ACCOUNT_REGIONS:
        out.add("edge.tf", data("aws_elb_service_account", "main"))
        out.ask(LOG_BUCKET.write("ElbRegionalAccount", {"AWS": Ref("data", "aws_elb_service_account", "main", "arn")}, path))
    lb.add(block("access_logs", bucket=LOG_BUCKET.id_ref, prefix=prefix, enabled=True))
    lb.set("depends_on", [LOG_BUCKET.policy_ref])


def domain_variable(ctx: BuildContext) -> Block:
    return variable("domain_name", "string", "Domain name served over HTTPS", ctx.req.domain or "example.com")


def _cert(rid: str, provider: Ref | None) -> list[Block]:
    attrs: dict[str, Any] = {"domain_name": var("domain_name"), "validation_method": "DNS"}
    if provider is not None:
        attrs["provider"] = provider
    cert = resource("aws_acm_certificate", rid, block("lifecycle", create_before_destroy=True), **attrs)
    record = resource(
        "aws_route53_record",
        f"{rid}_validation",
        for_each=_validation_records(rid),
        zone_id=Ref("data", "aws_route53_zone", "main", "zone_id"),
        name=Ref("each", "value", "name"),
        type=Ref("each", "value", "type"),
        records=[Ref("each", "value", "record")],
        ttl=60,
        allow_overwrite=True,
    )
    validation_attrs: dict[str, Any] = {
        "certificate_arn": Ref("aws_acm_certificate", rid, "arn"),
        # the records are a for_each map: a splat ([*]) does not reach into it, a for does
        "validation_record_fqdns": ForList(
            "record", Ref("aws_route53_record", f"{rid}_validation"), Ref("record", "fqdn")),
    }
    if provider is not None:
        validation_attrs["provider"] = provider
    return [cert, record, resource("aws_acm_certificate_validation", rid, **validation_attrs)]


def _validation_records(rid: str) -> Any:
    """``{ for dvo in aws_acm_certificate.x.domain_validation_options : dvo.domain_name => {...} }``."""
    return ForMap(
        "dvo",
        Ref("aws_acm_certificate", rid, "domain_validation_options"),
        Ref("dvo", "domain_name"),
        {"name": Ref("dvo", "resource_record_name"), "record": Ref("dvo", "resource_record_value"), "type": Ref("dvo", "resource_record_type")},
    )


def domain_names(req: Requirements) -> tuple[str, ...]:
    """A domain for a certificate brings the certificate and its DNS records along."""
    return ("acm", "route53") if req.domain else ()


@blueprint(
    "acm",
    title="ACM certificate",
    concern="edge.tf",
    why="Certificates from ACM renew themselves; DNS validation through Route 53 needs no "
    "manual step. CloudFront's certificate lives in us-east-1 as CloudFront requires.",
    requires=("route53",),
    component="ACM certificate",
    words=r"\bacm\b|certificate|\bhttps\b|\btls\b|\bssl\b",
    # a certificate is for a domain, served by a load balancer or CloudFront
    facts=Facts(fits=lambda req, chosen: bool(req.domain) and bool(chosen & {"alb", "cloudfront"})),
)
def acm(ctx: BuildContext) -> Fragment:
    out = Fragment()
    # the load balancer's own certificate (behind CloudFront too: CloudFront reaches it over
    # HTTPS, checking the certificate against the Host header it forwards)
    if ctx.has("alb"):
        out.add("edge.tf", *_cert("main", None))
    if ctx.has("cloudfront"):
        out.add("edge.tf", *_cert("cdn", US_EAST_1))
        out.providers.add("us_east_1")
    regional = ctx.has("alb") and not ctx.has("cloudfront")
    out.node("aws_acm_certificate.main" if regional else "aws_acm_certificate.cdn", "ACM certificate", "acm", "region")
    return out


@blueprint(
    "route53",
    title="Route 53 records",
    concern="dns.tf",
    why="Alias records point the domain at the load balancer or CDN at no query cost; the zone "
    "is looked up, not created, so an existing domain keeps its other records.",
    component="Route 53 records",
    words=r"route ?53|\bdns\b|hosted zone",
    facts=Facts(direct=True, fits=lambda req, _chosen: bool(req.domain)),
)
def route53(ctx: BuildContext) -> Fragment:
    out = Fragment()
    domain = ctx.req.domain or "example.com"
    apex = ".".join(domain.split(".")[-2:])
    out.variables += [
        domain_variable(ctx),
        variable("hosted_zone_name", "string", "Existing public Route 53 zone that holds the domain", apex),
    ]
    out.add("dns.tf", data("aws_route53_zone", "main", name=var("hosted_zone_name"), private_zone=False))
    target = None
    if ctx.has("cloudfront"):
        target = (CDN.domain_name, CDN.hosted_zone_id)
    elif ctx.has("alb"):
        target = (LB.dns_name, LB.zone_id)
    if target:
        out.add(
            "dns.tf",
            resource(
                "aws_route53_record",
                "app",
                block("alias", name=target[0], zone_id=target[1], evaluate_target_health=True),
                zone_id=Ref("data", "aws_route53_zone", "main", "zone_id"),
                name=var("domain_name"),
                type="A",
            ),
        )
        out.outputs.append(output("url", Template("https://", var("domain_name")), "Where the application answers"))
    out.node("data.aws_route53_zone.main", "Route 53", "route53", "global")
    return out


def _edge(req: Requirements) -> tuple[str, ...]:
    """HTTPS at the edge when there is no domain for a certificate (CloudFront's default one),
    unless the application is internal or the balancer carries TCP; a domain brings its
    certificate and records."""
    cdn = () if req.domain or req.load_balancer == "network" or req.internal else ("cloudfront",)
    return cdn + domain_names(req)


@blueprint(
    "alb",
    title="Application Load Balancer",
    concern="edge.tf",
    why="The ALB terminates TLS 1.3 with an ACM certificate, redirects HTTP to HTTPS, drops "
    "invalid headers and writes access logs; only it is reachable from the internet (an internal "
    "application's sits in the private subnets, reached from inside the VPC only).",
    requires=("vpc",),
    after=("logs_bucket", "acm"),
    component="Application Load Balancer",
    words=r"load balancer|\balb\b|\belb\b",
    facts=Facts(
        wanted=lambda req, _chosen: req.workload in {"web_app", "api"} and runs_on(req) in SERVERS,
        implies=_edge,
        # a load balancer needs servers behind it
        fits=lambda _req, chosen: bool(chosen & SERVERS),
        direct=True,
    ),
)
def alb(ctx: BuildContext) -> Fragment:
    if ctx.req.load_balancer == "network":
        from agents.catalog.nlb import network_load_balancer

        return network_load_balancer(ctx)
    out = Fragment()
    # behind CloudFront the load balancer takes HTTP from CloudFront's edge only, so the WAF on
    # CloudFront cannot be bypassed; viewers get HTTPS (and the domain's certificate) at the edge
    behind_cdn = ctx.has("cloudfront")
    internal = bool(ctx.req.internal)
    https = ctx.req.domain is not None and ctx.has("acm")
    lb = resource(
        "aws_lb",
        "main",
        name=ctx.short_name("alb", "alb", 32),
        load_balancer_type="application",
        internal=internal,
        security_groups=[LB_SG.id],
        subnets=NETWORK.private_subnet_ids if internal else NETWORK.public_subnet_ids,
        drop_invalid_header_fields=True,
        enable_deletion_protection=ctx.req.production,
    )
    outside_production(ctx, lb, "CKV_AWS_150", "no deletion protection, so it can be torn down freely")
    if not ctx.has("waf") or behind_cdn:  # (behind CloudFront, its WAF guards the way in)
        outside_production(ctx, lb, "CKV2_AWS_28", "no WAF (≈ $10/month); production adds one")
    elb_access_logs(ctx, out, lb, "alb")
    # the program a blueprint brings says where it answers its health check and how long a
    # response may take (a model server generating a long answer)
    program = ctx.program()
    path, codes = (program.health_path, program.health_codes) if program else ("/", "200-399")
    if program and program.timeout != 60:
        lb.set("idle_timeout", program.timeout)
    target_group = resource(
        "aws_lb_target_group",
        "app",
        block("health_check", path=path, matcher=codes, healthy_threshold=2, unhealthy_threshold=3, interval=15),
        name_prefix="app-",
        port=app_port(ctx),
        protocol="HTTP",
        target_type="ip" if ctx.has("ecs") else "instance",
        vpc_id=NETWORK.vpc_id,
        deregistration_delay=30,
    )
    out.add("edge.tf", *_alb_security_group(https, behind_cdn, internal), lb, target_group, *_alb_listeners(ctx, lb, https, behind_cdn))
    out.why = _alb_why(https, behind_cdn, internal)
    if internal:
        out.notes.append("The load balancer is internal (private subnets, no public address): it answers only inside the "
                         "VPC; reach it through a VPN or AWS Client VPN into the VPC, or a Session Manager port forward.")
    lb_dim = {"LoadBalancer": LB.arn_suffix}
    ALERTS.alarms(
        ctx, out,
        Alarm("alb_5xx", "The load balancer answers 5xx errors", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lb_dim, 10, statistic="Sum"),
        Alarm("alb_latency", "Targets answer slower than 1 s", "AWS/ApplicationELB", "TargetResponseTime",
              {**lb_dim, "TargetGroup": LB.target_group_arn_suffix}, 1),
    )
    out.outputs.append(output("alb_dns_name", LB.dns_name, "DNS name of the load balancer"))
    out.node("aws_lb.main", "Application Load Balancer" + (" (internal)" if internal else ""), "alb", "private" if internal else "public")
    return out


ALB_SG = LB_SG.id


def _alb_why(https: bool, behind_cdn: bool, internal: bool) -> str:
    """What this load balancer does, as its listeners and security group have it."""
    common = "drops invalid headers, writes access logs and sends traffic to the application's port only"
    if internal:
        way = ("terminates TLS 1.3 with an ACM certificate and redirects HTTP to HTTPS" if https else
               "answers plain HTTP on port 80 (no domain was given for a certificate)")
        return (f"An internal load balancer in the private subnets, reached from inside the VPC only: it {way}, "
                f"{common}.")
    if behind_cdn:
        way = ("takes HTTPS (TLS 1.3, ACM certificate) from CloudFront only" if https else
               "takes HTTP from CloudFront's origin-facing addresses only (viewers get HTTPS at CloudFront)")
        return f"Behind CloudFront, the load balancer {way}, {common}."
    if https:
        return ("The load balancer terminates TLS 1.3 with an ACM certificate and redirects HTTP to HTTPS, "
                f"{common}; only it is reachable from the internet.")
    return ("The load balancer answers plain HTTP on port 80 from the internet (no domain was given for a "
            f"certificate: give one for HTTPS), {common}.")


def _alb_security_group(https: bool, behind_cdn: bool, internal: bool = False) -> list[Block]:
    """In: HTTPS (and the redirecting port 80) from anywhere, port 80 from CloudFront only, or,
    for an internal application, from inside the VPC only."""
    blocks: list[Block] = [
        resource(
            "aws_security_group",
            LB_SG.rid,
            name_prefix=Template(local("name"), "-alb-"),
            description="Load balancer: in from its clients, out to the application only",
            vpc_id=NETWORK.vpc_id,
        ),
    ]
    if internal:
        blocks.append(ingress_rule("alb_https", ALB_SG, 443 if https else 80,
                                   "From inside the VPC (VPN, Session Manager)", cidr=NETWORK.cidr_block))
        if https:
            blocks.append(ingress_rule("alb_http", ALB_SG, 80, "HTTP from inside the VPC, redirected to HTTPS", cidr=NETWORK.cidr_block))
        return blocks
    if behind_cdn:
        blocks.append(data("aws_ec2_managed_prefix_list", "cloudfront", name="com.amazonaws.global.cloudfront.origin-facing"))
        if https:
            blocks.append(ingress_rule("alb_https", ALB_SG, 443, "HTTPS from CloudFront only", prefix_list=CF_PREFIX_LIST))
            return blocks
        blocks.append(
            ingress_rule("alb_http", ALB_SG, 80, "HTTP from CloudFront only", prefix_list=CF_PREFIX_LIST).skip(
                "CKV_AWS_260", "the source is CloudFront's origin-facing prefix list, not the internet"
            )
        )
        return blocks
    blocks.append(ingress_rule("alb_https", ALB_SG, 443 if https else 80, "Clients over HTTPS" if https else "Clients", cidr="0.0.0.0/0"))
    if https:
        blocks.append(
            ingress_rule("alb_http", ALB_SG, 80, "HTTP, redirected to HTTPS", cidr="0.0.0.0/0").skip(
                "CKV_AWS_260", "port 80 only answers with a permanent redirect to HTTPS"
            )
        )
    return blocks


def _alb_listeners(ctx: BuildContext, lb: Block, https: bool, behind_cdn: bool) -> list[Block]:
    """HTTPS with TLS 1.3 plus a redirect from HTTP; HTTPS only when CloudFront fronts it with a
    domain; plain HTTP from CloudFront's edge when there is no domain for a certificate."""
    lb_arn = LB.arn
    forward = block("default_action", type="forward", target_group_arn=LB.target_group_arn)
    if https and behind_cdn:
        lb.skip("CKV2_AWS_20", "no HTTP listener: only CloudFront reaches this load balancer, over HTTPS")
        if ctx.has("waf"):
            lb.skip("CKV2_AWS_28", "the WAF web ACL guards CloudFront, the only way in to this load balancer")
        return [resource("aws_lb_listener", "https", forward, load_balancer_arn=lb_arn, port=443, protocol="HTTPS",
                         ssl_policy=TLS_POLICY, certificate_arn=REGIONAL_CERT.arn)]
    if https:
        redirect = block("default_action", type="redirect")
        redirect.add(block("redirect", port="443", protocol="HTTPS", status_code="HTTP_301"))
        return [
            resource(
                "aws_lb_listener",
                "https",
                forward,
                load_balancer_arn=lb_arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                certificate_arn=REGIONAL_CERT.arn,
            ),
            resource("aws_lb_listener", "http", redirect, load_balancer_arn=lb_arn, port=80, protocol="HTTP"),
        ]
    listener = resource("aws_lb_listener", "http", forward, load_balancer_arn=lb_arn, port=80, protocol="HTTP")
    if ctx.req.internal:
        reason = "an internal load balancer without a domain for a certificate: reached only from inside the VPC"
        for check in ("CKV_AWS_2", "CKV_AWS_103"):
            listener.skip(check, reason)
        lb.skip("CKV2_AWS_20", reason)
    if behind_cdn:
        for check in ("CKV_AWS_2", "CKV_AWS_103"):
            listener.skip(check, CDN_ORIGIN_REASON)
        lb.skip("CKV2_AWS_20", CDN_ORIGIN_REASON)
        if ctx.has("waf"):
            lb.skip("CKV2_AWS_28", "the WAF web ACL guards CloudFront, the only way in to this load balancer")
    return [listener]


def ingress_rule(rid: str, sg: Ref, port: int, description: str, *, cidr: str | Ref | None = None, prefix_list: Ref | None = None, source_sg: Ref | None = None) -> Block:
    attrs: dict[str, Any] = {"security_group_id": sg, "description": description, "ip_protocol": "tcp", "from_port": port, "to_port": port}
    if cidr is not None:
        attrs["cidr_ipv4"] = cidr
    if prefix_list is not None:
        attrs["prefix_list_id"] = prefix_list
    if source_sg is not None:
        attrs["referenced_security_group_id"] = source_sg
    return resource("aws_vpc_security_group_ingress_rule", rid, **attrs)
