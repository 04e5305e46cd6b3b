"""Edge blueprints in front of the origin: CloudFront and WAF."""

from __future__ import annotations

from typing import Any

from agents.catalog.base import (
    BuildContext,
    Facts,
    Fragment,
    blueprint,
    hardened,
    outside_production,
)
from agents.catalog.edge import US_EAST_1, domain_names
from agents.catalog.shared import (
    AWSLOGSDELIVERY,
    CDN,
    CDN_CERT,
    LB,
    LOG_BUCKET,
    SITE_BUCKET,
    WEB_ACL,
    log_group,
)
from core.terraform.model import Block, Ref, Template, block, data, local, output, resource, var

# regions whose buckets CloudFront delivers no standard logs to
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html)
NO_STANDARD_LOGS = frozenset({
    "af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
    "ca-west-1", "eu-south-1", "eu-south-2", "eu-central-2", "il-central-1", "me-south-1", "me-central-1", "mx-central-1",
})


@blueprint(
    "cloudfront",
    title="CloudFront distribution",
    concern="cdn.tf",
    why="CloudFront serves from the edge over HTTPS only (TLS 1.2+), caches static content and "
    "shields the origin; PriceClass_100 keeps the bill to the cheapest edge locations.",
    after=("site", "alb", "acm", "logs_bucket", "waf"),
    component="CloudFront distribution",
    words=r"cloudfront|\bcdn\b|edge cach",
    facts=Facts(
        wanted=lambda req, _chosen: req.workload == "static_site",
        implies=domain_names,
        # an origin to serve (the site's bucket or the load balancer), and a public application
        fits=lambda req, chosen: bool(chosen & {"site", "alb"}) and not req.internal,
        direct=True,
        removable=True,
    ),
)
def cloudfront(ctx: BuildContext) -> Fragment:
    out = Fragment()
    to_site = ctx.has("site")
    custom_domain = ctx.req.domain is not None and ctx.has("acm")
    origin_blocks, origin = _origin(ctx, to_site)
    cache = _cache_behavior(to_site)
    restrictions = block("restrictions").add(block("geo_restriction", restriction_type="none"))
    viewer = (
        block("viewer_certificate", acm_certificate_arn=CDN_CERT.arn, ssl_support_method="sni-only", minimum_protocol_version="TLSv1.2_2021")
        if custom_domain
        else block("viewer_certificate", cloudfront_default_certificate=True)
    )
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
        price_class="PriceClass_100",
        http_version="http2and3",
    )
    if to_site:
        dist.set("default_root_object", "index.html")
    if custom_domain:
        dist.set("aliases", [var("domain_name")])
    if ctx.has("waf"):
        dist.set("web_acl_id", WEB_ACL.arn)
    else:
        for check in ("CKV_AWS_68", "CKV2_AWS_47"):
            outside_production(ctx, dist, check, "no WAF (≈ $10/month); production adds one")
    if ctx.has(LOG_BUCKET.id) and ctx.req.region in NO_STANDARD_LOGS:
        dist.skip("CKV_AWS_86", f"CloudFront delivers no standard logs to buckets in {ctx.req.region}, where the log bucket is")
        out.notes.append(f"CloudFront access logs are off: CloudFront delivers no standard logs to S3 buckets in {ctx.req.region}; "
                         "turn on its CloudWatch Logs delivery (v2) in us-east-1 if you need them.")
    elif ctx.has(LOG_BUCKET.id):
        # standard logs are written by awslogsdelivery through the bucket ACL: the log bucket
        # keeps ACLs on and grants it, before the distribution is created
        # (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html)
        out.ask(LOG_BUCKET.acl("CloudFrontStandardLogs", AWSLOGSDELIVERY))
        dist.add(block("logging_config", bucket=LOG_BUCKET.domain_name, prefix="cloudfront/", include_cookies=False))
        dist.set("depends_on", [Ref("aws_s3_bucket_acl", LOG_BUCKET.rid)])
    _skips(dist, to_site, custom_domain)
    headers = data("aws_cloudfront_response_headers_policy", "security", name="Managed-SecurityHeadersPolicy")
    out.add("cdn.tf", *origin_blocks, headers, dist)
    out.outputs.append(output("cdn_domain_name", CDN.domain_name, "CloudFront hostname"))
    out.node("aws_cloudfront_distribution.main", "CloudFront", "cloudfront", "global")
    return out


