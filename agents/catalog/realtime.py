"""Real time: an API Gateway WebSocket API in front of the function, connections kept in DynamoDB."""

from __future__ import annotations

from agents.catalog.base import BuildContext, Facts, Fragment, blueprint
from agents.catalog.iam import assume_role
from agents.catalog.shared import ALERTS, APP, KEY, REGION, Alarm, log_group
from core.terraform.model import Ref, Template, block, jsonencode, local, output, resource

API = Ref("aws_apigatewayv2_api", "ws", "id")
TABLE = Ref("aws_dynamodb_table", "connections", "name")
TABLE_ARN = Ref("aws_dynamodb_table", "connections", "arn")
STAGE = "live"


@blueprint(
    "websocket",
    title="WebSocket API",
    concern="realtime.tf",
    why="API Gateway holds the clients' WebSocket connections and calls the function per message, "
    "so nothing runs between messages; connection ids live in an on-demand, encrypted DynamoDB table "
    "with a TTL, and the function pushes to clients through the connections endpoint.",
    requires=("lambda", "kms"),
    component="API Gateway WebSocket API",
    words=r"web ?sockets?|\bwss://|real-?time (?:chat|updates|messages|notifications)|웹\s*소켓|실시간\s*(?:채팅|알림|업데이트)",
    facts=Facts(wanted=lambda req, _chosen: "websocket" in req.asked, direct=True, removable=True),
)
def websocket(ctx: BuildContext) -> Fragment:
    out = Fragment()
    api = resource("aws_apigatewayv2_api", "ws", name=ctx.name("websocket", "ws"), protocol_type="WEBSOCKET",
                   route_selection_expression="$request.body.action")
    integration = resource(
        "aws_apigatewayv2_integration", "ws",
        api_id=API, integration_type="AWS_PROXY",
        integration_uri=Ref("aws_lambda_function", "main", "invoke_arn"),
    )
    routes = []
    for rid, key in (("connect", "$connect"), ("disconnect", "$disconnect"), ("default", "$default")):
        route = resource("aws_apigatewayv2_route", f"ws_{rid}", api_id=API, route_key=key,
                         target=Template("integrations/", Ref("aws_apigatewayv2_integration", "ws", "id")))
        route.skip("CKV_AWS_309", "WebSocket APIs take no JWT authorizer: the $connect handler checks the "
                                  "client's token and refuses the connection without one")
        routes.append(route)
    # REST and WebSocket APIs write logs through the account's API Gateway role (one per region)
    log_role = resource("aws_iam_role", "apigw_logs", name=Template(local("name"), "-apigw-logs"),
                        assume_role_policy=assume_role("apigateway.amazonaws.com"))
    log_policy = resource("aws_iam_role_policy_attachment", "apigw_logs", role=Ref("aws_iam_role", "apigw_logs", "name"),
                          policy_arn="arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
    account = resource("aws_api_gateway_account", "main", cloudwatch_role_arn=Ref("aws_iam_role", "apigw_logs", "arn"),
                       depends_on=[Ref("aws_iam_role_policy_attachment", "apigw_logs")])
    access_format = {"requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
                     "routeKey": "$context.routeKey", "status": "$context.status",
                     "connectionId": "$context.connectionId", "eventType": "$context.eventType"}
    stage = resource(
        "aws_apigatewayv2_stage", "ws",
        block("access_log_settings", destination_arn=Ref("aws_cloudwatch_log_group", "ws", "arn"),
              format=jsonencode(access_format)),
        block("default_route_settings", throttling_burst_limit=500, throttling_rate_limit=1000),
        api_id=API, name=STAGE, auto_deploy=True,
        depends_on=[Ref("aws_api_gateway_account", "main")],
    )
    stage.skip("CKV2_AWS_51", "clients are browsers and mobile apps, which hold no client certificates; "
                              "they authenticate when they connect")
    table = resource(
        "aws_dynamodb_table", "connections",
        block("attribute", name="connection_id", type="S"),
        block("ttl", attribute_name="expires_at", enabled=True),
        block("point_in_time_recovery", enabled=True),
        block("server_side_encryption", enabled=True, kms_key_arn=KEY.arn),
        name=Template(local("name"), "-connections"),
        billing_mode="PAY_PER_REQUEST",
        hash_key="connection_id",
        deletion_protection_enabled=ctx.req.production,
    )
    permission = resource(
        "aws_lambda_permission", "ws",
        statement_id="AllowWebSocketInvoke", action="lambda:InvokeFunction",
        function_name=Ref("aws_lambda_function", "main", "function_name"),
        principal="apigateway.amazonaws.com",
        source_arn=Template(Ref("aws_apigatewayv2_api", "ws", "execution_arn"), "/*/*"),
    )
    out.add("realtime.tf", api, integration, *routes,
            log_group(ctx, out, "ws", Template("/aws/apigateway/", local("name"), "-ws")),
            log_role, log_policy, account, stage, table, permission)
    callback = Template("https://", API, ".execute-api.", REGION, ".amazonaws.com/", STAGE)
    out.ask(APP.bind("websocket", env={"CONNECTIONS_TABLE": TABLE, "WEBSOCKET_CALLBACK_URL": callback}, statements=(
        {"Sid": "Connections", "Effect": "Allow",
         "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan"],
         "Resource": TABLE_ARN},
        {"Sid": "PushToClients", "Effect": "Allow", "Action": ["execute-api:ManageConnections"],
         "Resource": Template(Ref("aws_apigatewayv2_api", "ws", "execution_arn"), f"/{STAGE}/POST/@connections/*")},
    )))
    ALERTS.alarms(ctx, out, Alarm("ws_integration_errors", "WebSocket messages fail in the function",
                                  "AWS/ApiGateway", "IntegrationError", {"ApiId": API, "Stage": STAGE}, 5,
                                  statistic="Sum", periods=1))
    out.notes.append("The WebSocket API sets this region's API Gateway logging role (`aws_api_gateway_account`), which "
                     "REST and WebSocket APIs need to write logs; an account that already has one keeps working with it.")
    out.outputs += [
        output("websocket_url", Ref("aws_apigatewayv2_stage", "ws", "invoke_url"), "Where clients connect (wss://)"),
        output("websocket_callback_url", callback, "Where the function posts to connected clients"),
    ]
    out.node("aws_apigatewayv2_api.ws", "WebSocket API", "apigw", "region")
    out.node("aws_dynamodb_table.connections", "Connections table", "dynamodb", "region")
    return out
