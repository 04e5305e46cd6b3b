"""Single points of failure, read from the inventory alone (no metric needed).

- a database instance in one availability zone (not Multi-AZ, not in a cluster);
- one NAT gateway for private subnets in several availability zones (its zone fails: every
  zone loses the internet);
- a target group with a single target (the load balancer has nowhere else to send traffic),
  and an instance nothing stands in front of (no load balancer, no Auto Scaling group);
- a Redis replication group without automatic failover.
"""

from __future__ import annotations

from collections import defaultdict

from monitor import pricing
from monitor.insight import Context, Finding, text, usd

ID = "spof"


def detect(ctx: Context) -> list[Finding]:
    now = ctx.now
    out: list[Finding] = []
    out += _databases(ctx, now)
    out += _nat(ctx, now)
    out += _lonely_instances(ctx, now)
    for rg in ctx.resources("replication_group"):
        if not rg.attrs.get("automatic_failover"):
            nodes = int(rg.attrs.get("num_cache_clusters") or 1)
            out.append(Finding(
                detector=ID, severity="warning", resource=rg, what="failover",
                title=text(f"cache {rg.label} has no automatic failover",
                           f"캐시 {rg.label}에 자동 장애 조치가 없습니다"),
                recommendation=text(
                    f"{nodes} node(s) and no automatic failover: when the primary fails, writes stop "
                    "until it is replaced. Add a replica in another zone and enable automatic failover.",
                    f"노드 {nodes}개, 자동 장애 조치 없음: 기본 노드가 실패하면 교체될 때까지 쓰기가 멈춥니다. "
                    "다른 영역에 복제본을 추가하고 자동 장애 조치를 켜세요."),
                numbers={"nodes": nodes, "automatic_failover": False}, window_start=now, window_end=now,
                change_request=f"enable automatic failover with a replica in another availability zone "
                               f"for ElastiCache replication group {rg.id}"))
    return out


def _databases(ctx: Context, now: int) -> list[Finding]:
    out = []
    for db in ctx.resources("db_instance"):
        if db.attrs.get("multi_az") or db.attrs.get("cluster_identifier"):
            continue
        cls = str(db.attrs.get("instance_class") or "")
        p = pricing.price(pricing.service_of(db.kind, db.attrs), cls, db.region) if cls else None
        delta = p.monthly if p else None
        out.append(Finding(
            detector=ID, severity="warning", resource=db, what="single-az",
            title=text(f"database {db.label} runs in one availability zone",
                       f"데이터베이스 {db.label}이(가) 단일 가용 영역에서 실행됩니다"),
            recommendation=text(
                f"{db.label} ({cls}) is in {db.availability_zone or 'one zone'} only: a zone outage or "
                f"maintenance takes it down. Enable Multi-AZ ({usd(delta) if delta else 'a standby of the same class'}).",
                f"{db.label}({cls})은(는) {db.availability_zone or '한 영역'}에만 있습니다. 영역 장애나 유지 관리 시 "
                f"중단됩니다. 다중 AZ를 켜세요({usd(delta) if delta else '같은 클래스의 대기 인스턴스'})."),
            numbers={"availability_zone": db.availability_zone, "instance_class": cls, "multi_az": False},
            window_start=now, window_end=now, monthly_usd=delta,
            change_request=f"enable Multi-AZ on database instance {db.id}"))
    return out


