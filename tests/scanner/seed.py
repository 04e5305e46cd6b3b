"""A startup-like account on moto: two regions, three VPCs, 60+ resources across every service
the scanner reads (what a team that clicked its infrastructure together usually has)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3

REGIONS = ("us-east-1", "eu-west-1")
TAG_KEY, TAG_VALUE = "Project", "acme"

ASSUME_LAMBDA = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
ASSUME_RDS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
ASSUME_EC2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def client(endpoint: str, service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buf.getvalue()


def _tags(name: str, project: bool = True) -> list[dict[str, str]]:
    tags = [{"Key": "Name", "Value": name}]
    if project:
        tags.append({"Key": TAG_KEY, "Value": TAG_VALUE})
    return tags


def _spec(kind: str, name: str, project: bool = True) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": _tags(name, project)}]


def network(ec2: Any, name: str, cidr: str, azs: list[str], *, nat: bool,
            project: bool = True) -> dict[str, Any]:
    """A VPC with public and private subnets per AZ, an IGW, NAT, route tables and three SGs."""
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=_spec("vpc", name, project))["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    base = cidr.split(".")
    out: dict[str, Any] = {"vpc": vpc, "public": [], "private": []}
    for i, az in enumerate(azs):
        for tier, offset in (("public", 0), ("private", 10)):
            sub = ec2.create_subnet(
                VpcId=vpc, AvailabilityZone=az,
                CidrBlock=f"{base[0]}.{base[1]}.{offset + i}.0/24",
                TagSpecifications=_spec("subnet", f"{name}-{tier}-{az[-1]}", project),
            )["Subnet"]["SubnetId"]
            out[tier].append(sub)
            if tier == "public":
                ec2.modify_subnet_attribute(SubnetId=sub, MapPublicIpOnLaunch={"Value": True})
    igw = ec2.create_internet_gateway(
        TagSpecifications=_spec("internet-gateway", f"{name}-igw", project))["InternetGateway"]
    ec2.attach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc)
    out["igw"] = igw["InternetGatewayId"]
    public_rt = ec2.create_route_table(
        VpcId=vpc, TagSpecifications=_spec("route-table", f"{name}-public", project))["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=out["igw"])
    for sub in out["public"]:
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=sub)
    out["public_rt"] = public_rt
    if nat:
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        natgw = ec2.create_nat_gateway(SubnetId=out["public"][0], AllocationId=eip,
                                       TagSpecifications=_spec("natgateway", f"{name}-nat", project))
        out["nat"] = natgw["NatGateway"]["NatGatewayId"]
        private_rt = ec2.create_route_table(
            VpcId=vpc, TagSpecifications=_spec("route-table", f"{name}-private", project))["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=out["nat"])
        for sub in out["private"]:
            ec2.associate_route_table(RouteTableId=private_rt, SubnetId=sub)
        out["private_rt"] = private_rt
    web = ec2.create_security_group(GroupName=f"{name}-web", Description="web tier", VpcId=vpc,
                                    TagSpecifications=_spec("security-group", f"{name}-web", project))["GroupId"]
    app = ec2.create_security_group(GroupName=f"{name}-app", Description="app tier", VpcId=vpc,
                                    TagSpecifications=_spec("security-group", f"{name}-app", project))["GroupId"]
    db = ec2.create_security_group(GroupName=f"{name}-db", Description="data tier", VpcId=vpc,
                                   TagSpecifications=_spec("security-group", f"{name}-db", project))["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ])
    ec2.authorize_security_group_ingress(GroupId=app, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": web}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ])
    ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": app}]},
        {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": app}]},
    ])
    out.update(web=web, app=app, db=db)
    return out


def seed(endpoint: str) -> dict[str, Any]:
    """Create the account; returns the ids a test checks against."""
    facts: dict[str, Any] = {}
    iam = client(endpoint, "iam", "us-east-1")
    lam_role = iam.create_role(RoleName="acme-api-lambda", AssumeRolePolicyDocument=json.dumps(ASSUME_LAMBDA),
                               Description="runs the API functions", Tags=_tags("acme-api-lambda"))["Role"]
    logs = iam.create_policy(PolicyName="acme-lambda-logs", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
            "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="acme-api-lambda", PolicyArn=logs)
    iam.create_role(RoleName="acme-app-ec2", AssumeRolePolicyDocument=json.dumps(ASSUME_EC2),
                    Tags=_tags("acme-app-ec2"))
    iam.create_instance_profile(InstanceProfileName="acme-app-ec2")
    iam.add_role_to_instance_profile(InstanceProfileName="acme-app-ec2", RoleName="acme-app-ec2")
    iam.create_role(RoleName="unused-role", AssumeRolePolicyDocument=json.dumps(ASSUME_EC2))
    monitoring = iam.create_role(RoleName="acme-rds-monitoring", AssumeRolePolicyDocument=json.dumps(ASSUME_RDS),
                                 Tags=_tags("acme-rds-monitoring"))["Role"]["Arn"]
    facts["monitoring_role"] = monitoring
    facts["lambda_role"] = lam_role["Arn"]

    # us-east-1: production and staging; eu-west-1: the EU production copy
    east = client(endpoint, "ec2", "us-east-1")
    west = client(endpoint, "ec2", "eu-west-1")
    prod = network(east, "acme-prod", "10.10.0.0/16", ["us-east-1a", "us-east-1b"], nat=True)
    staging = network(east, "acme-staging", "10.20.0.0/16", ["us-east-1a", "us-east-1b"], nat=False,
                      project=False)
    eu = network(west, "acme-eu", "10.30.0.0/16", ["eu-west-1a", "eu-west-1b"], nat=True)
    facts.update(prod=prod, staging=staging, eu=eu)

    image = east.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instances = []
    for i, sub in enumerate(prod["private"]):
        inst = east.run_instances(
            ImageId=image, InstanceType="t3.small", MinCount=1, MaxCount=1, SubnetId=sub,
            SecurityGroupIds=[prod["app"]], IamInstanceProfile={"Name": "acme-app-ec2"},
            TagSpecifications=_spec("instance", f"acme-app-{i}"))["Instances"][0]["InstanceId"]
        instances.append(inst)
    bastion = east.run_instances(
        ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=staging["public"][0],
        SecurityGroupIds=[staging["app"]], TagSpecifications=_spec("instance", "staging-box", False),
    )["Instances"][0]["InstanceId"]
    classic = client(endpoint, "elb", "us-east-1")
    classic.create_load_balancer(
        LoadBalancerName="staging-classic", Subnets=[staging["public"][0]], SecurityGroups=[staging["web"]],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}])
    classic.register_instances_with_load_balancer(LoadBalancerName="staging-classic", Instances=[{"InstanceId": bastion}])
    west_image = west.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    eu_inst = west.run_instances(
        ImageId=west_image, InstanceType="t3.small", MinCount=1, MaxCount=1, SubnetId=eu["private"][0],
        SecurityGroupIds=[eu["app"]], TagSpecifications=_spec("instance", "acme-eu-app"),
    )["Instances"][0]["InstanceId"]
    facts.update(instances=instances, bastion=bastion, eu_instance=eu_inst)

    # load balancer in front of the app instances
    elb = client(endpoint, "elbv2", "us-east-1")
    lb = elb.create_load_balancer(Name="acme-prod-alb", Subnets=prod["public"], SecurityGroups=[prod["web"]],
                                  Scheme="internet-facing", Type="application",
                                  Tags=_tags("acme-prod-alb"))["LoadBalancers"][0]
    tg = elb.create_target_group(Name="acme-prod-app", Protocol="HTTP", Port=8080, VpcId=prod["vpc"],
                                 TargetType="instance", HealthCheckPath="/health",
                                 Tags=_tags("acme-prod-app"))["TargetGroups"][0]
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": i, "Port": 8080} for i in instances])
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    facts.update(lb=lb["LoadBalancerArn"], tg=tg["TargetGroupArn"],
                 listener=listener["Listeners"][0]["ListenerArn"])
    # a network load balancer in front of the EU app (TCP)
    elb_eu = client(endpoint, "elbv2", "eu-west-1")
    nlb = elb_eu.create_load_balancer(Name="acme-eu-nlb", Subnets=eu["public"], Scheme="internet-facing",
                                      Type="network", Tags=_tags("acme-eu-nlb"))["LoadBalancers"][0]
    ntg = elb_eu.create_target_group(Name="acme-eu-tcp", Protocol="TCP", Port=8080, VpcId=eu["vpc"],
                                     TargetType="instance", Tags=_tags("acme-eu-tcp"))["TargetGroups"][0]
    elb_eu.register_targets(TargetGroupArn=ntg["TargetGroupArn"], Targets=[{"Id": eu_inst, "Port": 8080}])
    elb_eu.create_listener(LoadBalancerArn=nlb["LoadBalancerArn"], Protocol="TCP", Port=443,
                           DefaultActions=[{"Type": "forward", "TargetGroupArn": ntg["TargetGroupArn"]}])
    facts.update(nlb=nlb["LoadBalancerArn"], ntg=ntg["TargetGroupArn"])

    # DNS: the public name in front of the ALB, and a private zone the prod VPC resolves
    r53 = client(endpoint, "route53", "us-east-1")
    public = r53.create_hosted_zone(Name="acme.example", CallerReference="acme-public",
                                    HostedZoneConfig={"Comment": "acme public", "PrivateZone": False})
    zone = public["HostedZone"]["Id"].rsplit("/", 1)[-1]
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone, AddTags=_tags("acme.example"))
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "app.acme.example", "Type": "A", "AliasTarget": {
            "HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": lb["DNSName"], "EvaluateTargetHealth": True}}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "www.acme.example", "Type": "CNAME", "TTL": 300,
                                                   "ResourceRecords": [{"Value": "app.acme.example"}]}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "acme.example", "Type": "TXT", "TTL": 3600,
                                                   "ResourceRecords": [{"Value": '"v=spf1 -all"'}]}},
    ]})
    private = r53.create_hosted_zone(Name="internal.acme", CallerReference="acme-private",
                                     HostedZoneConfig={"Comment": "acme internal", "PrivateZone": True},
                                     VPC={"VPCRegion": "us-east-1", "VPCId": prod["vpc"]})
    internal = private["HostedZone"]["Id"].rsplit("/", 1)[-1]
    r53.change_resource_record_sets(HostedZoneId=internal, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "db.internal.acme", "Type": "CNAME", "TTL": 60,
                                                   "ResourceRecords": [{"Value": "acme-prod-pg.internal"}]}}]})
    facts.update(zone=zone, internal_zone=internal)

    # databases
    rds = client(endpoint, "rds", "us-east-1")
    rds.create_db_subnet_group(DBSubnetGroupName="acme-prod-db", DBSubnetGroupDescription="prod data",
                               SubnetIds=prod["private"], Tags=_tags("acme-prod-db"))
    rds.create_db_instance(DBInstanceIdentifier="acme-prod-pg", DBInstanceClass="db.t3.medium", Engine="postgres",
                           EngineVersion="16.3", AllocatedStorage=50, MasterUsername="acme",
                           MasterUserPassword="s3cr3t-Do-Not-Write", DBSubnetGroupName="acme-prod-db",
                           VpcSecurityGroupIds=[prod["db"]], StorageEncrypted=True, MultiAZ=False,
                           BackupRetentionPeriod=7, Tags=_tags("acme-prod-pg"))
    rds.create_db_cluster(DBClusterIdentifier="acme-prod-aurora", Engine="aurora-postgresql",
                          EngineVersion="15.4", MasterUsername="acme", MasterUserPassword="an0ther-Secret",
                          DBSubnetGroupName="acme-prod-db", VpcSecurityGroupIds=[prod["db"]],
                          StorageEncrypted=True, Tags=_tags("acme-prod-aurora"))
    rds.create_db_instance(DBInstanceIdentifier="acme-prod-aurora-1", DBInstanceClass="db.r6g.large",
                           Engine="aurora-postgresql", DBClusterIdentifier="acme-prod-aurora",
                           Tags=_tags("acme-prod-aurora-1"))
    rds_eu = client(endpoint, "rds", "eu-west-1")
    rds_eu.create_db_subnet_group(DBSubnetGroupName="acme-eu-db", DBSubnetGroupDescription="eu data",
                                  SubnetIds=eu["private"])
    rds_eu.create_db_instance(DBInstanceIdentifier="acme-eu-mysql", DBInstanceClass="db.t3.small",
                              Engine="mysql", EngineVersion="8.0.35", AllocatedStorage=20, MasterUsername="admin",
                              MasterUserPassword="yet-Another-1", DBSubnetGroupName="acme-eu-db",
                              VpcSecurityGroupIds=[eu["db"]], StorageEncrypted=False,
                              MonitoringInterval=60, MonitoringRoleArn=monitoring)

    # cache
    cache = client(endpoint, "elasticache", "us-east-1")
    cache.create_cache_subnet_group(CacheSubnetGroupName="acme-prod-cache", CacheSubnetGroupDescription="cache",
                                    SubnetIds=prod["private"])
    cache.create_cache_cluster(CacheClusterId="acme-sessions", Engine="memcached", CacheNodeType="cache.t3.micro",
                               NumCacheNodes=1, CacheSubnetGroupName="acme-prod-cache",
                               SecurityGroupIds=[prod["db"]])
    cache.create_replication_group(ReplicationGroupId="acme-queue", ReplicationGroupDescription="job queue",
                                   Engine="redis", CacheNodeType="cache.t3.small", NumCacheClusters=2,
                                   CacheSubnetGroupName="acme-prod-cache", SecurityGroupIds=[prod["db"]])

    # functions
    code = _zip()
    for region, net, names in (("us-east-1", prod, ["acme-api", "acme-worker"]), ("eu-west-1", eu, ["acme-eu-api"])):
        lam = client(endpoint, "lambda", region)
        for name in names:
            lam.create_function(FunctionName=name, Runtime="python3.12", Role=lam_role["Arn"], Handler="app.handler",
                                Code={"ZipFile": code}, MemorySize=256, Timeout=15,
                                Environment={"Variables": {"DB_PASSWORD": "plain-text-secret"}},
                                VpcConfig={"SubnetIds": net["private"], "SecurityGroupIds": [net["app"]]},
                                Tags={TAG_KEY: TAG_VALUE})
    lam = client(endpoint, "lambda", "us-east-1")
    lam.create_function(FunctionName="acme-cron", Runtime="python3.12", Role=lam_role["Arn"], Handler="app.handler",
                        Code={"ZipFile": code})

    # buckets
    s3 = client(endpoint, "s3", "us-east-1")
    s3.create_bucket(Bucket="acme-assets")
    s3.put_bucket_versioning(Bucket="acme-assets", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket="acme-assets", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
    s3.put_public_access_block(Bucket="acme-assets", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_tagging(Bucket="acme-assets", Tagging={"TagSet": _tags("acme-assets")})
    s3.create_bucket(Bucket="acme-public-site")
    s3.put_bucket_policy(Bucket="acme-public-site", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::acme-public-site/*"}]}))
    s3.create_bucket(Bucket="acme-logs")
    s3.put_bucket_versioning(Bucket="acme-logs", VersioningConfiguration={"Status": "Suspended"})
    s3w = client(endpoint, "s3", "eu-west-1")
    s3w.create_bucket(Bucket="acme-eu-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3w.put_bucket_encryption(Bucket="acme-eu-data", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3w.put_bucket_versioning(Bucket="acme-eu-data", VersioningConfiguration={"Status": "Enabled"})
    s3o = client(endpoint, "s3", "us-west-2")
    s3o.create_bucket(Bucket="acme-elsewhere", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    return facts
