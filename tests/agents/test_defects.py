"""What a senior reviewer found in generated designs, each fixed and held by a test: the design
is generated (the real workflow, or the planner and catalog for a requirement the extractor does
not read yet) and its HCL read back as a reviewer would."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from langgraph.checkpoint.memory import MemorySaver

from agents import planner
from agents.catalog import CATALOG, BuildContext
from agents.combiner import combine, fragment_data
from agents.handler import AgentHandler
from agents.naming import default_project
from agents.nodes import _settle
from agents.requirements import Requirements
from core.settings import Settings
from tests.agents.conftest import Recorder, text
from tests.agents.deploy_facts import blocks, container, one, policy, statements, variables

REQUESTS = {
    "static": "a static marketing website",
    "static_lb": "a static website with a CDN in front of a load balancer",
    "ecs_worker": "queue workers on ECS with SQS",
    "asg_worker": "queue workers on an auto scaling group with SQS, dev",
    "mysql": "a web app with MySQL in production for the project called shop",
    "secrets": "an API on lambda that stores api keys in secrets manager",
    "plain": "an API on lambda with DynamoDB",
    "config": "a production web app with postgres for the project called shop",
    "worker_lambda": "queue workers that process background jobs",
    "node": "a webhook receiver in node 20 on lambda",
    "node_old": "a webhook receiver in node 16 on lambda",
    "single_az": "a production web app with postgres and a redis cache, single AZ",
    "ha_staging": "a staging web app with postgres and a redis cache, highly available",
    "exact": "a dev web app with postgres on io1 storage and a cache.r7g.large redis cache, apply changes immediately",
    "dedicated": "an EC2 instance with dedicated tenancy for a legacy app in staging",
    "ports": "a web app in containers listening on port 3000",
}


@pytest.fixture(scope="module")
def designs() -> dict[str, Recorder]:
    async def run() -> dict[str, Recorder]:
        handler = AgentHandler(MemorySaver(), Settings(), review_checks={"parse"})
        out = {}
        for key, request in REQUESTS.items():
            ctx = Recorder(text(f"defect-{key}", request, non_interactive=True))
            await handler(ctx)
            assert ctx.last[0] == "done", (key, ctx.last)
            out[key] = ctx
        return out

    return asyncio.run(run())


def files(designs: dict[str, Recorder], key: str) -> dict[str, str]:
    return designs[key].module()["files"]


def design(req: Requirements) -> dict[str, str]:
    """The planner and catalog on requirements as given (what the workflow does after asking)."""
    plan = planner.plan(req)
    present = frozenset(plan.ids)
    parts = {bid: fragment_data(CATALOG[bid].fragment(BuildContext(req, present))) for bid in plan.ids}
    return combine(req, plan, parts).files


# (a) a static site is CloudFront in front of a private bucket, never a load balancer
def test_a_static_site_is_cloudfront_and_a_private_bucket_read_through_origin_access_control(designs: dict[str, Recorder]) -> None:
    for key in ("static", "static_lb"):
        res = blocks(files(designs, key))
        kinds = {a.split(".")[0] for a in res}
        assert not kinds & {"aws_lb", "aws_ecs_service", "aws_vpc", "aws_nat_gateway"}, (key, sorted(kinds))
        origin = one(res["aws_cloudfront_distribution.main"]["origin"])
        assert origin["domain_name"] == "${aws_s3_bucket.site.bucket_regional_domain_name}"
        assert origin["origin_access_control_id"] == "${aws_cloudfront_origin_access_control.site.id}"
        assert "custom_origin_config" not in origin
        assert one(res["aws_s3_bucket_public_access_block.site"])["restrict_public_buckets"] is True
        read = statements(policy(res["aws_s3_bucket_policy.site"]["policy"]))["CloudFrontReadOnly"]
        assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert read["Condition"]["StringEquals"]["AWS:SourceArn"] == "${aws_cloudfront_distribution.main.arn}"


# (b) alarms reach someone: the address is a variable without a default, said before apply
def test_the_alert_address_must_be_set_and_the_readme_and_reply_say_so(designs: dict[str, Recorder]) -> None:
    for key in ("static", "mysql"):
        mod = files(designs, key)
        assert "alert_email" in variables(mod) and variables(mod)["alert_email"] is None, key
        subscription = blocks(mod)["aws_sns_topic_subscription.alert_email"]
        assert "count" not in subscription and subscription["endpoint"] == "${var.alert_email}"
        before = mod["README.md"].split("## Set before you apply", 1)[1].split("\n## ", 1)[0]
        assert "`alert_email`" in before
        reply = designs[key].last[1] or ""
        assert "Set before you apply" in reply and "`alert_email`" in reply


# (c) a queue worker scales on its backlog, not on CPU
@pytest.mark.parametrize(("key", "address", "config"), [
    ("ecs_worker", "aws_appautoscaling_policy.queue", "target_tracking_scaling_policy_configuration"),
    ("asg_worker", "aws_autoscaling_policy.queue", "target_tracking_configuration"),
])
def test_a_queue_worker_scales_on_the_messages_waiting_per_worker(designs: dict[str, Recorder], key: str, address: str, config: str) -> None:
    res = blocks(files(designs, key))
    assert not [a for a in res if a.endswith(".cpu") and "policy" in a], key
    spec = one(one(res[address][config])["customized_metric_specification"])
    metrics = {m["id"]: m for m in spec["metrics"]}
    visible = one(one(metrics["visible"]["metric_stat"])["metric"])
    assert visible["metric_name"] == "ApproximateNumberOfMessagesVisible" and visible["namespace"] == "AWS/SQS"
    assert one(visible["dimensions"])["value"] == "${aws_sqs_queue.main.name}"
    assert metrics["backlog"]["return_data"] is True and "/" in metrics["backlog"]["expression"]
    assert one(res[address][config])["target_value"] == "${var.queue_messages_per_task}"
    # a web service still tracks CPU
    assert "aws_appautoscaling_policy.cpu" in blocks(files(designs, "ports"))


# (d) MySQL exports only the logs its parameters switch on
def test_mysql_exports_only_logs_its_parameter_group_enables(designs: dict[str, Recorder]) -> None:
    res = blocks(files(designs, "mysql"))
    db = res["aws_db_instance.main"]
    parameters = {p["name"]: p["value"] for p in res["aws_db_parameter_group.main"]["parameter"]}
    assert parameters["slow_query_log"] == "1" and parameters["log_output"] == "FILE"
    enables = {"general": "general_log", "slowquery": "slow_query_log"}
    for kind in db["enabled_cloudwatch_logs_exports"]:
        assert kind == "error" or parameters.get(enables[kind]) == "1", kind


# (e) the README says what the module holds about secrets, nothing more
def test_the_readme_says_only_what_the_module_holds_about_secrets(designs: dict[str, Recorder]) -> None:
    with_secret = files(designs, "secrets")["README.md"]
    assert "`aws_secretsmanager_secret.app`" in with_secret and "created empty" in with_secret
    for key in ("plain", "static"):
        assert "created empty" not in files(designs, key)["README.md"], key
    rds = files(designs, "config")["README.md"]
    assert "generated by RDS" in rds and "created empty" not in rds


# (f) AWS Config's role may deliver to the log bucket
def test_aws_config_delivers_with_a_role_that_may_write_to_the_log_bucket(designs: dict[str, Recorder]) -> None:
    res = blocks(files(designs, "config"))
    role_policy = res["aws_iam_role_policy.config_delivery"]
    assert role_policy["role"] == "${aws_iam_role.config.id}"
    stmts = statements(policy(role_policy["policy"]))
    write, check = stmts["WriteConfigHistory"], stmts["CheckLogBucket"]
    assert "s3:PutObject" in write["Action"] and write["Resource"].startswith("${aws_s3_bucket.logs.arn}/config/AWSLogs/")
    assert write["Condition"]["StringLike"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    assert "s3:GetBucketAcl" in check["Action"] and check["Resource"] == "${aws_s3_bucket.logs.arn}"
    assert "aws_iam_role_policy.config_delivery" in str(res["aws_config_delivery_channel.main"]["depends_on"])


# (g) a function and its queue mapping wait for the role's policy
def test_the_function_and_its_queue_mapping_wait_for_the_roles_policy(designs: dict[str, Recorder]) -> None:
    res = blocks(files(designs, "worker_lambda"))
    assert "aws_iam_role_policy.lambda" in str(res["aws_lambda_function.main"]["depends_on"])
    assert "aws_cloudwatch_log_group.lambda" in str(res["aws_lambda_function.main"]["depends_on"])
    assert "aws_iam_role_policy.lambda" in str(res["aws_lambda_event_source_mapping.queue"]["depends_on"])
    queue, fn = res["aws_sqs_queue.main"], res["aws_lambda_function.main"]
    assert queue["visibility_timeout_seconds"] >= 6 * fn["timeout"]


# (h) what the request states is what is built
def test_availability_as_asked_in_any_environment(designs: dict[str, Recorder]) -> None:
    single, ha = blocks(files(designs, "single_az")), blocks(files(designs, "ha_staging"))
    assert single["aws_db_instance.main"]["multi_az"] is False
    assert single["aws_elasticache_replication_group.main"]["num_cache_clusters"] == 1
    assert single["aws_nat_gateway.main"]["count"] == 1
    assert "CKV_AWS_157" in files(designs, "single_az")["database.tf"]  # the single-AZ choice says why
    assert ha["aws_db_instance.main"]["multi_az"] is True
    assert ha["aws_elasticache_replication_group.main"]["num_cache_clusters"] == 2
    assert ha["aws_elasticache_replication_group.main"]["automatic_failover_enabled"] is True
    assert ha["aws_nat_gateway.main"]["count"] == 2  # one per AZ


def test_storage_type_cache_node_type_and_apply_immediately_are_taken(designs: dict[str, Recorder]) -> None:
    res = blocks(files(designs, "exact"))
    db = res["aws_db_instance.main"]
    assert db["storage_type"] == "io1" and db["iops"] == 3000 and db["allocated_storage"] >= 100
    assert db["apply_immediately"] is True
    cache = res["aws_elasticache_replication_group.main"]
    assert cache["node_type"] == "cache.r7g.large" and cache["apply_immediately"] is True
    assert designs["exact"].module()["not_built"] == []


def test_dedicated_tenancy_and_the_application_port_are_taken(designs: dict[str, Recorder]) -> None:
    instance = blocks(files(designs, "dedicated"))["aws_instance.app"]
    assert instance["tenancy"] == "dedicated" and not instance["instance_type"].startswith("t")
    res = blocks(files(designs, "ports"))
    assert res["aws_lb_target_group.app"]["port"] == 3000
    assert res["aws_vpc_security_group_ingress_rule.app_from_alb"]["from_port"] == 3000
    assert one(res["aws_ecs_service.app"]["load_balancer"])["container_port"] == 3000
    assert container(files(designs, "ports"))["portMappings"] == [{"containerPort": 3000, "protocol": "tcp"}]


def test_a_nodejs_function_gets_a_nodejs_handler_and_a_supported_runtime(designs: dict[str, Recorder]) -> None:
    # node 16 is past Lambda's support: the current Node.js runtime, said as assumed
    for key, runtime in (("node", "nodejs20.x"), ("node_old", "nodejs22.x")):
        mod = files(designs, key)
        fn = blocks(mod)["aws_lambda_function.main"]
        assert fn["runtime"] == runtime and fn["handler"] == "index.handler"
        source = one(blocks(mod, "data")["archive_file.lambda"]["source"])
        assert source["filename"] == "index.mjs" and "export const handler" in source["content"]
        assert "pip install" not in mod["README.md"] and "npm install" in mod["README.md"]
    assert "`lambda_runtime` = `nodejs22.x`" in files(designs, "node_old")["README.md"].split("## Assumed defaults", 1)[1]
    python = files(designs, "plain")
    assert one(blocks(python, "data")["archive_file.lambda"]["source"])["filename"] == "index.py"


def test_an_internal_application_has_an_internal_load_balancer_and_no_public_way_in() -> None:
    req = Requirements(project="admin", workload="web_app", environment="production", region="eu-west-1",
                       internal=True, database="postgres", wants_database=True)
    assert "cloudfront" not in planner.choose(req)
    mod = design(req)
    res = blocks(mod)
    lb = res["aws_lb.main"]
    assert lb["internal"] is True and lb["subnets"] == "${aws_subnet.private[*].id}"
    ingress = [b for a, b in res.items() if a.startswith("aws_vpc_security_group_ingress_rule.alb")]
    assert ingress and all(b.get("cidr_ipv4") == "${aws_vpc.main.cidr_block}" for b in ingress)
    assert not any("0.0.0.0/0" == b.get("cidr_ipv4") for a, b in res.items() if "ingress" in a)
    assert "aws_cloudfront_distribution.main" not in res and "VPN" in mod["README.md"]
    # with a domain it still serves HTTPS, inside the VPC
    https = blocks(design(req.model_copy(update={"domain": "admin.acme.io"})))
    assert https["aws_lb_listener.https"]["protocol"] == "HTTPS" and https["aws_lb.main"]["internal"] is True


# names and state that never collide
def test_the_default_project_name_comes_from_the_request_or_the_conversation() -> None:
    req = Requirements(workload="web_app", domain="shop.example.com")
    assert default_project(req, "c-1") == "shop"
    assert _settle(req, "us-east-1", "c-1").project == "shop"
    anonymous = Requirements(workload="web_app")
    first, second = _settle(anonymous, "us-east-1", "c-1").project, _settle(anonymous, "us-east-1", "c-2").project
    assert first != "app" and re.fullmatch(r"app-[0-9a-f]{4}", first or "") and first != second
    assert _settle(anonymous, "us-east-1", "c-1").project == first  # stable for the conversation
    assert _settle(anonymous, "us-east-1", "c-1").assumed["project"] == first


def test_explicit_names_carry_the_environment_outside_production() -> None:
    def names(environment: str) -> dict[str, Any]:
        req = Requirements(project="shop", workload="worker", environment=environment, region="us-east-1",
                           names={"sqs": "jobs", "s3": "invoices"}, components=["s3"])
        res = blocks(design(req))
        return {"queue": res["aws_sqs_queue.main"]["name"], "bucket": res["aws_s3_bucket.app"]["bucket"]}

    production, staging = names("production"), names("staging")
    assert production["queue"] == "jobs" and staging["queue"] == "jobs-staging"
    assert production["bucket"] != staging["bucket"] and "invoices-staging" in staging["bucket"]


@pytest.mark.parametrize("update, listening, says, never", [
    ({"internal": True}, {80: "HTTP"}, "plain HTTP on port 80", ("TLS", "redirect")),
    ({"internal": True, "domain": "admin.acme.io"}, {443: "HTTPS", 80: "HTTP"}, "TLS 1.3", ()),
    ({}, {80: "HTTP"}, "from CloudFront", ("redirects HTTP to HTTPS",)),
    ({"domain": "shop.acme.io"}, {443: "HTTPS", 80: "HTTP"}, "redirects HTTP to HTTPS", ()),
], ids=["internal-no-domain", "internal-domain", "public-behind-cloudfront", "public-domain"])
def test_the_load_balancer_is_what_the_readme_says_and_reaches_only_the_app(
        update: dict[str, Any], listening: dict[int, str], says: str, never: tuple[str, ...]) -> None:
    req = Requirements(project="shop", workload="web_app", environment="production", region="eu-west-1",
                       ports=[3000]).model_copy(update=update)
    mod = design(req)
    res = blocks(mod)
    listeners = {b["port"]: b["protocol"] for a, b in res.items() if a.startswith("aws_lb_listener.")}
    assert listeners == listening
    line = next(ln for ln in mod["README.md"].splitlines() if ln.startswith("- **Application Load Balancer**"))
    assert says in line and not any(w in line for w in never), line
    # out: to the application's security group on its port, nothing else
    out = [b for a, b in res.items() if a.startswith("aws_vpc_security_group_egress_rule.")
           and b["security_group_id"] == "${aws_security_group.alb.id}"]
    assert out == [{**out[0], "from_port": 3000, "to_port": 3000,
                    "referenced_security_group_id": "${aws_security_group.app.id}"}]
    assert "cidr_ipv4" not in out[0]
    inbound = res["aws_vpc_security_group_ingress_rule.app_from_alb"]
    assert inbound["from_port"] == 3000 and inbound["referenced_security_group_id"] == "${aws_security_group.alb.id}"
