"""Each pattern a detector looks for, seeded into moto's CloudWatch and collected for real, and
clean series (noise, daily and weekly seasonality, a deploy blip) that must raise nothing."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.terraform.cost import prices
from monitor.analyze import detect
from monitor.detectors import anomaly as anomaly_detector
from scanner.models import Inventory, Resource
from tests.monitor import series as gen
from tests.monitor.inventories import alb_arn, database, function, instance

pytestmark = pytest.mark.timeout(90)
GB = 1024 ** 3


async def collect_and_detect(project: str, metrics: Any, collector: Any, client_for: Any, inv: Inventory, *,
                             hours: float, period: int = 300, now: int | None = None) -> list[Any]:
    report = await collector(backfill_s=int(hours * 3600) + period, period=period).collect(project, inv, client_for)
    assert not report.problems, report.summary()
    return (await detect(metrics, project, inv, now)).findings


def by(findings: list[Any], detector: str) -> list[Any]:
    return [f for f in findings if f.detector == detector]


async def test_instances_are_judged_as_compute_optimizer_does(
        project, metrics, collector, cw, client_for, region) -> None:
    now = gen.now_aligned(3600)
    client = cw(region)
    traffic = gen.noise(now, 40, 5e7, 1e6, period=3600)
    for ident, cpu, hours in (("i-0big", (12, 2), 40), ("i-0new", (12, 2), 20), ("i-0busy", (60, 3), 40),
                              ("i-0idle", (1.5, 0.3), 40)):
        gen.put(client, "AWS/EC2", "CPUUtilization", {"InstanceId": ident},
                gen.noise(now, hours, *cpu, seed=hours, period=3600))
        quiet = gen.noise(now, hours, 2000, 100, period=3600)  # 24 KB a day in and out: nothing
        for name in ("NetworkIn", "NetworkOut"):
            gen.put(client, "AWS/EC2", name, {"InstanceId": ident}, quiet if ident == "i-0idle" else traffic)
    inv = Inventory(regions=[region], resources=[
        instance(region, "i-0big", "m5.xlarge", name="web-1", tags={"aws:autoscaling:groupName": "web"}),
        instance(region, "i-0new", "m5.xlarge", tags={"aws:autoscaling:groupName": "web"}),
        instance(region, "i-0busy", "m5.xlarge", tags={"aws:autoscaling:groupName": "web"}),
        instance(region, "i-0idle", "t3.large", tags={"aws:autoscaling:groupName": "batch"})])

    found = {f.resource.id: f for f in by(await collect_and_detect(
        project, metrics, collector, client_for, inv, hours=40, period=3600), "rightsizing")}

    assert set(found) == {"i-0big", "i-0idle"}  # 20 hours is too little; 60% CPU fits nothing smaller
    big = found["i-0big"]
    assert big.change_request == "rightsize instance i-0big (web-1) from m5.xlarge to m5.large"
    factor = prices()["region_factor"].get(region, 1.0)
    assert big.monthly_usd == pytest.approx(-0.096 * 730 * factor, abs=0.02)  # m5.xlarge is twice m5.large
    n = big.numbers
    assert n["hours_of_data"] == 40 and n["lookback_days"] == 14 and n["headroom_percent"] == 20
    assert 12 < n["cpu_p99_5_percent"] < 20 and n["projected_cpu_p99_5_percent"] == pytest.approx(
        2 * n["cpu_p99_5_percent"], abs=0.02)
    assert "memory" in n and big.severity == "info"
    idle = found["i-0idle"]
    assert idle.what == "idle" and idle.change_request.endswith("from t3.large to t3.nano")
    assert "stopping it would save all of it" in idle.recommendation["en"]
    assert idle.numbers["network_mb_per_day"] < 5


async def test_sustained_saturation_is_found_and_a_blip_is_not(
        project, metrics, collector, cw, client_for, region) -> None:
    now = gen.now_aligned()
    client = cw(region)
    hot = gen.last(gen.noise(now, 8, 40, 5, seed=4), 36, lambda _v: 95.0)  # the last 3 hours at 95%
    blip = gen.last(gen.noise(now, 8, 40, 5, seed=5), 2, 99.0)  # ten minutes at 99%
    gen.put(client, "AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": "db-hot"}, hot)
    gen.put(client, "AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": "db-blip"}, blip)
    inv = Inventory(regions=[region], resources=[database(region, "db-hot", multi_az=True),
                                                 database(region, "db-blip", multi_az=True)])

    found = by(await collect_and_detect(project, metrics, collector, client_for, inv, hours=8), "saturation")

    assert [f.resource.id for f in found] == ["db-hot"]
    hot_f = found[0]
    assert hot_f.severity == "critical" and hot_f.numbers["ongoing"] is True
    assert hot_f.numbers["hours"] == 3.0 and hot_f.numbers["peak"] == 95.0
    assert hot_f.change_request == "resize database instance db-hot from db.m5.large to db.m5.xlarge"
    assert hot_f.window_end == now and hot_f.window_start == now - 3 * 3600


async def test_an_error_spike_is_found_and_a_deploy_blip_is_not(
        project, metrics, collector, cw, client_for, region) -> None:
    now = gen.now_aligned()
    client = cw(region)
    calls = gen.noise(now, 24, 600, 20, seed=6)
    errors = gen.noise(now, 24, 1.5, 1.0, seed=7)
    gen.put(client, "AWS/Lambda", "Invocations", {"FunctionName": "fn-bad"}, calls)
    gen.put(client, "AWS/Lambda", "Errors", {"FunctionName": "fn-bad"}, gen.last(errors, 6, 120.0))
    gen.put(client, "AWS/Lambda", "Invocations", {"FunctionName": "fn-deploy"}, calls)
    deploy = gen.with_points(errors, {now - 3 * 3600: 240.0})  # one bad period, three hours ago
    gen.put(client, "AWS/Lambda", "Errors", {"FunctionName": "fn-deploy"}, gen.last(deploy, 1, 200.0))
    inv = Inventory(regions=[region], resources=[function(region, "fn-bad"), function(region, "fn-deploy")])

    found = by(await collect_and_detect(project, metrics, collector, client_for, inv, hours=24), "spikes")

    assert [(f.resource.id, f.metric) for f in found] == [("fn-bad", "errors")]
    spike = found[0]
    assert spike.severity == "critical" and spike.numbers["minutes"] == 30
    assert 0.15 < spike.numbers["peak_rate"] < 0.25 and spike.numbers["usual_rate"] < 0.01
    assert spike.numbers["failures"] == 720 and spike.change_request is None


async def test_storage_running_out_gets_a_date_and_noise_does_not(
        project, metrics, collector, cw, client_for, region) -> None:
    now = gen.now_aligned(3600)
    client = cw(region)
    falling = gen.shape(now, 72, lambda i, _t: 12 * GB - i * (3 * GB / 24) + (i % 3 - 1) * 5e7, period=3600)
    flat = gen.noise(now, 72, 15 * GB, 2e8, seed=8, period=3600)
    cleanup = gen.with_points(gen.noise(now, 72, 15 * GB, 1e8, seed=9, period=3600),
                              {now - 30 * 3600: 10 * GB, now - 29 * 3600: 10 * GB})  # a migration's temp files
    for ident, points in (("db-disk", falling), ("db-flat", flat), ("db-tmp", cleanup)):
        gen.put(client, "AWS/RDS", "FreeStorageSpace", {"DBInstanceIdentifier": ident}, points)
    inv = Inventory(regions=[region], resources=[database(region, d, multi_az=True) for d in ("db-disk", "db-flat", "db-tmp")])

    found = by(await collect_and_detect(project, metrics, collector, client_for, inv, hours=72, period=3600), "storage")

    assert [f.resource.id for f in found] == ["db-disk"]
    disk = found[0]
    free_now = falling[-1][1]
    expected_out = datetime.fromtimestamp(now + free_now / (3 * GB / 86400), UTC)
    assert disk.numbers["runs_out"] == expected_out.strftime("%Y-%m-%d") or abs(
        datetime.fromisoformat(disk.numbers["runs_out"]).replace(tzinfo=UTC) - expected_out) < timedelta(days=1)
    assert disk.numbers["gb_per_day"] == pytest.approx(3.0, rel=0.02) and disk.numbers["r2"] > 0.99
    assert disk.severity == "critical"
    assert disk.change_request.startswith("increase the allocated storage of database instance db-disk from 20 GB to ")
    assert disk.numbers["recommended_gb"] >= 20 + 3 * 90 and disk.monthly_usd > 0


def small_account(moto_url: str, region: str) -> dict[str, Any]:
    """A VPC whose private subnets in two zones leave through one NAT gateway, a single-AZ
    database, a load balancer with one instance behind it, an instance with nothing in front."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=moto_url)

    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = {tier: [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{n + i}.0/24",
                                        AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
                      for i, zone in enumerate("ab")] for tier, n in (("public", 0), ("private", 10))}
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnets["public"][0], AllocationId=eip)["NatGateway"]["NatGatewayId"]
    rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    for sub in subnets["private"]:
        ec2.associate_route_table(RouteTableId=rt, SubnetId=sub)
    image = "ami-12c6146b"  # one of moto's own images (describe_images costs seconds)
    app, lonely = (ec2.run_instances(ImageId=image, InstanceType="t3.small", MinCount=1, MaxCount=1,
                                     SubnetId=subnets["private"][i])["Instances"][0]["InstanceId"] for i in (0, 1))
    elb = client("elbv2")
    lb = elb.create_load_balancer(Name="shop-alb", Subnets=subnets["public"], Type="application")["LoadBalancers"][0]
    tg = elb.create_target_group(Name="shop-app", Protocol="HTTP", Port=8080, VpcId=vpc,
                                 TargetType="instance")["TargetGroups"][0]
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": app, "Port": 8080}])
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    rds = client("rds")
    rds.create_db_subnet_group(DBSubnetGroupName="shop-db", DBSubnetGroupDescription="data",
                               SubnetIds=subnets["private"])
    for ident, multi in (("shop-pg", False), ("shop-pg-ha", True)):
        rds.create_db_instance(DBInstanceIdentifier=ident, DBInstanceClass="db.t3.medium", Engine="postgres",
                               AllocatedStorage=50, MasterUsername="shop", MasterUserPassword="n0t-Used-here",
                               DBSubnetGroupName="shop-db", MultiAZ=multi)
    return {"vpc": vpc, "nat": nat, "app": app, "lonely": lonely, "tg": tg["TargetGroupArn"]}


