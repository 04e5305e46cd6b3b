"""Serverless blueprints: a Lambda function with its event sources, and an API Gateway HTTP API."""

from __future__ import annotations

from typing import Any

from agents.catalog.base import BuildContext, Fragment, blueprint, log_retention
from agents.catalog.iam import app_statements, assembled_role
from agents.catalog.shared import ALERTS, APP, KEY, Alarm, Ask, Binding, bindings, log_group
from core.terraform.model import (
    Block,
    Ref,
    Template,
    block,
    data,
    jsonencode,
    local,
    output,
    resource,
    var,
    variable,
)

STARTER = {
    "python": ("index.py", "index.handler", 'import json\n\n\ndef handler(event, context):\n    return {"statusCode": 200, "body": json.dumps({"ok": True})}\n'),
    "nodejs": ("index.mjs", "index.handler", 'export const handler = async () => ({ statusCode: 200, body: JSON.stringify({ ok: true }) });\n'),
}


def runtime(ctx: BuildContext) -> str:
    return ctx.req.lambda_runtime or "python3.13"


@blueprint(
    "lambda",
    title="Lambda function",
    concern="lambda.tf",
    why="Lambda bills per request, runs on Graviton (arm64) for ~20% less, traces with X-Ray, "
    "keeps its logs for a bounded time and gets a role limited to this module's resources.",
    requires=("kms",),
    after=("sqs", "s3", "dynamodb", "sns", "secrets"),
)
def lambda_function(ctx: BuildContext) -> Fragment:
    out = Fragment()
    rt = runtime(ctx)
    filename, handler, source = STARTER["nodejs" if rt.startswith("nodejs") else "python"]
    out.providers.add("archive")
    name = ctx.name("lambda", "fn")
    role_blocks, role_policy = assembled_role("lambda", "lambda.amazonaws.com")
    out.variables.append(variable("lambda_memory_mb", "number", "Memory of the function in MB (CPU scales with it)", ctx.req.memory_mb or 512))
    fn = _function(name, rt, handler)

    def finish(asks: list[Ask]) -> None:
        # the function finds what it uses in its environment; secrets by ARN, read at run time
        env: dict[str, Any] = {"LOG_LEVEL": "INFO", "APP_ENV": var("environment")}
        for b in bindings(asks):
            env.update(b.env)
            env.update({f"{k}_SECRET_ARN": arn for k, (arn, _key) in b.secrets.items()})
        next(c for c in fn.blocks if c.type == "environment").set("variables", env)
        role_policy.set("policy", jsonencode({"Version": "2012-10-17", "Statement": _statements(bindings(asks))}))

    out.assemble(APP, finish)
    blocks: list[Block] = [
        data(
            "archive_file",
            "lambda",
            block("source", content=source, filename=filename),
            type="zip",
            output_path=Template(Ref("path", "module"), "/build/function.zip"),
        ),
        log_group(
            out, "lambda",
            Template("/aws/lambda/", local("name"), "-fn") if not ctx.req.names.get("lambda") else Template("/aws/lambda/", ctx.req.names["lambda"]),
            log_retention(ctx),
        ),
        resource(
            "aws_sqs_queue",
            "lambda_dlq",
            name=Template(local("name"), "-fn-dlq"),
            message_retention_seconds=1209600,
            kms_master_key_id=KEY.arn,
        ),
        *role_blocks,
        fn,
        *_event_sources(ctx),
    ]
    out.add("lambda.tf", *blocks)
    ALERTS.alarms(ctx, out, Alarm("lambda_errors", "The function fails", "AWS/Lambda", "Errors",
                                  {"FunctionName": Ref("aws_lambda_function", "main", "function_name")}, 5, statistic="Sum", periods=1))
    out.notes.append("The function runs on Graviton (`arm64`): package native dependencies built for arm64 "
                     "(e.g. `pip install --platform manylinux2014_aarch64 --only-binary=:all:`); the starter code is a placeholder.")
    out.outputs.append(output("function_name", Ref("aws_lambda_function", "main", "function_name"), "Lambda function"))
    out.node("aws_lambda_function.main", "Lambda function", "lambda", "region")
    return out


