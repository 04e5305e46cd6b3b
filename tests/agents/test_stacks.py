"""The stacks startups ask for, as founders ask for them: each request yields its blueprint,
wired to what uses it, with nothing named left under "Not built", and the whole design plans
with Terraform offline with no deploy finding."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from agents.catalog.gpu import AMI
from agents.honesty import not_built
from agents.requirements import Requirements
from core.terraform.cost import estimate
from core.terraform.parse import parse_module
from tests.agents.deploy_facts import deploy_defects, policy, variables
from tests.agents.test_corpus import resources, run_scenario

WORDPRESS = ["aws_ecs_service", "aws_ecs_task_definition", "aws_efs_file_system", "aws_efs_mount_target",
             "aws_efs_access_point", "aws_db_instance", "aws_secretsmanager_secret"]
STACKS: list[dict[str, Any]] = [
    {"id": "mobile-backend", "request": "a serverless API for our mobile app with sign-up, login and photo uploads",
     "expect": ["aws_cognito_user_pool", "aws_cognito_user_pool_client", "aws_apigatewayv2_authorizer",
                "aws_s3_bucket_cors_configuration", "aws_lambda_function"],
     "capabilities": {"auth", "direct_upload"}},
    {"id": "mobile-backend-ko", "request": "모바일 앱 백엔드: 회원가입, 로그인, 사진 업로드가 필요해요. Lambda 기반 API로 해주세요",
     "expect": ["aws_cognito_user_pool", "aws_s3_bucket_cors_configuration", "aws_apigatewayv2_api"],
     "capabilities": {"auth", "direct_upload"}},
    {"id": "clickstream-lake", "request": "collect our clickstream events into a data lake as Parquet we can query with Athena",
     "expect": ["aws_kinesis_firehose_delivery_stream", "aws_glue_catalog_table", "aws_athena_workgroup"],
     "capabilities": {"athena", "parquet", "streaming"}},
    {"id": "realtime-chat", "request": "a real-time chat backend over websockets on Lambda",
     "expect": ["aws_apigatewayv2_api", "aws_dynamodb_table", "aws_apigatewayv2_route"],
     "capabilities": {"websocket"}},
    {"id": "contractor-access", "request": "two EC2 app servers in an auto scaling group; our contractors need shell access through Session Manager, no SSH",
     "expect": ["aws_ssm_document", "aws_iam_group", "aws_autoscaling_group"],
     "capabilities": {"session_manager"}},
    {"id": "wordpress", "request": "a WordPress site with MySQL for our bakery's recipes, production",
     "expect": WORDPRESS, "capabilities": {"php"}},
    {"id": "wordpress-ko", "request": "워드프레스 사이트를 MySQL과 함께 만들어 주세요. 서울 리전, 운영 환경",
     "expect": WORDPRESS, "capabilities": {"php"}},
    {"id": "wordpress-cheap", "request": "a cheap WordPress blog for our small team",
     "expect": WORDPRESS, "capabilities": {"php"}},
    {"id": "gpu-llama", "request": "serve our fine-tuned Llama model on GPUs",
     "expect": ["aws_autoscaling_group", "aws_launch_template", "aws_lb_target_group", "aws_autoscaling_policy"],
     "capabilities": {"gpu"}},
]


@pytest.fixture(scope="module")
def designs() -> dict[str, Any]:
    async def run_all() -> dict[str, Any]:
        return {s["id"]: await run_scenario(s) for s in STACKS}

    return asyncio.run(run_all())


@pytest.mark.parametrize("stack", STACKS, ids=[s["id"] for s in STACKS])
def test_the_stack_is_built_and_wired(designs: dict[str, Any], stack: dict[str, Any]) -> None:
    ctx = designs[stack["id"]]
    kind, message, _ = ctx.last
    assert kind == "done", message
    module = ctx.module()
    files = module["files"]
    found = {address.split(".")[0] for address in resources(files)}
    assert set(stack["expect"]) <= found, sorted(set(stack["expect"]) - found)
    assert deploy_defects(files) == []
    failing = [f for f in module["findings"] if f.get("severity") in {"error", "critical", "high"} and not f.get("skip_reason")]
    assert failing == [], failing[:3]
    tf = "\n".join(body for name, body in files.items() if name.endswith(".tf"))
    if stack["id"].endswith("-ko"):  # a Korean request's module README is Korean too
        assert "## 무엇을 왜 만드는지" in files["README.md"] and "## 사용 방법" in files["README.md"]
    # every capability the request named is in the design: none is listed as not built
    missing = [what for what, _why in not_built(Requirements(language="en", asked=sorted(stack["capabilities"])),
                                                  {"items": []}, files)]
    assert missing == [], missing
    if stack["id"].startswith("mobile-backend"):
        parsed = resources(files)
        route = parsed["aws_apigatewayv2_route.default"]
        assert route["authorization_type"] == "JWT" and "aws_apigatewayv2_authorizer.cognito.id" in str(route["authorizer_id"])
        function = parsed["aws_lambda_function.main"]
        env = json.dumps(function["environment"])
        assert "UPLOAD_BUCKET" in env and "COGNITO_USER_POOL_ID" in env
        assert "aws_s3_bucket.uploads.arn" in tf  # the function's role may sign uploads
    if stack["id"] == "realtime-chat":
        assert re.search(r'protocol_type\s*=\s*"WEBSOCKET"', tf)
        assert "execute-api:ManageConnections" in tf
    if stack["id"] == "clickstream-lake":
        assert "parquet_ser_de" in tf and "projection.enabled" in tf


def test_the_stacks_plan_with_terraform_with_no_deploy_finding(designs: dict[str, Any]) -> None:
    from core.terraform.deploy import check_deploy
    from core.terraform.parse import parse_module
    from core.terraform.plan_check import check_plan_many
    from core.terraform.plugin import toolchain
    from tests.agents.deploy_facts import variables

    if "aws" not in toolchain.available_providers():
        pytest.fail("the provider plugin schemas are missing: run scripts/setup-validation")
    by_region: dict[str, dict[str, Any]] = {}
    for sid, ctx in designs.items():
        files = ctx.module()["files"]
        by_region.setdefault(variables(files)["region"], {})[sid] = parse_module(files)
    problems: dict[str, list[tuple[str, str, str]]] = {}
    for region, modules in sorted(by_region.items()):
        for sid, result in check_plan_many(modules, region).items():
            found = [(f.check_id, f.address, f.message[:160]) for f in result.findings if f.failing]
            if not result.planned:
                found.append(("plan", "", result.summary))
            found += [(f.check_id, f.address, f.message[:160]) for f in check_deploy(result.show, modules[sid]) if f.failing]
            if found:
                problems[sid] = found
    assert problems == {}


def _one(value: Any) -> dict[str, Any]:
    """A nested block as parsed (a list of one mapping)."""
    return value[0] if isinstance(value, list) else value


def _container_from_hcl(text: str) -> dict[str, Any]:
    """The one container of the task's ``jsonencode([{...}])``, references kept as written."""
    containers = policy(text)
    assert len(containers) == 1, containers
    return dict(containers[0])


