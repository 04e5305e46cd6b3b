"""Sign-up and login: a Cognito user pool, its app client and, with an HTTP API, a JWT authorizer."""

from __future__ import annotations

from agents.catalog.base import BuildContext, Facts, Fragment, blueprint
from agents.catalog.shared import APP, REGION
from core.terraform.model import Ref, Template, block, output, resource

POOL = Ref("aws_cognito_user_pool", "main", "id")
CLIENT = Ref("aws_cognito_user_pool_client", "app", "id")
ISSUER = Template("https://cognito-idp.", REGION, ".amazonaws.com/", POOL)


@blueprint(
    "cognito",
    title="Cognito user pool",
    concern="auth.tf",
    why="Sign-up, login, email verification, password reset and MFA are Cognito's, not the "
    "application's: passwords never reach the app, tokens are short-lived JWTs the API checks "
    "before the code runs, and the first 10,000 monthly active users cost nothing.",
    after=("apigw",),
    component="Cognito user pool (sign-up and login)",
    words=r"cognito|user pools?|sign[- ]?ups?\b|log[- ]?ins?\b|sign[- ]?in\b|user accounts?|authenticat\w*|회원\s*가입|로그인|사용자\s*인증",
    facts=Facts(wanted=lambda req, _chosen: "auth" in req.asked, direct=True, removable=True),
)
def cognito(ctx: BuildContext) -> Fragment:
    out = Fragment()
    pool = resource(
        "aws_cognito_user_pool",
        "main",
        block("password_policy", minimum_length=12, require_lowercase=True, require_uppercase=True,
              require_numbers=True, require_symbols=False, temporary_password_validity_days=3),
        block("account_recovery_setting").add(block("recovery_mechanism", name="verified_email", priority=1)),
        block("admin_create_user_config", allow_admin_create_user_only=False),
        block("software_token_mfa_configuration", enabled=True),
        block("verification_message_template", default_email_option="CONFIRM_WITH_CODE"),
        block("username_configuration", case_sensitive=False),
        name=ctx.name("cognito", "users"),
        username_attributes=["email"],
        auto_verified_attributes=["email"],
        mfa_configuration="OPTIONAL",
        deletion_protection="ACTIVE" if ctx.req.production else "INACTIVE",
    )
    pool.add(block("schema", name="email", attribute_data_type="String", required=True, mutable=True)
             .add(block("string_attribute_constraints", min_length=5, max_length=254)))
    client = resource(
        "aws_cognito_user_pool_client",
        "app",
        name=ctx.name("cognito", "app"),
        user_pool_id=POOL,
        # a mobile app or a single-page app cannot keep a secret: a public client with SRP
        generate_secret=False,
        explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        prevent_user_existence_errors="ENABLED",
        enable_token_revocation=True,
        access_token_validity=1,
        id_token_validity=1,
        refresh_token_validity=30,
        supported_identity_providers=["COGNITO"],
    )
    client.add(block("token_validity_units", access_token="hours", id_token="hours", refresh_token="days"))
    out.add("auth.tf", pool, client)
    if ctx.has("apigw"):
        # the HTTP API checks every request's token before the function runs
        out.add("auth.tf", resource(
            "aws_apigatewayv2_authorizer",
            "cognito",
            block("jwt_configuration", audience=[CLIENT], issuer=ISSUER),
            api_id=Ref("aws_apigatewayv2_api", "main", "id"),
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            name="cognito",
        ))
    out.ask(APP.bind("cognito", env={"COGNITO_USER_POOL_ID": POOL, "COGNITO_CLIENT_ID": CLIENT,
                                     "COGNITO_ISSUER": ISSUER}))
    out.notes.append("Cognito sends verification and reset emails itself, up to 50 a day: for more, give the user pool "
                     "an SES identity (`email_configuration { email_sending_account = \"DEVELOPER\" }`).")
    out.outputs += [
        output("user_pool_id", POOL, "Cognito user pool (sign-up and login)"),
        output("user_pool_client_id", CLIENT, "App client id the mobile or web app signs in with"),
        output("token_issuer", ISSUER, "Issuer the API checks tokens against"),
    ]
    out.node("aws_cognito_user_pool.main", "Cognito user pool", "cognito", "region")
    return out
