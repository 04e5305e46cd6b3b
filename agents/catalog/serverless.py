"""Serverless blueprints: a Lambda function with its event sources, and an API Gateway HTTP API."""

from __future__ import annotations

from typing import Any

from agents.catalog.base import BuildContext, Facts, Fragment, blueprint, runs_on
from agents.catalog.iam import app_statements, assembled_role
from agents.catalog.shared import (
    ALERTS,
    APP,
    APP_BUCKET,
    FUNCTION,
    KEY,
    QUEUE,
    Alarm,
    Ask,
    Binding,
    bindings,
    log_group,
)
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
# what the team packages for an arm64 function, per language
ARM64_PACKAGING = {
    "python": "package native dependencies built for arm64 (e.g. `pip install --platform manylinux2014_aarch64 --only-binary=:all:`)",
    "nodejs": "install native modules for arm64 (e.g. `npm install --os=linux --cpu=arm64`) before zipping `node_modules`",
}
DEFAULT_RUNTIME = {"python": "python3.13", "nodejs": "nodejs22.x"}
# runtimes Lambda no longer creates functions with (its deprecation policy), and the oldest
# supported one of the same language used instead
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html#runtimes-deprecated)
RETIRED = {
    **{f"nodejs{v}.x": "nodejs20.x" for v in (10, 12, 14, 16, 18)},
    **{f"python3.{v}": "python3.10" for v in (6, 7, 8, 9)},
    "python2.7": "python3.10",
}


def language(rt: str) -> str:
    return "nodejs" if rt.startswith("nodejs") else "python"


def runtime(ctx: BuildContext) -> str:
    """The runtime asked for (a retired one moves up to the oldest supported one of its
    language), else the current Python."""
    asked = ctx.req.lambda_runtime or DEFAULT_RUNTIME["python"]
    if not asked.startswith(("nodejs", "python")):
        return DEFAULT_RUNTIME["python"]
    return RETIRED.get(asked, asked)


@blueprint(
    "lambda",
    title="Lambda function",
    concern="lambda.tf",
    why="Lambda bills per request, runs on Graviton (arm64) for ~20% less, traces with X-Ray, "
    "keeps its logs for a bounded time and gets a role limited to this module's resources.",
    requires=("kms",),
    after=("sqs", "s3", "dynamodb", "sns", "secrets"),
    component="Lambda function",
    words=r"lambda|serverless|functions?\b",
    facts=Facts(wanted=lambda req, _chosen: runs_on(req) == "lambda", direct=True),
)
def lambda_function(ctx: BuildContext) -> Fragment:
    out = Fragment()
    rt = runtime(ctx)
    lang = language(rt)
    filename, handler, source = STARTER[lang]
    if ctx.req.lambda_runtime and rt != ctx.req.lambda_runtime:
        out.notes.append(f"The function runs `{rt}`: Lambda no longer creates functions on `{ctx.req.lambda_runtime}`, "
                         "which has reached its end of support.")
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
            ctx, out, "lambda",
            Template("/aws/lambda/", explicit) if (explicit := ctx.explicit("lambda")) else Template("/aws/lambda/", local("name"), "-fn"),
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
                                  {"FunctionName": FUNCTION.name}, 5, statistic="Sum", periods=1))
    out.notes.append(f"The function runs `{rt}` on Graviton (`arm64`): {ARM64_PACKAGING[lang]}; the starter code "
                     f"(`{filename}`, handler `{handler}`) is a placeholder for yours.")
    out.outputs.append(output("function_name", FUNCTION.name, "Lambda function"))
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
        # Lambda checks at creation that the role may send to the dead-letter queue, and the
        # first invocations write logs: the role's policy and the log group exist first
        # (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html)
        depends_on=[Ref("aws_cloudwatch_log_group", "lambda"), Ref("aws_iam_role_policy", "lambda")],
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
                event_source_arn=QUEUE.arn,
                function_name=FUNCTION.arn,
                batch_size=10,
                function_response_types=["ReportBatchItemFailures"],
                # Lambda checks the role may receive from the queue when the mapping is created
                depends_on=[Ref("aws_iam_role_policy", "lambda")],
            )
        )
    if ctx.has("s3") and ctx.req.workload == "data_pipeline":
        blocks += [
            resource(
                "aws_lambda_permission",
                "s3",
                statement_id="AllowS3Invoke",
                action="lambda:InvokeFunction",
                function_name=FUNCTION.name,
                principal="s3.amazonaws.com",
                source_arn=APP_BUCKET.arn,
            ),
            resource(
                "aws_s3_bucket_notification",
                "app",
                block("lambda_function", lambda_function_arn=FUNCTION.arn, events=["s3:ObjectCreated:*"], filter_prefix="incoming/"),
                bucket=APP_BUCKET.id,
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
    component="API Gateway HTTP API",
    words=r"api gateway|http api|rest api",
    facts=Facts(wanted=lambda req, _chosen: req.workload in {"web_app", "api"} and runs_on(req) == "lambda", direct=True),
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
        log_group(ctx, out, "api", Template("/aws/apigateway/", local("name"))),
        resource(
            "aws_apigatewayv2_integration",
            "lambda",
            api_id=Ref("aws_apigatewayv2_api", "main", "id"),
            integration_type="AWS_PROXY",
            integration_uri=FUNCTION.invoke_arn,
            payload_format_version="2.0",
        ),
        _route(ctx),
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
            function_name=FUNCTION.name,
            principal="apigateway.amazonaws.com",
            source_arn=Template(Ref("aws_apigatewayv2_api", "main", "execution_arn"), "/*/*"),
        ),
    ]
    out.add("api.tf", *blocks)
    out.outputs.append(output("api_url", Ref("aws_apigatewayv2_stage", "default", "invoke_url"), "Where the API answers"))
    out.node("aws_apigatewayv2_api.main", "API Gateway HTTP API", "apigw", "region")
    return out


def _route(ctx: BuildContext) -> Block:
    """Every request to the function: with a user pool in the design, only with a valid token."""
    route = resource(
        "aws_apigatewayv2_route",
        "default",
        api_id=Ref("aws_apigatewayv2_api", "main", "id"),
        route_key="$default",
        target=Template("integrations/", Ref("aws_apigatewayv2_integration", "lambda", "id")),
    )
    if ctx.has("cognito"):
        route.set("authorization_type", "JWT")
        route.set("authorizer_id", Ref("aws_apigatewayv2_authorizer", "cognito", "id"))
        return route
    return route.skip("CKV_AWS_309", "a public API by request; add a JWT authorizer when users sign in")
