"""Raw API answers (as the inventory read them) -> typed resources with their relationships."""

from __future__ import annotations

import json
from typing import Any

from scanner.models import GLOBAL, Inventory, Resource


def _tags(items: Any) -> dict[str, str]:
    if isinstance(items, dict):
        return {str(k): str(v) for k, v in items.items()}
    return {str(t.get("Key")): str(t.get("Value", "")) for t in items or [] if t.get("Key") is not None}


def _policy(text: Any) -> Any:
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def build_inventory(regions: list[str], raw: dict[str, Any]) -> Inventory:
    out: list[Resource] = []
    skipped: list[str] = []

    def got(service: str, region: str, operation: str, arg: str | None = None) -> Any:
        key = f"{service}|{region}|{operation}" + (f"|{arg}" if arg is not None else "")
        return raw.get(key)

    for region in regions:
        _network(region, got, out)
        _compute(region, got, out)
        _data(region, got, out)
        _balancers(region, got, out)
    _buckets(regions, raw, got, out, skipped)
    _roles(raw, out)
    _dns(regions, got, out)
    # the VPC of what sits in subnets, from the subnets themselves (Lambda's VpcId can be stale)
    subnet_vpc = {r.id: r.vpc_id for r in out if r.kind == "subnet"}
    for r in out:
        vpcs = {subnet_vpc[s] for s in r.subnet_ids if s in subnet_vpc}
        if len(vpcs) == 1 and r.kind not in ("route_table",):
            r.vpc_id = vpcs.pop()
    return Inventory(regions=regions, resources=out, skipped=skipped)


