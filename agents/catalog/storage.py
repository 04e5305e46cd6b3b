"""S3 blueprints: an application bucket, a website bucket and the access-log bucket."""

from __future__ import annotations

import re
from typing import Any

from agents.catalog.base import BuildContext, Facts, Fragment, always, blueprint
from agents.catalog.shared import ACCOUNT, APP, CDN, KEY, LOG_BUCKET, Ask, grants
from agents.requirements import upload_name
from core.terraform.model import Block, Call, Ref, Template, block, jsonencode, output, resource


def bucket_policy(rid: str, statements: list[dict[str, Any]]) -> Block:
    """The bucket's policy, applied only after its public access block (no window of exposure)."""
    return resource(
        "aws_s3_bucket_policy",
        rid,
        bucket=Ref("aws_s3_bucket", rid, "id"),
        policy=jsonencode({"Version": "2012-10-17", "Statement": statements}),
        depends_on=[Ref("aws_s3_bucket_public_access_block", rid)],
    )

def secure_bucket(
    rid: str, bucket: dict[str, Any], *, kms: bool, expire_days: int | None = None, archive_days: int | None = 90
) -> list[Block]:
    """A bucket with public access blocked, versioning, default encryption and a lifecycle."""
    ref = Ref("aws_s3_bucket", rid, "id")
    sse: dict[str, Any] = (
        {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY.arn} if kms else {"sse_algorithm": "AES256"}
    )
    rule = block("rule", bucket_key_enabled=True) if kms else block("rule")
    rule.add(block("apply_server_side_encryption_by_default", **sse))
    lifecycle = block("rule", id="tiering-and-cleanup", status="Enabled")
    lifecycle.add(block("filter"))
    if archive_days:
        lifecycle.add(block("transition", days=archive_days, storage_class="STANDARD_IA"))
    if expire_days:
        lifecycle.add(block("expiration", days=expire_days))
    lifecycle.add(block("noncurrent_version_expiration", noncurrent_days=90))
    lifecycle.add(block("abort_incomplete_multipart_upload", days_after_initiation=7))
    bucket_block = resource("aws_s3_bucket", rid, **bucket)
    bucket_block.skip("CKV_AWS_144", "versioning and S3's own durability protect the data; cross-region replication would double storage cost")
    bucket_block.skip("CKV2_AWS_62", "no consumer of object events in this design")
    return [
        bucket_block,
        resource(
            "aws_s3_bucket_public_access_block",
            rid,
            bucket=ref,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        ),
        resource("aws_s3_bucket_ownership_controls", rid, block("rule", object_ownership="BucketOwnerEnforced"), bucket=ref),
        resource("aws_s3_bucket_versioning", rid, block("versioning_configuration", status="Enabled"), bucket=ref),
        resource("aws_s3_bucket_server_side_encryption_configuration", rid, rule, bucket=ref),
        resource("aws_s3_bucket_lifecycle_configuration", rid, lifecycle, bucket=ref),
    ]


def bucket_name(ctx: BuildContext, out: Fragment, component: str, suffix: str) -> dict[str, Any]:
    """A globally unique bucket name: ``<project>-<env>-<suffix>-<account id>``; a name the
    user gave keeps its words and gains the account id too (anyone can take a bare name first),
    which the README says."""
    explicit = ctx.explicit(component)
    if not explicit:
        return {"bucket": Template(Ref("local", "name"), f"-{suffix}-", ACCOUNT)}
    out.notes.append(f"S3 bucket names are global: the bucket asked for as `{explicit}` is named `{explicit}-<account id>` "
                     "so that no other account can hold the name first.")
    if len(explicit) <= 50:
        return {"bucket": Template(explicit, "-", ACCOUNT)}
    return {"bucket_prefix": explicit[:36] + "-"}


def access_logs(ctx: BuildContext, out: Fragment, rid: str) -> list[Block]:
    """S3 server access logs of bucket ``rid`` into the log bucket, asking it to let the S3
    logging service write them (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html)."""
    if not ctx.has(LOG_BUCKET.id):
        return []
    out.ask(LOG_BUCKET.write("S3ServerAccessLogs", {"Service": "logging.s3.amazonaws.com"}, ("s3/*",),
                             {"StringEquals": {"aws:SourceAccount": ACCOUNT}}))
    return [
        resource(
            "aws_s3_bucket_logging",
            rid,
            bucket=Ref("aws_s3_bucket", rid, "id"),
            target_bucket=LOG_BUCKET.id_ref,
            target_prefix=f"s3/{rid}/",
            depends_on=[LOG_BUCKET.policy_ref],
        )
    ]