def _origin(ctx: BuildContext, to_site: bool) -> tuple[list[Block], Block]:
    """The private site bucket through origin access control, or the load balancer."""
    if to_site:
        oac = resource(
            "aws_cloudfront_origin_access_control",
            "site",
            name=Template(local("name"), "-site"),
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
        )
        origin = block(
            "origin",
            domain_name=SITE_BUCKET.regional_domain_name,
            origin_id="site",
            origin_access_control_id=Ref("aws_cloudfront_origin_access_control", "site", "id"),
        )
        return [oac], origin
    # with a domain, HTTPS to the load balancer (its certificate names the domain, which the
    # forwarded Host header carries); without one there is no certificate it could present
    https = ctx.req.domain is not None and ctx.has("acm")
    origin = block("origin", domain_name=LB.dns_name, origin_id="app")
    origin.add(
        block(
            "custom_origin_config",
            http_port=80,
            https_port=443,
            origin_protocol_policy="https-only" if https else "http-only",
            origin_ssl_protocols=["TLSv1.2"],
        )
    )
    return [], origin


# AWS managed policies: CachingOptimized, CachingDisabled, AllViewer
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"


def _cache_behavior(to_site: bool) -> Block:
    """Static files cached at the edge; an application passed through uncached, all methods."""
    cache = block(
        "default_cache_behavior",
        target_origin_id="site" if to_site else "app",
        viewer_protocol_policy="redirect-to-https",
        allowed_methods=["GET", "HEAD", "OPTIONS"] if to_site else ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
        cached_methods=["GET", "HEAD"],
        compress=True,
        cache_policy_id=CACHING_OPTIMIZED if to_site else CACHING_DISABLED,
        # AWS's managed security headers: HSTS, X-Content-Type-Options, X-Frame-Options, Referrer-Policy
        response_headers_policy_id=Ref("data", "aws_cloudfront_response_headers_policy", "security", "id"),
    )
    if not to_site:
        cache.set("origin_request_policy_id", ALL_VIEWER)
    return cache


def _skips(dist: Block, to_site: bool, custom_domain: bool) -> None:
    if not to_site:
        dist.skip("CKV_AWS_305", "the application origin serves its own root path")
        dist.skip("CKV2_AWS_46", "the origin is the load balancer, not S3; the bucket only receives logs")
    dist.skip("CKV_AWS_310", "one origin; S3 and the load balancer are already redundant across AZs")
    dist.skip("CKV_AWS_374", "served worldwide by request; add a geo restriction if the business needs one")
    if not custom_domain:
        reason = "no custom domain was given: the default *.cloudfront.net certificate serves HTTPS"
        dist.skip("CKV_AWS_174", reason)
        dist.skip("CKV2_AWS_42", reason)


@blueprint(
    "waf",
    title="WAF web ACL",
    concern="waf.tf",
    why="AWS managed rules block common exploits and known bad inputs, and a rate rule slows "
    "floods, before requests reach the application; blocked requests are logged.",
    # a regional web ACL's log group is encrypted with the module's key
    requires=("kms",),
    component="WAF web ACL",
    words=r"\bwaf\b|web application firewall|firewall",
    facts=Facts(
        wanted=lambda req, chosen: hardened(req) and bool(chosen & {"alb", "cloudfront"}),
        # it guards HTTP: CloudFront, or an application load balancer (not a network one)
        fits=lambda req, chosen: "cloudfront" in chosen or ("alb" in chosen and req.load_balancer != "network"),
        direct=True,
        removable=True,
    ),
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
    logs = log_group(ctx, out, "waf", Template("aws-waf-logs-", local("name")), encrypted=not cdn, **provider)
    if cdn:
        logs.skip("CKV_AWS_158", "WAF logs for CloudFront live in us-east-1, outside the module key's region")
    logging = resource(
        "aws_wafv2_web_acl_logging_configuration",
        "main",
        log_destination_configs=[Ref("aws_cloudwatch_log_group", "waf", "arn")],
        resource_arn=WEB_ACL.arn,
        **provider,
    )
    blocks = [acl, logs, logging]
    if ctx.has("alb") and not cdn:
        blocks.append(resource("aws_wafv2_web_acl_association", "alb", resource_arn=LB.arn, web_acl_arn=WEB_ACL.arn))
    out.add("waf.tf", *blocks)
    out.node("aws_wafv2_web_acl.main", "WAF", "waf", "global" if cdn else "region")
    return out


def _visibility(name: Any) -> Block:
    return block("visibility_config", cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True)