def _monthly(files: dict[str, str]) -> float:
    """The review's cost estimate of the module (its cost step), in USD a month."""
    return estimate(parse_module(files)).monthly_total


@pytest.mark.parametrize("sid", ["wordpress", "wordpress-ko", "wordpress-cheap"])
def test_wordpress_runs_the_official_image_with_content_on_efs_and_the_password_from_a_secret(designs: dict[str, Any], sid: str) -> None:
    ctx = designs[sid]
    files = ctx.module()["files"]
    parsed = resources(files)
    tf = "\n".join(body for name, body in files.items() if name.endswith(".tf"))
    # the official php-apache image, pinned by tag (never latest), on port 80 behind the load balancer
    image = variables(files)["container_image"]
    assert re.fullmatch(r"wordpress:\d+\.\d+\.\d+-php\d\.\d-apache", image), image
    container = _container_from_hcl(parsed["aws_ecs_task_definition.app"]["container_definitions"])
    assert [p["containerPort"] for p in container["portMappings"]] == [80]
    assert _one(parsed["aws_ecs_service.app"]["load_balancer"])["container_port"] == 80
    group = parsed["aws_lb_target_group.app"]
    assert group["port"] == 80 and _one(group["health_check"])["path"] == "/wp-login.php"
    # WordPress writes to /var/www/html at start; wp-content is the EFS volume, through its access point
    assert container["readonlyRootFilesystem"] is False
    mount = next(m for m in container["mountPoints"] if m["containerPath"] == "/var/www/html/wp-content")
    task = parsed["aws_ecs_task_definition.app"]
    volume = next(_one(v) for v in task["volume"] if _one(v)["name"] == mount["sourceVolume"])
    efs = _one(volume["efs_volume_configuration"])
    assert efs["transit_encryption"] == "ENABLED" and "aws_efs_file_system.wordpress.id" in efs["file_system_id"]
    auth = _one(efs["authorization_config"])
    assert auth["iam"] == "ENABLED" and "aws_efs_access_point.wordpress.id" in auth["access_point_id"]
    fs = parsed["aws_efs_file_system.wordpress"]
    assert fs["encrypted"] is True and "aws_kms_key.main.arn" in fs["kms_key_id"]
    targets = parsed["aws_efs_mount_target.wordpress"]
    assert "aws_subnet.private[count.index].id" in targets["subnet_id"] and "length(local.azs)" in str(targets["count"])
    # NFS reaches the file system from the tasks' security group only
    nfs = [r for a, r in parsed.items() if a.startswith("aws_vpc_security_group_ingress_rule.") and r.get("from_port") == 2049]
    assert len(nfs) == 1 and "aws_security_group.app.id" in nfs[0]["referenced_security_group_id"] and "cidr_ipv4" not in nfs[0]
    assert "aws_security_group.efs.id" in str(targets["security_groups"])
    assert _one(parsed["aws_efs_access_point.wordpress"]["posix_user"])["uid"] == 33
    assert _one(parsed["aws_efs_backup_policy.wordpress"]["backup_policy"])["status"] == "ENABLED"  # production
    # MySQL; host, name and user as environment, the password a Secrets Manager reference only
    db = parsed["aws_db_instance.main"]
    assert db["engine"] == "mysql" and db["manage_master_user_password"] is True
    env = {e["name"]: e["value"] for e in container["environment"]}
    secrets = {e["name"]: e["valueFrom"] for e in container["secrets"]}
    assert "aws_db_instance.main.address" in env["WORDPRESS_DB_HOST"]
    assert env["WORDPRESS_DB_NAME"] == "app" and env["WORDPRESS_DB_USER"] == "app_admin"
    assert "WORDPRESS_DB_PASSWORD" not in env
    assert secrets["WORDPRESS_DB_PASSWORD"] == "${aws_db_instance.main.master_user_secret[0].secret_arn}:password::"
    assert "MYSQLI_CLIENT_SSL" in env["WORDPRESS_CONFIG_EXTRA"]  # the database refuses plain connections
    # the salts: generated once, the same for every task, from one secret
    salts = {k: v for k, v in secrets.items() if k.endswith(("_KEY", "_SALT"))}
    assert len(salts) == 8 and all(v.startswith("${aws_secretsmanager_secret.wordpress_salts.arn}:") for v in salts.values())
    assert "random_password" in tf and "secret_string" in files["wordpress.tf"]
    # the execution role reads exactly those secrets at task start
    reads = parsed["aws_iam_role_policy.task_execution_secrets"]["policy"]
    assert "master_user_secret[0].secret_arn" in reads and "aws_secretsmanager_secret.wordpress_salts.arn" in reads
    if sid == "wordpress-ko":
        assert variables(files)["region"] == "ap-northeast-2"
        assert re.search("[\uac00-\ud7a3]", ctx.last[1] or "")