def tls_only_statement(rid: str) -> dict[str, Any]:
    arn = Ref("aws_s3_bucket", rid, "arn")
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, Template(arn, "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


@blueprint(
    "logs_bucket",
    title="Log bucket",
    concern="logging.tf",
    why="The module's access and audit logs land in one private, versioned, SSE-S3 bucket (the "
    "encryption every AWS log delivery accepts) that moves old logs to cheaper storage and expires "
    "them; its policy lets in exactly the log writers the design has.",
    facts=Facts(wanted=always),
)
def logs_bucket(ctx: BuildContext) -> Fragment:
    out = Fragment()
    rid = LOG_BUCKET.rid
    blocks = secure_bucket(rid, bucket_name(ctx, out, "logs", "logs"), kms=False, expire_days=730 if ctx.req.production else 90)
    blocks[0].skip("CKV_AWS_18", "this is the access-log bucket; logging it into itself would loop")
    blocks[0].skip("CKV_AWS_145", "load balancer access logs can only be delivered to SSE-S3 encrypted buckets")
    ownership = next(b for b in blocks if b.labels[0] == "aws_s3_bucket_ownership_controls")
    policy = bucket_policy(rid, [tls_only_statement(rid)])

    def finish(asks: list[Ask]) -> None:
        statements = [tls_only_statement(rid), *LOG_BUCKET.policy_blocks(grants(asks))]
        policy.set("policy", jsonencode({"Version": "2012-10-17", "Statement": statements}))
        acl = LOG_BUCKET.acl_blocks(grants(asks))
        if acl:
            # a writer delivers through the bucket ACL (CloudFront standard logs): ACLs stay on
            ownership.blocks[0].set("object_ownership", "BucketOwnerPreferred")
            ownership.skip("CKV2_AWS_65", "CloudFront standard logs can only be delivered through a bucket ACL")
            out.add("logging.tf", *acl)

    out.assemble(LOG_BUCKET, finish)
    blocks.append(policy)
    out.add("logging.tf", *blocks)
    out.outputs.append(output("log_bucket_name", LOG_BUCKET.id_ref, "Bucket receiving the module's logs"))
    out.node("aws_s3_bucket.logs", "Log bucket", "s3")
    return out


@blueprint(
    "s3",
    title="Application bucket",
    concern="storage.tf",
    why="Uploads and assets go to a private bucket, encrypted with the module's key, versioned "
    "against accidental deletes, TLS-only, tiered to Infrequent Access after 90 days.",
    requires=("kms",),
    after=("logs_bucket",),
    component="S3 bucket",
    words=r"\bs3\b|\bbuckets?\b|uploads?|object storage|file storage|store (?:files|images|assets)",
    facts=Facts(wanted=lambda req, _chosen: req.workload == "data_pipeline", direct=True, removable=True),
)
def app_bucket(ctx: BuildContext) -> Fragment:
    out = Fragment()
    rid = "app"
    blocks = secure_bucket(rid, bucket_name(ctx, out, "s3", "data"), kms=True)
    blocks.append(
        resource(
            "aws_s3_bucket_policy",
            rid,
            bucket=Ref("aws_s3_bucket", rid, "id"),
            policy=jsonencode({"Version": "2012-10-17", "Statement": [tls_only_statement(rid)]}),
            depends_on=[Ref("aws_s3_bucket_public_access_block", rid)],
        )
    )
    blocks += access_logs(ctx, out, rid)
    blocks += _uploads(ctx.req.uploads, rid)
    out.add("storage.tf", *blocks)
    arn = Ref("aws_s3_bucket", rid, "arn")
    out.ask(APP.bind("bucket", env={"BUCKET_NAME": Ref("aws_s3_bucket", rid, "id")}, statements=(
        {"Sid": "AppBucket", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": Template(arn, "/*")},
        {"Sid": "AppBucketList", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": arn},
    )))
    out.outputs.append(output("app_bucket_name", Ref("aws_s3_bucket", rid, "id"), "Bucket for application files"))
    out.node("aws_s3_bucket.app", "App bucket", "s3")
    return out


def _uploads(names: list[str], rid: str) -> list[Block]:
    """One object per file the user asked to upload; the hash re-uploads on change.

    Each file is a plain name in the module's own folder (``${path.module}/NAME``): whatever
    path the request gave, the module never reads a file outside itself.
    """
    out: list[Block] = []
    used: set[str] = set()
    for requested in names:
        file_name = upload_name(requested)
        base = re.sub(r"[^A-Za-z0-9_]", "_", file_name).strip("_") or "file"
        name = base if base[0].isalpha() else f"f_{base}"
        while name in used:
            name += "_"
        used.add(name)
        local = Template(Ref("path", "module"), f"/{file_name}")
        out.append(
            resource(
                "aws_s3_object",
                name,
                bucket=Ref("aws_s3_bucket", rid, "id"),
                key=file_name,
                source=local,
                source_hash=Call("filemd5", local),
            )
        )
    return out


@blueprint(
    "site",
    title="Website bucket",
    concern="site.tf",
    why="The site's files sit in a private bucket that only CloudFront can read (origin access "
    "control): no public bucket, and every request goes through the CDN and its TLS.",
    after=("logs_bucket",),
    component="S3 bucket for the website",
    facts=Facts(wanted=lambda req, _chosen: req.workload == "static_site", direct=True),
)
def site_bucket(ctx: BuildContext) -> Fragment:
    out = Fragment()
    rid = "site"
    blocks = secure_bucket(rid, bucket_name(ctx, out, "site", "site"), kms=False, archive_days=None)
    blocks[0].skip("CKV_AWS_145", "the site's files are public through CloudFront; SSE-S3 avoids a KMS request per cache miss")
    blocks += access_logs(ctx, out, rid)
    statements: list[dict[str, Any]] = [tls_only_statement(rid)]
    if ctx.has("cloudfront"):
        arn = Ref("aws_s3_bucket", rid, "arn")
        statements.append(
            {
                "Sid": "CloudFrontReadOnly",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": Template(arn, "/*"),
                "Condition": {"StringEquals": {"AWS:SourceArn": CDN.arn}},
            }
        )
    blocks.append(bucket_policy(rid, statements))
    out.add("site.tf", *blocks)
    out.outputs.append(output("site_bucket_name", Ref("aws_s3_bucket", rid, "id"), "Upload the site's files here"))
    out.node("aws_s3_bucket.site", "Site bucket", "s3")
    return out