def _network(region: str, got: Any, out: list[Resource]) -> None:
    defaults: set[str] = set()
    for vpc in got("ec2", region, "DescribeVpcs") or []:
        vid = vpc["VpcId"]
        if vpc.get("IsDefault"):
            defaults.add(vid)
        attrs = {"cidr_block": vpc.get("CidrBlock"), "instance_tenancy": vpc.get("InstanceTenancy"),
                 "is_default": bool(vpc.get("IsDefault"))}
        for name, key in (("enableDnsHostnames", "enable_dns_hostnames"), ("enableDnsSupport", "enable_dns_support")):
            answer = got("ec2", region, "DescribeVpcAttribute", f"{vid}|{name}")
            if answer:
                attrs[key] = bool(answer.get(name[0].upper() + name[1:], {}).get("Value"))
        tags = _tags(vpc.get("Tags"))
        out.append(Resource(kind="vpc", id=vid, region=region, name=tags.get("Name"), tags=tags,
                            arn=f"arn:aws:ec2:{region}:{vpc.get('OwnerId', '')}:vpc/{vid}",
                            aws_default=bool(vpc.get("IsDefault")), attrs=attrs))
    for sub in got("ec2", region, "DescribeSubnets") or []:
        tags = _tags(sub.get("Tags"))
        out.append(Resource(
            kind="subnet", id=sub["SubnetId"], region=region, name=tags.get("Name"), tags=tags,
            arn=sub.get("SubnetArn"), vpc_id=sub.get("VpcId"), availability_zone=sub.get("AvailabilityZone"),
            aws_default=bool(sub.get("DefaultForAz")) or sub.get("VpcId") in defaults,
            attrs={"cidr_block": sub.get("CidrBlock"), "availability_zone": sub.get("AvailabilityZone"),
                   "map_public_ip_on_launch": bool(sub.get("MapPublicIpOnLaunch"))}))
    for rt in got("ec2", region, "DescribeRouteTables") or []:
        tags = _tags(rt.get("Tags"))
        assoc = rt.get("Associations") or []
        main = any(a.get("Main") for a in assoc)
        routes = [
            {k: v for k, v in {
                "cidr_block": r.get("DestinationCidrBlock"), "ipv6_cidr_block": r.get("DestinationIpv6CidrBlock"),
                "gateway_id": r.get("GatewayId"), "nat_gateway_id": r.get("NatGatewayId"),
                "transit_gateway_id": r.get("TransitGatewayId"),
                "vpc_peering_connection_id": r.get("VpcPeeringConnectionId"),
                "network_interface_id": r.get("NetworkInterfaceId"),
            }.items() if v}
            for r in rt.get("Routes") or []
            if r.get("GatewayId") != "local" and r.get("Origin") != "CreateRouteTable"
        ]
        subnets = [a["SubnetId"] for a in assoc if a.get("SubnetId")]
        targets = sorted({v for r in routes for k, v in r.items() if k.endswith("_id")})
        out.append(Resource(
            kind="route_table", id=rt["RouteTableId"], region=region, name=tags.get("Name"), tags=tags,
            vpc_id=rt.get("VpcId"), subnet_ids=subnets, targets=targets,
            aws_default=main or rt.get("VpcId") in defaults,
            attrs={"main": main, "routes": routes,
                   "associations": {a["SubnetId"]: a.get("RouteTableAssociationId") for a in assoc if a.get("SubnetId")}}))
    for igw in got("ec2", region, "DescribeInternetGateways") or []:
        tags = _tags(igw.get("Tags"))
        vpcs = [a["VpcId"] for a in igw.get("Attachments") or [] if a.get("VpcId")]
        out.append(Resource(kind="internet_gateway", id=igw["InternetGatewayId"], region=region,
                            name=tags.get("Name"), tags=tags, vpc_id=vpcs[0] if vpcs else None,
                            aws_default=bool(vpcs) and vpcs[0] in defaults, attrs={}))
    for nat in got("ec2", region, "DescribeNatGateways") or []:
        if nat.get("State") in ("deleted", "deleting", "failed"):
            continue
        tags = _tags(nat.get("Tags"))
        addresses = nat.get("NatGatewayAddresses") or []
        out.append(Resource(
            kind="nat_gateway", id=nat["NatGatewayId"], region=region, name=tags.get("Name"), tags=tags,
            vpc_id=nat.get("VpcId"), subnet_ids=[nat["SubnetId"]] if nat.get("SubnetId") else [],
            attrs={"connectivity_type": nat.get("ConnectivityType") or "public",
                   "allocation_id": addresses[0].get("AllocationId") if addresses else None,
                   "public_ip": addresses[0].get("PublicIp") if addresses else None}))
    for eip in got("ec2", region, "DescribeAddresses") or []:
        if not eip.get("AllocationId"):
            continue  # an EC2-Classic address
        tags = _tags(eip.get("Tags"))
        out.append(Resource(
            kind="elastic_ip", id=eip["AllocationId"], region=region, name=tags.get("Name") or eip.get("PublicIp"),
            tags=tags, parent=eip.get("NetworkInterfaceId"),
            attrs={"public_ip": eip.get("PublicIp"), "domain": eip.get("Domain") or "vpc",
                   "instance_id": eip.get("InstanceId"), "network_interface_id": eip.get("NetworkInterfaceId")}))
    for sg in got("ec2", region, "DescribeSecurityGroups") or []:
        tags = _tags(sg.get("Tags"))
        out.append(Resource(
            kind="security_group", id=sg["GroupId"], region=region, name=sg.get("GroupName"), tags=tags,
            arn=f"arn:aws:ec2:{region}:{sg.get('OwnerId', '')}:security-group/{sg['GroupId']}",
            vpc_id=sg.get("VpcId"), aws_default=sg.get("GroupName") == "default" or sg.get("VpcId") in defaults,
            attrs={"name": sg.get("GroupName"), "description": sg.get("Description")}))
    for rule in got("ec2", region, "DescribeSecurityGroupRules") or []:
        ref = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
        attrs = {k: v for k, v in {
            "egress": bool(rule.get("IsEgress")), "ip_protocol": str(rule.get("IpProtocol")),
            "from_port": rule.get("FromPort"), "to_port": rule.get("ToPort"),
            "cidr_ipv4": rule.get("CidrIpv4"), "cidr_ipv6": rule.get("CidrIpv6"),
            "prefix_list_id": rule.get("PrefixListId"), "referenced_security_group_id": ref,
            "description": rule.get("Description"),
        }.items() if v is not None}
        out.append(Resource(kind="security_group_rule", id=rule["SecurityGroupRuleId"], region=region,
                            parent=rule.get("GroupId"), tags=_tags(rule.get("Tags")),
                            security_group_ids=[ref] if ref else [], attrs=attrs))