def test_the_cheap_wordpress_is_one_task_on_a_single_az_database_and_costs_less(designs: dict[str, Any]) -> None:
    full = designs["wordpress"].module()["files"]
    cheap = designs["wordpress-cheap"].module()["files"]
    full_res, cheap_res = resources(full), resources(cheap)
    assert variables(full)["desired_count"] == 2 and full_res["aws_db_instance.main"]["multi_az"] is True
    assert variables(cheap)["desired_count"] == 1 and cheap_res["aws_db_instance.main"]["multi_az"] is False
    assert len([a for a in cheap_res if a.startswith("aws_nat_gateway.")]) == 1 and cheap_res["aws_nat_gateway.main"]["count"] == 1
    full_cost, cheap_cost = _monthly(full), _monthly(cheap)
    # a Multi-AZ MySQL, two NAT gateways, two tasks and a load balancer cost more than $150 a month
    assert full_cost > 150 and 50 < cheap_cost < full_cost - 50, (full_cost, cheap_cost)


def test_gpu_serving_runs_the_model_server_on_g5_instances_of_the_deep_learning_ami(designs: dict[str, Any]) -> None:
    ctx = designs["gpu-llama"]
    files = ctx.module()["files"]
    parsed = resources(files)
    template = parsed["aws_launch_template.app"]
    assert template["instance_type"] == "g5.xlarge"
    assert template["image_id"] == "${data.aws_ssm_parameter.ami.value}"
    assert f'name = "{AMI}"' in files["compute.tf"]
    root = _one(_one(template["block_device_mappings"])["ebs"])
    assert root["volume_size"] >= 100 and root["encrypted"] is True and "aws_kms_key.main.arn" in root["kms_key_id"]
    # the server starts as a container with the NVIDIA runtime, from a pinned image, with the team's model
    script = files["gpu.tf"]
    assert "base64encode(local.model_server_user_data)" in template["user_data"]
    assert "--runtime nvidia --gpus all" in script and "--model ${var.model_id}" in script
    image = variables(files)["model_server_image"]
    assert re.fullmatch(r"vllm/vllm-openai:v\d+\.\d+\.\d+", image), image
    assert "model_id" in variables(files) and variables(files)["model_id"] is None  # the team's model: set before apply
    assert "`model_id`" in ctx.last[1]
    # secrets are read on the instance with its role, never written into the template
    assert "secretsmanager get-secret-value --secret-id ${aws_secretsmanager_secret.model_api_key.arn}" in script
    assert not re.search(r"VLLM_API_KEY=[A-Za-z0-9]{20,}", script)
    # behind the load balancer on the server's health path, long answers allowed
    group = parsed["aws_lb_target_group.app"]
    assert group["port"] == 8000 and _one(group["health_check"])["path"] == "/health" and _one(group["health_check"])["matcher"] == "200"
    assert parsed["aws_lb.main"]["idle_timeout"] >= 300
    asg = parsed["aws_autoscaling_group.app"]
    assert asg["health_check_type"] == "ELB" and asg["health_check_grace_period"] >= 600
    assert "aws_lb_target_group.app.arn" in str(asg["target_group_arns"])
    # scaling on load: the load balancer's requests per instance
    policy = parsed["aws_autoscaling_policy.requests"]
    spec = _one(_one(policy["target_tracking_configuration"])["predefined_metric_specification"])
    assert spec["predefined_metric_type"] == "ALBRequestCountPerTarget"
    assert spec["resource_label"] == "${aws_lb.main.arn_suffix}/${aws_lb_target_group.app.arn_suffix}"
    # the cost is the GPUs': two g5.xlarge in production are about $1,470 a month before anything else
    assert _monthly(files) > 2 * 1.0 * 730
    readme = files["README.md"]
    assert "Running On-Demand G and VT instances" in readme and "describe-instance-type-offerings" in readme