def _nat(ctx: Context, now: int) -> list[Finding]:
    zone_of = {s.id: s.availability_zone for s in ctx.resources("subnet") if s.availability_zone}
    nats_by_vpc: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    for nat in ctx.resources("nat_gateway"):
        nats_by_vpc[nat.vpc_id or ""].append(nat)
    routed: dict[str, set[str]] = defaultdict(set)  # NAT id -> zones of the subnets it serves
    for rt in ctx.inventory.resources:
        if rt.kind != "route_table":
            continue
        for route in rt.attrs.get("routes") or []:
            nat_id = route.get("nat_gateway_id")
            if nat_id:
                routed[nat_id] |= {zone_of[s] for s in rt.subnet_ids if s in zone_of}
    out = []
    for vpc, nats in nats_by_vpc.items():
        zones = set().union(*(routed.get(n.id, set()) for n in nats))
        if len(nats) != 1 or len(zones) < 2:
            continue
        nat = nats[0]
        extra = (len(zones) - 1) * pricing.nat_monthly(nat.region)
        out.append(Finding(
            detector=ID, severity="warning", resource=nat, what="one-nat",
            title=text(f"one NAT gateway serves {len(zones)} availability zones of {vpc}",
                       f"NAT 게이트웨이 하나가 {vpc}의 가용 영역 {len(zones)}개를 처리합니다"),
            recommendation=text(
                f"Private subnets in {', '.join(sorted(zones))} all leave through {nat.label}: if its zone "
                f"fails, they all lose the internet. Add one NAT gateway per zone ({usd(extra)}).",
                f"{', '.join(sorted(zones))}의 프라이빗 서브넷이 모두 {nat.label}을(를) 거칩니다. 그 영역이 실패하면 "
                f"모두 인터넷을 잃습니다. 영역마다 NAT 게이트웨이를 두세요({usd(extra)})."),
            numbers={"nat_gateways": 1, "zones": sorted(zones)}, window_start=now, window_end=now,
            monthly_usd=extra,
            change_request=f"add a NAT gateway in each availability zone of VPC {vpc} "
                           f"(one per zone, each zone's private route table through its own), besides {nat.id}"))
    return out


def _lonely_instances(ctx: Context, now: int) -> list[Finding]:
    out = []
    fronted: set[str] = set()
    for tg in ctx.resources("target_group", "classic_load_balancer"):
        fronted.update(tg.targets)
        if tg.kind == "target_group" and len(tg.targets) == 1:
            target = tg.targets[0]
            inst = ctx.inventory.get(target)
            itype = str(inst.attrs.get("instance_type") or "") if inst else ""
            p = pricing.price("ec2", itype, tg.region) if itype else None
            out.append(Finding(
                detector=ID, severity="warning", resource=tg, what="one-target",
                title=text(f"target group {tg.label} has a single target",
                           f"대상 그룹 {tg.label}의 대상이 하나뿐입니다"),
                recommendation=text(
                    f"Only {target} serves behind it: when it fails or is replaced, the service is down. "
                    f"Run two or more in different zones (an Auto Scaling group){', ' + usd(p.monthly) if p else ''}.",
                    f"{target} 하나만 뒤에서 응답합니다. 실패하거나 교체되면 서비스가 중단됩니다. "
                    f"서로 다른 영역에 둘 이상 실행하세요(Auto Scaling 그룹){', ' + usd(p.monthly) if p else ''}."),
                numbers={"targets": 1, "target": target}, window_start=now, window_end=now,
                monthly_usd=p.monthly if p else None,
                change_request=f"run at least two instances in different availability zones behind target "
                               f"group {tg.label} (an Auto Scaling group instead of {target} alone)"))
    for inst in ctx.resources("instance"):
        if inst.id in fronted or any(k.startswith("aws:autoscaling") for k in inst.tags):
            continue
        out.append(Finding(
            detector=ID, severity="info", resource=inst, what="alone",
            title=text(f"instance {inst.label} serves alone", f"인스턴스 {inst.label}이(가) 단독으로 실행됩니다"),
            recommendation=text(
                "No load balancer and no Auto Scaling group stand in front of it: if it fails, what it "
                "serves is down until someone replaces it.",
                "앞단에 로드 밸런서도 Auto Scaling 그룹도 없습니다. 실패하면 누군가 교체할 때까지 중단됩니다."),
            numbers={"load_balancer": None, "auto_scaling_group": None}, window_start=now, window_end=now))
    return out