def _compute(region: str, got: Any, out: list[Resource]) -> None:
    for reservation in got("ec2", region, "DescribeInstances") or []:
        for inst in reservation.get("Instances") or []:
            if (inst.get("State") or {}).get("Name") in ("terminated", "shutting-down"):
                continue
            tags = _tags(inst.get("Tags"))
            profile = (inst.get("IamInstanceProfile") or {}).get("Arn")
            out.append(Resource(
                kind="instance", id=inst["InstanceId"], region=region, name=tags.get("Name"), tags=tags,
                arn=f"arn:aws:ec2:{region}:{reservation.get('OwnerId', '')}:instance/{inst['InstanceId']}",
                vpc_id=inst.get("VpcId"), subnet_ids=[inst["SubnetId"]] if inst.get("SubnetId") else [],
                availability_zone=(inst.get("Placement") or {}).get("AvailabilityZone"),
                security_group_ids=[g["GroupId"] for g in inst.get("SecurityGroups") or []],
                attrs={"ami": inst.get("ImageId"), "instance_type": inst.get("InstanceType"),
                       "key_name": inst.get("KeyName"), "instance_profile": profile.rsplit("/", 1)[-1] if profile else None,
                       "ebs_optimized": bool(inst.get("EbsOptimized")),
                       "monitoring": (inst.get("Monitoring") or {}).get("State") == "enabled",
                       "private_ip": inst.get("PrivateIpAddress"), "state": (inst.get("State") or {}).get("Name"),
                       "http_tokens": (inst.get("MetadataOptions") or {}).get("HttpTokens")}))
    for fn in got("lambda", region, "ListFunctions") or []:
        vpc = fn.get("VpcConfig") or {}
        tags = (got("lambda", region, "ListTags", fn["FunctionArn"]) or {}).get("Tags") or {}
        out.append(Resource(
            kind="lambda_function", id=fn["FunctionName"], region=region, name=fn["FunctionName"],
            arn=fn["FunctionArn"], tags=_tags(tags), role_arn=fn.get("Role"), vpc_id=vpc.get("VpcId") or None,
            subnet_ids=list(vpc.get("SubnetIds") or []), security_group_ids=list(vpc.get("SecurityGroupIds") or []),
            attrs={"runtime": fn.get("Runtime"), "handler": fn.get("Handler"), "memory_size": fn.get("MemorySize"),
                   "timeout": fn.get("Timeout"), "package_type": fn.get("PackageType") or "Zip",
                   "architectures": fn.get("Architectures") or ["x86_64"], "description": fn.get("Description") or "",
                   # only the names of environment variables: their values may be secrets
                   "environment_keys": sorted(((fn.get("Environment") or {}).get("Variables") or {}).keys())}))