async def test_gpu_serving_asks_which_gpu_and_builds_and_prices_the_one_chosen() -> None:
    from langgraph.checkpoint.memory import MemorySaver

    from agents.handler import AgentHandler
    from core.settings import Settings
    from tests.agents.conftest import Recorder, answer, text

    handler = AgentHandler(MemorySaver(), Settings(), review_checks={"parse", "cost"})
    conversation = "gpu-question"
    step = Recorder(text(conversation, "모델 서빙: 파인튜닝한 Llama를 GPU로 운영 환경에서 서빙하고 싶어요, 버지니아"))
    await handler(step)
    asked = []
    while step.last[0] == "question":
        question = step.last[2]["question"]
        asked.append(question["id"])
        if question["id"] == "gpu_instance":
            assert [c["value"] for c in question["choices"]] == ["g5.xlarge", "g6.xlarge", "g6e.xlarge"]
            assert question["default"] == "g5.xlarge" and re.search("[\uac00-\ud7a3]", question["prompt"])
            value = "g6.xlarge"
        else:
            value = question["default"]
        step = Recorder(answer(conversation, question["id"], value))
        await handler(step)
    assert "gpu_instance" in asked
    kind, message, _ = step.last
    assert kind == "done", message
    module = step.module()
    template = resources(module["files"])["aws_launch_template.app"]
    assert template["instance_type"] == "g6.xlarge"
    # two L4 instances in production: about $1,175 a month, shown in the reply
    total = module["cost"]["monthly_total"]
    assert 2 * 0.8 * 730 < total < 2 * 1.0 * 730, total
    assert f"{total:,.0f}" in message
