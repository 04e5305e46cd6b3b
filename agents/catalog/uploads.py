"""Direct uploads: clients put files straight into a private bucket with presigned URLs.

The application (its function or containers) signs a short-lived URL for one object under
``uploads/``; the browser or mobile app sends the file to S3 itself, so large files never pass
through the API. The bucket accepts only what a presigned request may do: objects under the
prefix, encrypted with the module's key by default, over TLS, from the origins the team lists (CORS).
"""

from __future__ import annotations

from agents.catalog.base import BuildContext, Facts, Fragment, blueprint
from agents.catalog.shared import APP, KEY
from agents.catalog.storage import access_logs, bucket_name, bucket_policy, secure_bucket, tls_only_statement
from core.terraform.model import Call, Cond, Op, Ref, Template, block, output, resource, var, variable

RID = "uploads"
MAX_MB = 25


@blueprint(
    "uploads",
    title="Upload bucket (presigned URLs)",
    concern="uploads.tf",
    why="Clients upload straight to S3 with presigned URLs the app signs for one object and a few "
    "minutes, so big files never cross the API or its timeouts; the bucket is private, encrypted "
    "with the module's key, TLS-only, CORS-limited to the app's origins, and drops abandoned "
    "multipart uploads after a day.",
    requires=("kms",),
    after=("logs_bucket",),
    component="S3 bucket for direct uploads (presigned URLs)",
    words=r"presigned|direct uploads?|(?:photo|image|picture|file|video|avatar)s?\s+uploads?|"
    r"upload(?:ing)?\s+(?:their\s+|of\s+)?(?:photos|images|pictures|files|videos)|(?:사진|이미지|파일|동영상)\s*업로드",
    facts=Facts(wanted=lambda req, _chosen: "direct_upload" in req.asked, direct=True, removable=True),
)
def uploads(ctx: BuildContext) -> Fragment:
    out = Fragment()
    blocks = secure_bucket(RID, bucket_name(ctx, out, "uploads", "uploads"), kms=True, archive_days=30)
    lifecycle = next(b for b in blocks if b.labels[0] == "aws_s3_bucket_lifecycle_configuration")
    lifecycle.blocks[0].blocks[-1].set("days_after_initiation", 1)
    arn = Ref("aws_s3_bucket", RID, "arn")
    origins = ["https://" + ctx.req.domain] if ctx.req.domain else []
    out.variables.append(variable(
        "upload_allowed_origins", "list(string)",
        "Origins (https://app.example.com) whose pages may upload directly; a mobile app needs none", origins))
    blocks += [
        resource(
            "aws_s3_bucket_cors_configuration",
            RID,
            block("cors_rule", allowed_methods=["PUT", "POST"], allowed_origins=var("upload_allowed_origins"),
                  allowed_headers=["content-type", "content-md5", "x-amz-*"], expose_headers=["ETag"],
                  max_age_seconds=3000),
            bucket=Ref("aws_s3_bucket", RID, "id"),
            # S3 refuses a CORS rule without an origin: a mobile-only app lists none
            count=Cond(Op(Call("length", var("upload_allowed_origins")), ">", 0), 1, 0),
        ),
        bucket_policy(RID, [
            tls_only_statement(RID),
        ]),
    ]
    blocks += access_logs(ctx, out, RID)
    out.add("uploads.tf", *blocks)
    out.ask(APP.bind(
        "uploads",
        env={"UPLOAD_BUCKET": Ref("aws_s3_bucket", RID, "id"), "UPLOAD_PREFIX": "uploads/",
             "UPLOAD_MAX_BYTES": str(MAX_MB * 1024 * 1024), "UPLOAD_URL_TTL_SECONDS": "300",
             "UPLOAD_KMS_KEY_ARN": KEY.arn},
        statements=(
            {"Sid": "SignUploads", "Effect": "Allow", "Action": ["s3:PutObject"],
             "Resource": Template(arn, "/uploads/*")},
            {"Sid": "ReadUploads", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": Template(arn, "/uploads/*")},
        ),
    ))
    out.notes.append(
        f"Uploads: the app signs one URL per file (`UPLOAD_BUCKET`, under `UPLOAD_PREFIX`, valid `UPLOAD_URL_TTL_SECONDS`) with "
        f"a presigned POST whose policy holds `content-length-range` 1..`UPLOAD_MAX_BYTES` ({MAX_MB} MB); objects are "
        "encrypted with the module's key by the bucket's default. List your web origins in `upload_allowed_origins`.")
    out.outputs.append(output("upload_bucket_name", Ref("aws_s3_bucket", RID, "id"), "Bucket clients upload to with presigned URLs"))
    out.node("aws_s3_bucket.uploads", "Upload bucket", "s3", "region")
    return out
