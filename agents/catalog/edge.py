"""Edge blueprints: ALB with HTTPS, ACM certificates, CloudFront, WAF and Route 53."""

from __future__ import annotations

from typing import Any

from agents.catalog.base import KMS_ARN, BuildContext, Fragment, blueprint, log_retention
from core.terraform.model import (
    Block,
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
    "only CloudFront reaches this listener (origin-facing prefix list); viewers get HTTPS at "
    "CloudFront, and without a domain there is no certificate for the load balancer"
)
CF_PREFIX_LIST = Ref("data", "aws_ec2_managed_prefix_list", "cloudfront", "id")


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
        "validation_record_fqdns": Ref("aws_route53_record", f"{rid}_validation", "*", "fqdn"),
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


@blueprint(
    "acm",
    title="ACM certificate",
    concern="edge.tf",
    why="Certificates from ACM renew themselves; DNS validation through Route 53 needs no "
    "manual step. CloudFront's certificate lives in us-east-1 as CloudFront requires.",
    requires=("route53",),
)
def acm(ctx: BuildContext) -> Fragment:
    out = Fragment()
    if ctx.has("alb"):
        out.add("edge.tf", *_cert("main", None))
    if ctx.has("cloudfront"):
        out.add("edge.tf", *_cert("cdn", US_EAST_1))
        out.providers.add("us_east_1")
    out.node("aws_acm_certificate.main" if ctx.has("alb") else "aws_acm_certificate.cdn", "ACM certificate", "acm", "region")
    return out


