"""The stacks startups ask for, as founders ask for them: each request yields its blueprint,
wired to what uses it, with nothing named left under "Not built", and the whole design plans
with Terraform offline with no deploy finding."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from agents.honesty import not_built
from agents.requirements import Requirements
from tests.agents.deploy_facts import deploy_defects
from tests.agents.test_corpus import resources, run_scenario

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