def _data(region: str, got: Any, out: list[Resource]) -> None:
    groups = {g["DBSubnetGroupName"]: g for g in got("rds", region, "DescribeDBSubnetGroups") or []}
    for name, g in groups.items():
        out.append(Resource(
            kind="db_subnet_group", id=name, region=region, name=name, arn=g.get("DBSubnetGroupArn"),
            vpc_id=g.get("VpcId"), subnet_ids=[s["SubnetIdentifier"] for s in g.get("Subnets") or []],
            attrs={"description": g.get("DBSubnetGroupDescription")}))
    for c in got("rds", region, "DescribeDBClusters") or []:
        group = c.get("DBSubnetGroup")
        out.append(Resource(
            kind="db_cluster", id=c["DBClusterIdentifier"], region=region, name=c["DBClusterIdentifier"],
            arn=c.get("DBClusterArn"), tags=_tags(c.get("TagList")),
            vpc_id=(groups.get(group) or {}).get("VpcId"),
            security_group_ids=[g["VpcSecurityGroupId"] for g in c.get("VpcSecurityGroups") or []],
            parent=group,
            attrs={"engine": c.get("Engine"), "engine_version": c.get("EngineVersion"),
                   "master_username": c.get("MasterUsername"), "db_subnet_group_name": group,
                   "storage_encrypted": bool(c.get("StorageEncrypted")), "port": c.get("Port"),
                   "backup_retention_period": c.get("BackupRetentionPeriod"),
                   "database_name": c.get("DatabaseName"), "deletion_protection": bool(c.get("DeletionProtection")),
                   "multi_az": bool(c.get("MultiAZ")), "kms_key_id": c.get("KmsKeyId"),
                   "members": [m["DBInstanceIdentifier"] for m in c.get("DBClusterMembers") or []]}))
    for db in got("rds", region, "DescribeDBInstances") or []:
        group = (db.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
        out.append(Resource(
            kind="db_instance", id=db["DBInstanceIdentifier"], region=region, name=db["DBInstanceIdentifier"],
            arn=db.get("DBInstanceArn"), tags=_tags(db.get("TagList")),
            vpc_id=(db.get("DBSubnetGroup") or {}).get("VpcId"),
            availability_zone=db.get("AvailabilityZone"),
            security_group_ids=[g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups") or []],
            parent=db.get("DBClusterIdentifier") or group, role_arn=db.get("MonitoringRoleArn"),
            attrs={"engine": db.get("Engine"), "engine_version": db.get("EngineVersion"),
                   "instance_class": db.get("DBInstanceClass"), "allocated_storage": db.get("AllocatedStorage"),
                   "storage_type": db.get("StorageType"), "storage_encrypted": bool(db.get("StorageEncrypted")),
                   "multi_az": bool(db.get("MultiAZ")), "publicly_accessible": bool(db.get("PubliclyAccessible")),
                   "master_username": db.get("MasterUsername"), "db_subnet_group_name": group,
                   "backup_retention_period": db.get("BackupRetentionPeriod"),
                   "cluster_identifier": db.get("DBClusterIdentifier"), "port": (db.get("Endpoint") or {}).get("Port"),
                   "monitoring_interval": db.get("MonitoringInterval") or 0,
                   "deletion_protection": bool(db.get("DeletionProtection"))}))
    cache_groups = {g["CacheSubnetGroupName"]: g for g in got("elasticache", region, "DescribeCacheSubnetGroups") or []}
    for name, g in cache_groups.items():
        if name == "default":
            continue
        out.append(Resource(
            kind="cache_subnet_group", id=name, region=region, name=name, arn=g.get("ARN"), vpc_id=g.get("VpcId"),
            subnet_ids=[s["SubnetIdentifier"] for s in g.get("Subnets") or []],
            attrs={"description": g.get("CacheSubnetGroupDescription")}))
    for rg in got("elasticache", region, "DescribeReplicationGroups") or []:
        members = list(rg.get("MemberClusters") or [])
        first: dict[str, Any] = next((c for c in got("elasticache", region, "DescribeCacheClusters") or []
                      if c.get("CacheClusterId") in members), {})
        group = first.get("CacheSubnetGroupName")
        tags = (got("elasticache", region, "ListTagsForResource", rg.get("ARN")) or {}).get("TagList")
        out.append(Resource(
            kind="replication_group", id=rg["ReplicationGroupId"], region=region, name=rg["ReplicationGroupId"],
            arn=rg.get("ARN"), tags=_tags(tags), parent=group,
            vpc_id=(cache_groups.get(group) or {}).get("VpcId"),
            security_group_ids=[s["SecurityGroupId"] for s in first.get("SecurityGroups") or []],
            attrs={"description": rg.get("Description"), "node_type": rg.get("CacheNodeType"),
                   "engine": first.get("Engine") or rg.get("Engine") or "redis",
                   "engine_version": first.get("EngineVersion"), "num_cache_clusters": len(members),
                   "automatic_failover": rg.get("AutomaticFailover") == "enabled",
                   "multi_az": rg.get("MultiAZ") == "enabled",
                   "at_rest_encryption_enabled": bool(rg.get("AtRestEncryptionEnabled")),
                   "transit_encryption_enabled": bool(rg.get("TransitEncryptionEnabled")),
                   "subnet_group_name": group, "members": members}))
    for cc in got("elasticache", region, "DescribeCacheClusters") or []:
        if cc.get("ReplicationGroupId"):
            continue
        group = cc.get("CacheSubnetGroupName")
        tags = (got("elasticache", region, "ListTagsForResource", cc.get("ARN")) or {}).get("TagList")
        out.append(Resource(
            kind="cache_cluster", id=cc["CacheClusterId"], region=region, name=cc["CacheClusterId"],
            arn=cc.get("ARN"), tags=_tags(tags), parent=group,
            vpc_id=(cache_groups.get(group) or {}).get("VpcId"),
            availability_zone=cc.get("PreferredAvailabilityZone"),
            security_group_ids=[s["SecurityGroupId"] for s in cc.get("SecurityGroups") or []],
            attrs={"engine": cc.get("Engine"), "engine_version": cc.get("EngineVersion"),
                   "node_type": cc.get("CacheNodeType"), "num_cache_nodes": cc.get("NumCacheNodes"),
                   "subnet_group_name": group}))


def _balancers(region: str, got: Any, out: list[Resource]) -> None:
    tags: dict[str, dict[str, str]] = {}
    i = 0
    while (answer := got("elbv2", region, "DescribeTags", str(i))) is not None:
        for d in answer.get("TagDescriptions") or []:
            tags[d["ResourceArn"]] = _tags(d.get("Tags"))
        i += 20
    lbs = got("elbv2", region, "DescribeLoadBalancers") or []
    tgs = got("elbv2", region, "DescribeTargetGroups") or []
    forwards: dict[str, set[str]] = {}
    for lb in lbs:
        arn = lb["LoadBalancerArn"]
        for li in got("elbv2", region, "DescribeListeners", arn) or []:
            groups = sorted({a["TargetGroupArn"] for a in li.get("DefaultActions") or [] if a.get("TargetGroupArn")})
            forwards.setdefault(arn, set()).update(groups)
            out.append(Resource(
                kind="listener", id=li["ListenerArn"], arn=li["ListenerArn"], region=region, parent=arn,
                targets=groups, tags=tags.get(li["ListenerArn"], {}),
                attrs={"port": li.get("Port"), "protocol": li.get("Protocol"),
                       "ssl_policy": li.get("SslPolicy"),
                       "certificate_arns": [c["CertificateArn"] for c in li.get("Certificates") or []],
                       "default_actions": [{k: v for k, v in {
                           "type": a.get("Type"), "target_group_arn": a.get("TargetGroupArn"),
                           "redirect": a.get("RedirectConfig"), "fixed_response": a.get("FixedResponseConfig"),
                       }.items() if v} for a in li.get("DefaultActions") or []]}))
    for lb in lbs:
        arn = lb["LoadBalancerArn"]
        zones = lb.get("AvailabilityZones") or []
        out.append(Resource(
            kind="load_balancer", id=arn, arn=arn, region=region, name=lb.get("LoadBalancerName"),
            tags=tags.get(arn, {}), vpc_id=lb.get("VpcId"),
            subnet_ids=[z["SubnetId"] for z in zones if z.get("SubnetId")],
            security_group_ids=list(lb.get("SecurityGroups") or []), targets=sorted(forwards.get(arn, set())),
            attrs={"type": lb.get("Type"), "scheme": lb.get("Scheme"), "internal": lb.get("Scheme") == "internal",
                   "dns_name": lb.get("DNSName"), "ip_address_type": lb.get("IpAddressType")}))
    classic_tags: dict[str, dict[str, str]] = {}
    i = 0
    while (answer := got("elb", region, "DescribeTags", str(i))) is not None:
        for d in answer.get("TagDescriptions") or []:
            classic_tags[d["LoadBalancerName"]] = _tags(d.get("Tags"))
        i += 20
    for lb in got("elb", region, "DescribeLoadBalancers") or []:
        name = lb["LoadBalancerName"]
        out.append(Resource(
            kind="classic_load_balancer", id=name, name=name, region=region, tags=classic_tags.get(name, {}),
            vpc_id=lb.get("VPCId"), subnet_ids=list(lb.get("Subnets") or []),
            security_group_ids=list(lb.get("SecurityGroups") or []),
            targets=[i["InstanceId"] for i in lb.get("Instances") or []],
            attrs={"scheme": lb.get("Scheme"), "internal": lb.get("Scheme") == "internal", "dns_name": lb.get("DNSName"),
                   "availability_zones": list(lb.get("AvailabilityZones") or []),
                   "listeners": [{"lb_port": d["Listener"]["LoadBalancerPort"], "lb_protocol": d["Listener"]["Protocol"],
                                  "instance_port": d["Listener"]["InstancePort"],
                                  "instance_protocol": d["Listener"].get("InstanceProtocol") or d["Listener"]["Protocol"],
                                  "ssl_certificate_id": d["Listener"].get("SSLCertificateId")}
                                 for d in lb.get("ListenerDescriptions") or []]}))
    for tg in tgs:
        arn = tg["TargetGroupArn"]
        health = got("elbv2", region, "DescribeTargetHealth", arn) or {}
        targets = [d["Target"] for d in health.get("TargetHealthDescriptions") or []]
        out.append(Resource(
            kind="target_group", id=arn, arn=arn, region=region, name=tg.get("TargetGroupName"),
            tags=tags.get(arn, {}), vpc_id=tg.get("VpcId"), targets=[t["Id"] for t in targets],
            attrs={"port": tg.get("Port"), "protocol": tg.get("Protocol"), "target_type": tg.get("TargetType"),
                   "health_check_path": tg.get("HealthCheckPath"),
                   "health_check_protocol": tg.get("HealthCheckProtocol"),
                   "load_balancer_arns": list(tg.get("LoadBalancerArns") or []),
                   "registered": [{"id": t["Id"], "port": t.get("Port")} for t in targets]}))


def _buckets(regions: list[str], raw: dict[str, Any], got: Any, out: list[Resource], skipped: list[str]) -> None:
    for bucket in got("s3", regions[0], "ListBuckets") or []:
        name = bucket["Name"]
        detail = raw.get(f"s3|{GLOBAL}|Bucket|{name}")
        if detail is None:
            continue  # its details could not be read: reported among what is missing
        region = detail.get("Region")
        if region not in regions:
            skipped.append(f"s3 bucket {name} ({region})")
            continue
        enc = detail.get("GetBucketEncryption") or {}
        rules = enc.get("Rules") or []
        default = (rules[0].get("ApplyServerSideEncryptionByDefault") or {}) if rules else {}
        versioning = (detail.get("GetBucketVersioning") or {}).get("Status")
        pab = detail.get("GetPublicAccessBlock")
        policy = _policy(detail.get("GetBucketPolicy"))
        out.append(Resource(
            kind="s3_bucket", id=name, arn=f"arn:aws:s3:::{name}", region=region, name=name,
            tags=_tags(detail.get("GetBucketTagging")),
            attrs={"encryption": {"sse_algorithm": default.get("SSEAlgorithm"),
                                  "kms_master_key_id": default.get("KMSMasterKeyID"),
                                  "bucket_key_enabled": bool(rules[0].get("BucketKeyEnabled")) if rules else None}
                   if default else None,
                   "versioning": versioning, "public_access_block": pab, "policy": policy,
                   "created": bucket.get("CreationDate"), "unread": list(detail.get("Unread") or [])}))


def _roles(raw: dict[str, Any], out: list[Resource]) -> None:
    users: dict[str, list[str]] = {}
    for r in out:
        if r.role_arn:
            users.setdefault(r.role_arn.rsplit("/", 1)[-1], []).append(r.id)
    for key, value in raw.items():
        if key.startswith(f"iam|{GLOBAL}|GetInstanceProfile|") and value:
            name = key.rsplit("|", 1)[-1]
            for role in value["InstanceProfile"].get("Roles", []):
                users.setdefault(role["RoleName"], []).append(f"instance-profile/{name}")
                for inst in out:
                    if inst.kind == "instance" and inst.attrs.get("instance_profile") == name:
                        inst.role_arn = role["Arn"]
    for key, value in sorted(raw.items()):
        if not key.startswith(f"iam|{GLOBAL}|GetRole|") or not value:
            continue
        role = value["Role"]
        name = role["RoleName"]
        attached = raw.get(f"iam|{GLOBAL}|ListAttachedRolePolicies|{name}") or []
        profiles = [u.split("/", 1)[1] for u in users.get(name, []) if u.startswith("instance-profile/")]
        out.append(Resource(
            kind="iam_role", id=name, arn=role["Arn"], region=GLOBAL, name=name, tags=_tags(role.get("Tags")),
            attrs={"path": role.get("Path") or "/", "description": role.get("Description"),
                   "assume_role_policy": _policy(role.get("AssumeRolePolicyDocument")),
                   "max_session_duration": role.get("MaxSessionDuration"),
                   "managed_policy_arns": sorted(p["PolicyArn"] for p in attached),
                   "instance_profiles": sorted(profiles),
                   "used_by": sorted(u for u in users.get(name, []) if not u.startswith("instance-profile/"))}))


def _dns(regions: list[str], got: Any, out: list[Resource]) -> None:
    """Hosted zones and their records; an alias to a load balancer the scan found targets it."""
    by_dns = {str(r.attrs.get("dns_name") or "").rstrip(".").lower(): r for r in out
              if r.kind in ("load_balancer", "classic_load_balancer") and r.attrs.get("dns_name")}
    for zone in got("route53", GLOBAL, "ListHostedZones") or []:
        zid = zone["Id"].rsplit("/", 1)[-1]
        private = bool((zone.get("Config") or {}).get("PrivateZone"))
        detail = got("route53", GLOBAL, "GetHostedZone", zid) or {}
        vpcs = [v for v in detail.get("VPCs") or [] if v.get("VPCRegion") in regions]
        tags = _tags((got("route53", GLOBAL, "ListTagsForResource", zid) or {}).get("ResourceTagSet", {}).get("Tags"))
        name = zone["Name"].rstrip(".")
        out.append(Resource(
            kind="hosted_zone", id=zid, arn=f"arn:aws:route53:::hostedzone/{zid}", region=GLOBAL, name=name,
            tags=tags, vpc_id=vpcs[0]["VPCId"] if len(vpcs) == 1 else None,
            attrs={"name": name, "private": private, "comment": (zone.get("Config") or {}).get("Comment") or "",
                   "vpcs": [{"vpc_id": v["VPCId"], "region": v["VPCRegion"]} for v in vpcs],
                   "record_count": zone.get("ResourceRecordSetCount")}))
        for rec in got("route53", GLOBAL, "ListResourceRecordSets", zid) or []:
            rname = rec["Name"].rstrip(".").replace("\\052", "*")
            rtype = rec["Type"]
            alias = rec.get("AliasTarget")
            target = by_dns.get(str((alias or {}).get("DNSName") or "").rstrip(".").lower().removeprefix("dualstack."))
            ident = "_".join(p for p in (zid, rname, rtype, rec.get("SetIdentifier") or "") if p)
            out.append(Resource(
                kind="dns_record", id=ident, region=GLOBAL, name=f"{rname} {rtype}", parent=zid,
                targets=[target.id] if target else [],
                # the zone's own NS and SOA records come with it: Terraform manages them through the zone
                aws_default=rtype in ("NS", "SOA") and rname == name,
                attrs={"name": rname, "type": rtype, "ttl": rec.get("TTL"),
                       "records": [v["Value"] for v in rec.get("ResourceRecords") or []],
                       "set_identifier": rec.get("SetIdentifier"),
                       "alias": {"dns_name": alias.get("DNSName"), "zone_id": alias.get("HostedZoneId"),
                                 "evaluate_target_health": bool(alias.get("EvaluateTargetHealth"))} if alias else None}))