@blueprint(
    "route53",
    title="Route 53 records",
    concern="dns.tf",
    why="Alias records point the domain at the load balancer or CDN at no query cost; the zone "
    "is looked up, not created, so an existing domain keeps its other records.",
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
        target = (Ref("aws_cloudfront_distribution", "main", "domain_name"), Ref("aws_cloudfront_distribution", "main", "hosted_zone_id"))
    elif ctx.has("alb"):
        target = (Ref("aws_lb", "main", "dns_name"), Ref("aws_lb", "main", "zone_id"))
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


@blueprint(
    "alb",
    title="Application Load Balancer",
    concern="edge.tf",
    why="The ALB terminates TLS 1.3 with an ACM certificate, redirects HTTP to HTTPS, drops "
    "invalid headers and writes access logs; only it is reachable from the internet.",
    requires=("vpc",),
    after=("logs_bucket", "acm"),
)
def alb(ctx: BuildContext) -> Fragment:
    if ctx.req.load_balancer == "network":
        from agents.catalog.nlb import network_load_balancer

        return network_load_balancer(ctx)
    out = Fragment()
    https = ctx.req.domain is not None
    behind_cdn = ctx.has("cloudfront") and not https
    port = 443 if https else 80
    sg = Ref("aws_security_group", "alb", "id")
    blocks: list[Block] = [
        resource(
            "aws_security_group",
            "alb",
            name_prefix=Template(local("name"), "-alb-"),
            description="Load balancer: HTTPS from clients, traffic to the app only",
            vpc_id=Ref("aws_vpc", "main", "id"),
        ),
    ]
    if behind_cdn:
        blocks.append(data("aws_ec2_managed_prefix_list", "cloudfront", name="com.amazonaws.global.cloudfront.origin-facing"))
        blocks.append(
            _ingress("alb_http", sg, 80, "HTTP from CloudFront only", prefix_list=CF_PREFIX_LIST).skip(
                "CKV_AWS_260", "the source is CloudFront's origin-facing prefix list, not the internet"
            )
        )
    else:
        blocks.append(_ingress("alb_https", sg, port, "Clients over HTTPS" if https else "Clients", cidr="0.0.0.0/0"))
        if https:
            blocks.append(
                _ingress("alb_http", sg, 80, "HTTP, redirected to HTTPS", cidr="0.0.0.0/0").skip(
                    "CKV_AWS_260", "port 80 only answers with a permanent redirect to HTTPS"
                )
            )
    blocks.append(
        resource(
            "aws_vpc_security_group_egress_rule",
            "alb_to_vpc",
            security_group_id=sg,
            description="To application targets inside the VPC",
            ip_protocol="tcp",
            from_port=0,
            to_port=65535,
            cidr_ipv4=Ref("aws_vpc", "main", "cidr_block"),
        )
    )
    lb = resource(
        "aws_lb",
        "main",
        name=ctx.name("alb", "alb"),
        load_balancer_type="application",
        internal=False,
        security_groups=[sg],
        subnets=Ref("aws_subnet", "public", "*", "id"),
        drop_invalid_header_fields=True,
        enable_deletion_protection=ctx.req.production,
    )
    if ctx.has("logs_bucket"):
        lb.add(block("access_logs", bucket=Ref("aws_s3_bucket", "logs", "id"), prefix="alb", enabled=True))
    target_type = "ip" if ctx.has("ecs") else "instance"
    blocks += [
        lb,
        resource(
            "aws_lb_target_group",
            "app",
            block("health_check", path="/health", matcher="200-399", healthy_threshold=2, unhealthy_threshold=3, interval=15),
            name_prefix="app-",
            port=8080,
            protocol="HTTP",
            target_type=target_type,
            vpc_id=Ref("aws_vpc", "main", "id"),
            deregistration_delay=30,
        ),
    ]
    forward = block("default_action", type="forward", target_group_arn=Ref("aws_lb_target_group", "app", "arn"))
    if https:
        blocks.append(
            resource(
                "aws_lb_listener",
                "https",
                forward,
                load_balancer_arn=Ref("aws_lb", "main", "arn"),
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                certificate_arn=Ref("aws_acm_certificate_validation", "main", "certificate_arn"),
            )
        )
        redirect = block("default_action", type="redirect")
        redirect.add(block("redirect", port="443", protocol="HTTPS", status_code="HTTP_301"))
        blocks.append(resource("aws_lb_listener", "http", redirect, load_balancer_arn=Ref("aws_lb", "main", "arn"), port=80, protocol="HTTP"))
    else:
        listener = resource("aws_lb_listener", "http", forward, load_balancer_arn=Ref("aws_lb", "main", "arn"), port=80, protocol="HTTP")
        if behind_cdn:
            for check in ("CKV_AWS_2", "CKV_AWS_103"):
                listener.skip(check, CDN_ORIGIN_REASON)
            lb.skip("CKV2_AWS_20", CDN_ORIGIN_REASON)
            if ctx.has("waf"):
                lb.skip("CKV2_AWS_28", "the WAF web ACL guards CloudFront, the only way in to this load balancer")
        blocks.append(listener)
    out.add("edge.tf", *blocks)
    out.outputs.append(output("alb_dns_name", Ref("aws_lb", "main", "dns_name"), "DNS name of the load balancer"))
    out.node("aws_lb.main", "Application Load Balancer", "alb", "public")
    return out


def _ingress(rid: str, sg: Ref, port: int, description: str, *, cidr: str | None = None, prefix_list: Ref | None = None, source_sg: Ref | None = None) -> Block:
    attrs: dict[str, Any] = {"security_group_id": sg, "description": description, "ip_protocol": "tcp", "from_port": port, "to_port": port}
    if cidr:
        attrs["cidr_ipv4"] = cidr
    if prefix_list is not None:
        attrs["prefix_list_id"] = prefix_list
    if source_sg is not None:
        attrs["referenced_security_group_id"] = source_sg
    return resource("aws_vpc_security_group_ingress_rule", rid, **attrs)


ingress_rule = _ingress


@blueprint(
    "cloudfront",
    title="CloudFront distribution",
    concern="cdn.tf",
    why="CloudFront serves from the edge over HTTPS only (TLS 1.2+), caches static content and "
    "shields the origin; PriceClass_100 keeps the bill to the cheapest edge locations.",
    after=("site", "alb", "acm", "logs_bucket", "waf"),
)
def cloudfront(ctx: BuildContext) -> Fragment:
    out = Fragment()
    to_site = ctx.has("site")
    blocks: list[Block] = []
    origin_id = "site" if to_site else "app"
    if to_site:
        blocks.append(
            resource(
                "aws_cloudfront_origin_access_control",
                "site",
                name=Template(local("name"), "-site"),
                origin_access_control_origin_type="s3",
                signing_behavior="always",
                signing_protocol="sigv4",
            )
        )
        origin = block(
            "origin",
            domain_name=Ref("aws_s3_bucket", "site", "bucket_regional_domain_name"),
            origin_id=origin_id,
            origin_access_control_id=Ref("aws_cloudfront_origin_access_control", "site", "id"),
        )
    else:
        origin = block("origin", domain_name=Ref("aws_lb", "main", "dns_name"), origin_id=origin_id)
        origin.add(
            block(
                "custom_origin_config",
                http_port=80,
                https_port=443,
                origin_protocol_policy="https-only" if ctx.req.domain else "http-only",
                origin_ssl_protocols=["TLSv1.2"],
            )
        )
    custom_domain = ctx.req.domain is not None and ctx.has("acm")
    viewer = (
        block("viewer_certificate", acm_certificate_arn=Ref("aws_acm_certificate_validation", "cdn", "certificate_arn"), ssl_support_method="sni-only", minimum_protocol_version="TLSv1.2_2021")
        if custom_domain
        else block("viewer_certificate", cloudfront_default_certificate=True)
    )
    cache = block(
        "default_cache_behavior",
        target_origin_id=origin_id,
        viewer_protocol_policy="redirect-to-https",
        allowed_methods=["GET", "HEAD", "OPTIONS"] if to_site else ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
        cached_methods=["GET", "HEAD"],
        compress=True,
        cache_policy_id="658327ea-f89d-4fab-a63d-7e88639e58f6" if to_site else "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    )
    # AWS's managed security headers: HSTS, X-Content-Type-Options, X-Frame-Options, Referrer-Policy
    blocks.append(data("aws_cloudfront_response_headers_policy", "security", name="Managed-SecurityHeadersPolicy"))
    cache.set("response_headers_policy_id", Ref("data", "aws_cloudfront_response_headers_policy", "security", "id"))
    if not to_site:
        cache.set("origin_request_policy_id", "216adef6-5c7f-47e4-b989-5492eafa07d3")
    restrictions = block("restrictions")
    restrictions.add(block("geo_restriction", restriction_type="none"))
    dist = resource(
        "aws_cloudfront_distribution",
        "main",
        origin,
        cache,
        restrictions,
        viewer,
        enabled=True,
        is_ipv6_enabled=True,
        comment=Template(local("name")),
        default_root_object="index.html" if to_site else None,
        price_class="PriceClass_100",
        http_version="http2and3",
    )
    if not to_site:
        dist.attrs.pop("default_root_object")
    if not to_site:
        dist.skip("CKV_AWS_305", "the application origin serves its own root path")
    dist.skip("CKV_AWS_310", "one origin; S3 and the load balancer are already redundant across AZs")
    dist.skip("CKV_AWS_374", "served worldwide by request; add a geo restriction if the business needs one")
    if not custom_domain:
        reason = "no custom domain was given: the default *.cloudfront.net certificate serves HTTPS"
        dist.skip("CKV_AWS_174", reason)
        dist.skip("CKV2_AWS_42", reason)
    if custom_domain:
        dist.set("aliases", [var("domain_name")])
    if ctx.has("waf"):
        dist.set("web_acl_id", Ref("aws_wafv2_web_acl", "main", "arn"))
    if ctx.has("logs_bucket"):
        dist.add(block("logging_config", bucket=Ref("aws_s3_bucket", "logs", "bucket_domain_name"), prefix="cloudfront/", include_cookies=False))
    blocks.append(dist)
    out.add("cdn.tf", *blocks)
    out.outputs.append(output("cdn_domain_name", Ref("aws_cloudfront_distribution", "main", "domain_name"), "CloudFront hostname"))
    out.node("aws_cloudfront_distribution.main", "CloudFront", "cloudfront", "global")
    return out


@blueprint(
    "waf",
    title="WAF web ACL",
    concern="waf.tf",
    why="AWS managed rules block common exploits and known bad inputs, and a rate rule slows "
    "floods, before requests reach the application; blocked requests are logged.",
)
def waf(ctx: BuildContext) -> Fragment:
    out = Fragment()
    cdn = ctx.has("cloudfront")
    scope = "CLOUDFRONT" if cdn else "REGIONAL"
    provider: dict[str, Any] = {"provider": US_EAST_1} if cdn else {}
    if cdn:
        out.providers.add("us_east_1")
    acl = resource(
        "aws_wafv2_web_acl",
        "main",
        block("default_action").add(block("allow")),
        name=Template(local("name"), "-web-acl"),
        scope=scope,
        **provider,
    )
    for priority, group in enumerate(("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesAnonymousIpList")):
        rule = block("rule", name=group, priority=priority)
        rule.add(block("override_action").add(block("none")))
        rule.add(block("statement").add(block("managed_rule_group_statement", name=group, vendor_name="AWS")))
        rule.add(_visibility(group))
        acl.add(rule)
    rate = block("rule", name="rate-limit", priority=10)
    rate.add(block("action").add(block("block")))
    rate.add(block("statement").add(block("rate_based_statement", limit=2000, aggregate_key_type="IP")))
    rate.add(_visibility("rate-limit"))
    acl.add(rate, _visibility(Template(local("name"), "-web-acl")))
    log_group = resource(
        "aws_cloudwatch_log_group",
        "waf",
        name=Template("aws-waf-logs-", local("name")),
        retention_in_days=log_retention(ctx),
        **provider,
    )
    if cdn:
        log_group.skip("CKV_AWS_158", "WAF logs for CloudFront live in us-east-1, outside the module key's region")
    else:
        log_group.set("kms_key_id", KMS_ARN)
    logging = resource(
        "aws_wafv2_web_acl_logging_configuration",
        "main",
        log_destination_configs=[Ref("aws_cloudwatch_log_group", "waf", "arn")],
        resource_arn=Ref("aws_wafv2_web_acl", "main", "arn"),
        **provider,
    )
    blocks = [acl, log_group, logging]
    if ctx.has("alb") and not cdn:
        blocks.append(resource("aws_wafv2_web_acl_association", "alb", resource_arn=Ref("aws_lb", "main", "arn"), web_acl_arn=Ref("aws_wafv2_web_acl", "main", "arn")))
    out.add("waf.tf", *blocks)
    out.node("aws_wafv2_web_acl.main", "WAF", "waf", "global" if cdn else "region")
    return out


def _visibility(name: Any) -> Block:
    return block("visibility_config", cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True)


__all__ = ["acm", "alb", "cloudfront", "waf", "route53", "ingress_rule"]