def _statements(binds: list[Binding]) -> list[dict[str, Any]]:
    """The function's own needs (logs, dead letters, traces) plus what the stores it uses allow."""
    statements = app_statements(binds)
    statements.append(
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": Template(Ref("aws_cloudwatch_log_group", "lambda", "arn"), ":*"),
        }
    )
    statements.append({"Sid": "DeadLetters", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": Ref("aws_sqs_queue", "lambda_dlq", "arn")})
    statements.append({"Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"})
    return statements


def _function(name: Any, rt: str, handler: str) -> Block:
    fn = resource(
        "aws_lambda_function",
        "main",
        block("tracing_config", mode="Active"),
        function_name=name,
        role=Ref("aws_iam_role", "lambda", "arn"),
        runtime=rt,
        handler=handler,
        architectures=["arm64"],
        filename=Ref("data", "archive_file", "lambda", "output_path"),
        source_code_hash=Ref("data", "archive_file", "lambda", "output_base64sha256"),
        memory_size=var("lambda_memory_mb"),
        timeout=30,
        kms_key_arn=KEY.arn,
        depends_on=[Ref("aws_cloudwatch_log_group", "lambda")],
    )
    fn.add(block("environment", variables={"LOG_LEVEL": "INFO", "APP_ENV": var("environment")}))
    fn.add(block("dead_letter_config", target_arn=Ref("aws_sqs_queue", "lambda_dlq", "arn")))
    fn.skip("CKV_AWS_117", "the function calls only AWS APIs; outside a VPC it needs no NAT gateway")
    fn.skip("CKV_AWS_115", "a reserved limit can exceed a new account's concurrency quota; the caller's throttling bounds load")
    fn.skip("CKV_AWS_272", "code comes from the deployment pipeline; add a signing profile once one exists")
    fn.add(block("logging_config", log_format="JSON", log_group=Ref("aws_cloudwatch_log_group", "lambda", "name")))
    return fn


def _event_sources(ctx: BuildContext) -> list[Block]:
    blocks: list[Block] = []
    if ctx.has("sqs"):
        blocks.append(
            resource(
                "aws_lambda_event_source_mapping",
                "queue",
                event_source_arn=Ref("aws_sqs_queue", "main", "arn"),
                function_name=Ref("aws_lambda_function", "main", "arn"),
                batch_size=10,
                function_response_types=["ReportBatchItemFailures"],
            )
        )
    if ctx.has("s3") and ctx.req.workload == "data_pipeline":
        blocks += [
            resource(
                "aws_lambda_permission",
                "s3",
                statement_id="AllowS3Invoke",
                action="lambda:InvokeFunction",
                function_name=Ref("aws_lambda_function", "main", "function_name"),
                principal="s3.amazonaws.com",
                source_arn=Ref("aws_s3_bucket", "app", "arn"),
            ),
            resource(
                "aws_s3_bucket_notification",
                "app",
                block("lambda_function", lambda_function_arn=Ref("aws_lambda_function", "main", "arn"), events=["s3:ObjectCreated:*"], filter_prefix="incoming/"),
                bucket=Ref("aws_s3_bucket", "app", "id"),
                depends_on=[Ref("aws_lambda_permission", "s3")],
            ),
        ]
    return blocks


@blueprint(
    "apigw",
    title="API Gateway HTTP API",
    concern="api.tf",
    why="HTTP APIs cost ~70% less than REST APIs; every request is logged as JSON and throttled "
    "so a burst cannot run up the bill or overwhelm the function.",
    requires=("lambda",),
)
def apigw(ctx: BuildContext) -> Fragment:
    out = Fragment()
    access_format: dict[str, Any] = {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "latency": "$context.integrationLatency",
    }
    blocks = [
        resource("aws_apigatewayv2_api", "main", name=ctx.name("apigw", "api"), protocol_type="HTTP"),
        log_group(out, "api", Template("/aws/apigateway/", local("name")), log_retention(ctx)),
        resource(
            "aws_apigatewayv2_integration",
            "lambda",
            api_id=Ref("aws_apigatewayv2_api", "main", "id"),
            integration_type="AWS_PROXY",
            integration_uri=Ref("aws_lambda_function", "main", "invoke_arn"),
            payload_format_version="2.0",
        ),
        resource(
            "aws_apigatewayv2_route",
            "default",
            api_id=Ref("aws_apigatewayv2_api", "main", "id"),
            route_key="$default",
            target=Template("integrations/", Ref("aws_apigatewayv2_integration", "lambda", "id")),
        ).skip("CKV_AWS_309", "a public API by request; add a JWT authorizer when users sign in"),
        resource(
            "aws_apigatewayv2_stage",
            "default",
            block("access_log_settings", destination_arn=Ref("aws_cloudwatch_log_group", "api", "arn"), format=jsonencode(access_format)),
            block("default_route_settings", throttling_burst_limit=500, throttling_rate_limit=1000),
            api_id=Ref("aws_apigatewayv2_api", "main", "id"),
            name="$default",
            auto_deploy=True,
        ),
        resource(
            "aws_lambda_permission",
            "api",
            statement_id="AllowApiGatewayInvoke",
            action="lambda:InvokeFunction",
            function_name=Ref("aws_lambda_function", "main", "function_name"),
            principal="apigateway.amazonaws.com",
            source_arn=Template(Ref("aws_apigatewayv2_api", "main", "execution_arn"), "/*/*"),
        ),
    ]
    out.add("api.tf", *blocks)
    out.outputs.append(output("api_url", Ref("aws_apigatewayv2_stage", "default", "invoke_url"), "Where the API answers"))
    out.node("aws_apigatewayv2_api.main", "API Gateway HTTP API", "apigw", "region")
    return out