async def test_single_points_of_failure_are_read_from_the_scanned_account(
        project, metrics, moto_url, region) -> None:
    from scanner import Scanner

    facts = small_account(moto_url, region)
    inv = Scanner([region], endpoint_url=moto_url).scan()

    found = by((await detect(metrics, project, inv)).findings, "spof")

    what = {(f.resource.id, f.what) for f in found}
    assert what == {("shop-pg", "single-az"), (facts["nat"], "one-nat"), (facts["tg"], "one-target"),
                    (facts["lonely"], "alone")}
    nat = next(f for f in found if f.what == "one-nat")
    assert nat.numbers["zones"] == [f"{region}a", f"{region}b"]
    factor = prices()["region_factor"].get(region, 1.0)
    assert nat.monthly_usd == pytest.approx(0.045 * 730 * factor, abs=0.01)
    assert nat.change_request.startswith(f"add a NAT gateway in each availability zone of VPC {facts['vpc']}")
    pg = next(f for f in found if f.resource.id == "shop-pg")
    assert pg.change_request == "enable Multi-AZ on database instance shop-pg"
    assert pg.monthly_usd == pytest.approx(0.068 * 730 * factor, abs=0.01)  # a standby of db.t3.medium
    one = next(f for f in found if f.what == "one-target")
    assert one.numbers["target"] == facts["app"] and one.severity == "warning"


