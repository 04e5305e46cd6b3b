"""The scanner's inventory on moto: wall time at 100, 1,000 and 5,000 resources, concurrent vs
sequential, and API calls per resource.

    .venv/bin/python bench/scan.py [--sizes 100,1000,5000] [--workers 16] [--rtt-ms 50]

moto's standalone server runs in its own process (as AWS would be another machine); for each
size the account is reset and seeded with a startup-shaped mix (VPCs with subnets, route tables,
gateways and security groups with rules, instances, functions, buckets, load balancers with
target groups and listeners, databases), then the same inventory is read twice in the same run:
concurrently (a thread pool across services and regions) and sequentially (one call at a time),
both within the same per-service rate budgets. Prints resources found, wall time of each, the
speedup, and the API calls made per resource.

moto answers on loopback from one Python process (~8 ms of its CPU per call on this machine), so
there the speedup is bounded by moto itself; AWS answers in tens of milliseconds of network round
trip, which the rows with ``rtt`` > 0 simulate (each request waits that long before it is sent). Goal (issue 15): 1,000 resources under 20 s and
at least 4x over sequential.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402

from scanner.inventory import Scanner  # noqa: E402
from tests.aws_server import moto_process  # noqa: E402

REGIONS = ("us-east-1", "eu-west-1")


def client(url: str, service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=url,
                        aws_access_key_id="bench", aws_secret_access_key="bench")


def code() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(e, c):\n    return 1\n")
    return buf.getvalue()


def seed(url: str, size: int) -> None:
    """About ``size`` resources, in blocks of ~100: one VPC with 8 subnets, an IGW, 2 route
    tables (8 associations), 8 security groups with 24 rules (+8 default egress), 30 instances,
    1 load balancer + target group + listener, 4 functions, 4 buckets, 1 database, 1 role."""
    iam = client(url, "iam", "us-east-1")
    assume = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                 "Principal": {"Service": "lambda.amazonaws.com"}}]})
    role = iam.create_role(RoleName="bench-fn", AssumeRolePolicyDocument=assume)["Role"]["Arn"]
    blob = code()
    for b in range(max(1, size // 100)):
        region = REGIONS[b % 2]
        ec2, elb = client(url, "ec2", region), client(url, "elbv2", region)
        vpc = ec2.create_vpc(CidrBlock=f"10.{b}.0.0/16")["Vpc"]["VpcId"]
        azs = [f"{region}a", f"{region}b"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{b}.{i}.0/24", AvailabilityZone=azs[i % 2])["Subnet"]["SubnetId"]
                   for i in range(8)]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        for half in (subnets[:4], subnets[4:]):
            rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
            for s in half:
                ec2.associate_route_table(RouteTableId=rt, SubnetId=s)
        groups = []
        for g in range(8):
            sg = ec2.create_security_group(GroupName=f"b{b}-sg{g}", Description="bench", VpcId=vpc)["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
                for p in (80, 443, 8080)])
            groups.append(sg)
        image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
        ids = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=30, MaxCount=30,
                                SubnetId=subnets[0], SecurityGroupIds=groups[:1])["Instances"]
        lb = elb.create_load_balancer(Name=f"bench-{b}", Subnets=subnets[:2], SecurityGroups=groups[:1])["LoadBalancers"][0]
        tg = elb.create_target_group(Name=f"bench-{b}", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": i["InstanceId"]} for i in ids[:5]])
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        lam = client(url, "lambda", region)
        for f in range(4):
            lam.create_function(FunctionName=f"bench-{b}-{f}", Runtime="python3.12", Role=role, Handler="app.handler",
                                Code={"ZipFile": blob}, VpcConfig={"SubnetIds": subnets[2:4], "SecurityGroupIds": groups[1:2]})
        s3 = client(url, "s3", region)
        for k in range(4):
            extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=f"bench-{b}-{k}", **extra)
            s3.put_bucket_versioning(Bucket=f"bench-{b}-{k}", VersioningConfiguration={"Status": "Enabled"})
        rds = client(url, "rds", region)
        rds.create_db_subnet_group(DBSubnetGroupName=f"bench-{b}", DBSubnetGroupDescription="bench", SubnetIds=subnets[4:6])
        rds.create_db_instance(DBInstanceIdentifier=f"bench-{b}", DBInstanceClass="db.t3.micro", Engine="postgres",
                               AllocatedStorage=20, MasterUsername="bench", MasterUserPassword="bench-password-1",
                               DBSubnetGroupName=f"bench-{b}")


def reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30)


def measure(url: str, concurrent: bool, workers: int, rtt_ms: float = 0.0) -> tuple[float, int, int]:
    session = boto3.Session()
    if rtt_ms:
        # a network round trip the loopback does not have: each request waits it before sending
        session.events.register("before-send", lambda **kw: time.sleep(rtt_ms / 1000))
    scanner = Scanner(REGIONS, session=session, endpoint_url=url, concurrent=concurrent, max_workers=workers)
    t0 = time.perf_counter()
    inventory = scanner.scan()
    took = time.perf_counter() - t0
    if inventory.partial:
        raise SystemExit(f"the scan was partial: {[m.text for m in inventory.missing]}")
    adopted = sum(1 for r in inventory.resources if not r.aws_default)
    return took, max(adopted, 1), sum(inventory.api_calls.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--rtt-ms", type=float, default=50.0,
                        help="also measure with this simulated round trip per request (0: moto alone)")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    moto = contextlib.ExitStack()  # moto in a process of its own (tests.aws_server)
    url = moto.enter_context(moto_process())
    print(f"moto {url} (own process); regions {', '.join(REGIONS)}; {args.workers} workers; "
          f"{os.cpu_count()} cores")
    print(f"{'asked':>6} {'found':>6} {'seed s':>7} {'rtt':>4} {'concurrent s':>13} {'sequential s':>13} {'speedup':>8} "
          f"{'calls':>6} {'calls/res':>9}")
    rows: list[tuple[int, float, float, float]] = []
    try:
        # the services' API models are parsed once per process (scanner.inventory.share_models):
        # read an empty account first, so that the first row measured does not pay for it alone
        t0 = time.perf_counter()
        measure(url, True, args.workers)
        print(f"(first scan of the process, models parsed: {time.perf_counter() - t0:.2f} s, not counted)")
        for size in (int(s) for s in args.sizes.split(",")):
            reset(url)
            t0 = time.perf_counter()
            seed(url, size)
            seeded = time.perf_counter() - t0
            for rtt in sorted({0.0, args.rtt_ms}):
                conc, found, calls = measure(url, True, args.workers, rtt)
                seq, found_seq, _ = measure(url, False, args.workers, rtt)
                assert found == found_seq, (found, found_seq)
                print(f"{size:>6} {found:>6} {seeded:>7.1f} {rtt:>4.0f} {conc:>13.2f} {seq:>13.2f} "
                      f"{seq / conc:>7.1f}x {calls:>6} {calls / found:>9.2f}", flush=True)
                rows.append((size, rtt, conc, seq / conc))
    finally:
        moto.close()
    for size, rtt, conc, speedup in rows:
        if size == 1000 and rtt == args.rtt_ms:
            print(f"goal (issue 15), 1,000 resources with a {rtt:.0f} ms round trip: {conc:.1f} s concurrent "
                  f"({'met' if conc < 20 else 'MISSED'}: under 20 s), {speedup:.1f}x over sequential "
                  f"({'met' if speedup >= 4 else 'MISSED'}: at least 4x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
