"""The network load balancer variant of the load balancer blueprint (TCP/TLS, layer 4)."""

from __future__ import annotations

from typing import Any

from agents.catalog.base import BuildContext, Fragment, outside_production
from agents.catalog.shared import ACCOUNT, LB, LB_SG, LOG_BUCKET, NETWORK, REGIONAL_CERT, app_port
from core.terraform.model import Block, Template, block, local, output, resource

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def network_load_balancer(ctx: BuildContext) -> Fragment:
    """An NLB across the public subnets (private when internal): TLS with ACM when there is a domain,
    TCP otherwise."""
    out = Fragment()
    internal = bool(ctx.req.internal)
    tls = ctx.req.domain is not None and ctx.has("acm")
    port = 443 if tls else 80
    lb = resource(
        "aws_lb",
        "main",
        name=ctx.short_name("alb", "nlb", 32),
        load_balancer_type="network",
        internal=internal,
        security_groups=[LB_SG.id],
        subnets=NETWORK.private_subnet_ids if internal else NETWORK.public_subnet_ids,
        enable_cross_zone_load_balancing=True,
        enable_deletion_protection=ctx.req.production,
    )
    outside_production(ctx, lb, "CKV_AWS_150", "no deletion protection, so it can be torn down freely")
    if ctx.has(LOG_BUCKET.id):
        # NLB access logs (written for TLS listeners) come from the log delivery service, which
        # checks the bucket policy when they are switched on
        # (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-access-logs.html)
        path = ("nlb/AWSLogs/", ACCOUNT, "/*")
        out.ask(
            LOG_BUCKET.read_acl("LogDeliveryAclCheck", "delivery.logs.amazonaws.com", {"StringEquals": {"aws:SourceAccount": ACCOUNT}}),
            LOG_BUCKET.write("LogDeliveryWrite", {"Service": "delivery.logs.amazonaws.com"}, path,
                             {"StringEquals": {"aws:SourceAccount": ACCOUNT, "s3:x-amz-acl": "bucket-owner-full-control"}}),
        )
        lb.add(block("access_logs", bucket=LOG_BUCKET.id_ref, prefix="nlb", enabled=True))
        lb.set("depends_on", [LOG_BUCKET.policy_ref])
    listener_attrs: dict[str, Any] = {"load_balancer_arn": LB.arn, "port": port, "protocol": "TLS" if tls else "TCP"}
    if tls:
        listener_attrs |= {"ssl_policy": TLS_POLICY, "certificate_arn": REGIONAL_CERT.arn}
    listener = resource(
        "aws_lb_listener",
        "http" if not tls else "https",
        block("default_action", type="forward", target_group_arn=LB.target_group_arn),
        **listener_attrs,
    )
    if not tls:
        lb.skip("CKV2_AWS_20", "a network load balancer carries TCP; there is no HTTP to redirect")
        listener.skip("CKV_AWS_2", "plain TCP by request (no domain for a certificate); the application may terminate TLS itself")
        listener.skip("CKV_AWS_103", "plain TCP by request (no domain for a certificate); the application may terminate TLS itself")
    blocks: list[Block] = [
        *_security_group(port, internal),
        lb,
        resource(
            "aws_lb_target_group",
            "app",
            block("health_check", protocol="TCP", healthy_threshold=3, unhealthy_threshold=3, interval=30),
            name_prefix="app-",
            port=app_port(ctx),
            protocol="TCP",
            target_type="ip" if ctx.has("ecs") else "instance",
            vpc_id=NETWORK.vpc_id,
            deregistration_delay=30,
        ),
        listener,
    ]
    out.add("edge.tf", *blocks)
    where = "in the private subnets, reached from inside the VPC only" if internal else "facing the internet"
    carries = (f"terminates TLS 1.3 on port {port} with an ACM certificate" if tls else
               f"carries plain TCP on port {port} (no domain was given for a certificate)")
    out.why = (f"A network load balancer {where}: it {carries}, spreads connections across the zones and "
               "sends them to the application's port only.")
    out.outputs.append(output("lb_dns_name", LB.dns_name, "DNS name of the load balancer"))
    out.node("aws_lb.main", "Network Load Balancer" + (" (internal)" if internal else ""), "nlb", "private" if internal else "public")
    return out


def _security_group(port: int, internal: bool) -> list[Block]:
    """Clients in on the listener's port (from inside the VPC only for an internal application);
    the one way out (to the application's security group) comes with the application's group."""
    from agents.catalog.edge import ingress_rule

    sg = LB_SG.id
    if internal:
        ingress = ingress_rule("alb_in", sg, port, "From inside the VPC (VPN, Session Manager)", cidr=NETWORK.cidr_block)
    else:
        ingress = ingress_rule("alb_in", sg, port, "Clients", cidr="0.0.0.0/0")
        if port == 80:
            ingress.skip("CKV_AWS_260", "a public TCP service on port 80 by request")
    return [
        resource(
            "aws_security_group",
            LB_SG.rid,
            name_prefix=Template(local("name"), "-nlb-"),
            description="Network load balancer: in from its clients, out to the application only",
            vpc_id=NETWORK.vpc_id,
        ),
        ingress,
    ]