async def test_an_anomaly_against_the_daily_pattern_and_none_in_it(
        project, metrics, collector, cw, client_for, region) -> None:
    now = gen.now_aligned(3600)
    client = cw(region)
    normal = gen.daily(now, 10 * 24, 20, 150, 4, seed=10, period=3600)
    spiked = gen.last(normal, 3, lambda v: v + 120)  # 120 more connections than usual at this hour
    blip = gen.with_points(normal, {now - 3600 * 2: normal[-2][1] + 150})  # one unusual hour
    for ident, points in (("db-anom", spiked), ("db-daily", normal), ("db-blip2", blip)):
        gen.put(client, "AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": ident}, points)
    inv = Inventory(regions=[region], resources=[database(region, d, multi_az=True)
                                                 for d in ("db-anom", "db-daily", "db-blip2")])

    found = by(await collect_and_detect(project, metrics, collector, client_for, inv, hours=10 * 24,
                                        period=3600), "anomaly")

    assert [f.resource.id for f in found] == ["db-anom"]
    n = found[0].numbers
    assert n["seasonality"] == "day" and n["direction"] == "up" and n["hours"] == 3 and n["z"] > 6
    assert n["observed"] - n["expected"] == pytest.approx(120, abs=25)


def last_sunday_noon(now: int) -> int:
    day = datetime.fromtimestamp(now - 7200, UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    while day.weekday() != 6 or day.timestamp() > now - 7200:
        day -= timedelta(days=1)
    return int(day.timestamp())


async def test_weekends_are_normal_by_the_hour_of_the_week(
        project, metrics, collector, cw, client_for, region) -> None:
    now = gen.now_aligned(3600)
    sunday = last_sunday_noon(now)
    client = cw(region)
    traffic = gen.weekly(now, 26 * 24, 1000, 100, 20, seed=11)
    busy_sunday = [(t, 1000.0 if sunday - 3 * 3600 <= t < sunday else v) for t, v in traffic]
    arns = {name: alb_arn(region, name) for name in ("calm", "odd")}
    for name, points in (("calm", traffic), ("odd", busy_sunday)):
        gen.put(client, "AWS/ApplicationELB", "RequestCount", {"LoadBalancer": f"app/{name}/50dc6c495c0c9188"}, points)
    inv = Inventory(regions=[region], resources=[
        Resource(kind="load_balancer", id=arn, arn=arn, region=region, name=name, attrs={"type": "application"})
        for name, arn in arns.items()])

    found = by(await collect_and_detect(project, metrics, collector, client_for, inv, hours=26 * 24,
                                        period=3600, now=sunday), "anomaly")

    # a quiet Sunday is what Sundays look like; weekday traffic on a Sunday is not
    assert [f.resource.name for f in found] == ["odd"]
    assert found[0].numbers["seasonality"] == "week" and found[0].numbers["expected"] < 200


async def test_clean_series_raise_nothing(project, metrics, collector, cw, client_for, region) -> None:
    now = gen.now_aligned(3600)
    client = cw(region)
    hours, h = 5 * 24, 3600
    dims = {"AWS/EC2": {"InstanceId": "i-0calm"}, "AWS/RDS": {"DBInstanceIdentifier": "db-calm"},
            "AWS/Lambda": {"FunctionName": "fn-calm"}, "AWS/NATGateway": {"NatGatewayId": "nat-0calm"}}
    deploy_hour = now - 30 * h
    seeded = {
        ("AWS/EC2", "CPUUtilization"): gen.daily(now, hours, 30, 60, 3, seed=12, period=h),
        ("AWS/EC2", "NetworkIn"): gen.noise(now, hours, 4e8, 2e7, seed=13, period=h),
        ("AWS/EC2", "NetworkOut"): gen.noise(now, hours, 3e8, 2e7, seed=14, period=h),
        ("AWS/RDS", "CPUUtilization"): gen.with_points(gen.noise(now, hours, 35, 4, seed=15, period=h), {deploy_hour: 97.0}),
        ("AWS/RDS", "DatabaseConnections"): gen.daily(now, hours, 10, 80, 3, seed=16, period=h),
        ("AWS/RDS", "FreeStorageSpace"): gen.noise(now, hours, 40 * GB, 3e8, seed=17, period=h),
        ("AWS/Lambda", "Invocations"): gen.daily(now, hours, 2000, 9000, 150, seed=18, period=h),
        ("AWS/Lambda", "Errors"): gen.with_points(gen.noise(now, hours, 8, 3, seed=19, period=h), {deploy_hour: 900.0}),
        ("AWS/Lambda", "Duration"): gen.noise(now, hours, 180, 15, seed=20, period=h),
        ("AWS/NATGateway", "PacketsDropCount"): gen.noise(now, hours, 3, 2, seed=21, period=h),
        ("AWS/NATGateway", "BytesOutToDestination"): gen.daily(now, hours, 1e8, 6e8, 2e7, seed=22, period=h),
    }
    for (namespace, name), points in seeded.items():
        gen.put(client, namespace, name, dims[namespace], points)
    inv = Inventory(regions=[region], resources=[
        instance(region, "i-0calm", "m5.large", tags={"aws:autoscaling:groupName": "web"}),
        database(region, "db-calm", allocated_storage=100, multi_az=True),
        function(region, "fn-calm"), Resource(kind="nat_gateway", id="nat-0calm", region=region)])

    findings = await collect_and_detect(project, metrics, collector, client_for, inv, hours=hours, period=h)

    assert findings == [], [(f.detector, f.resource.id, f.numbers) for f in findings]
    assert await metrics.insights(project) == []


def test_the_anomaly_detector_needs_a_baseline() -> None:
    from core.store.metrics_store import SeriesSpec
    from monitor.insight import Points

    spec = SeriesSpec("eu-west-1", "db_instance", "db", "connections", "AWS/RDS", "DatabaseConnections",
                      "Maximum", 3600, (("DBInstanceIdentifier", "db"),), "Count")
    now = 1_800_000_000 // 3600 * 3600
    two_days = Points(spec, [now - 3600 * k for k in range(48, 0, -1)], [10.0] * 47 + [500.0])
    assert anomaly_detector.judge(two_days, now, "up") is None  # not judged: under 3 days of history
    assert math.isclose(anomaly_detector.hour_of_week(int(datetime(2026, 11, 30, 5, tzinfo=UTC).timestamp())), 5)
