"""A data lake: events into Firehose, Parquet in S3 partitioned by day, a Glue table, Athena.

The application puts JSON events on a Firehose stream; Firehose converts them to Parquet with
the Glue table's schema and writes them under ``events/dt=YYYY-MM-DD/``. The table uses
partition projection, so a new day is queryable at once with no crawler, and an Athena workgroup
with its own encrypted results location and a per-query scan limit keeps queries cheap.
"""

from __future__ import annotations

from typing import Any

from agents.catalog.base import BuildContext, Facts, Fragment, blueprint
from agents.catalog.iam import role_with_policy
from agents.catalog.shared import ACCOUNT, ALERTS, APP, KEY, PARTITION, REGION, Alarm, log_group
from agents.catalog.storage import access_logs, bucket_name, bucket_policy, secure_bucket, tls_only_statement
from core.terraform.model import Call, Ref, Template, block, local, output, resource

RID = "lake"
BUCKET = Ref("aws_s3_bucket", RID, "id")
BUCKET_ARN = Ref("aws_s3_bucket", RID, "arn")
DATABASE = Ref("aws_glue_catalog_database", "lake", "name")
TABLE = Ref("aws_glue_catalog_table", "events", "name")
STREAM_ARN = Ref("aws_kinesis_firehose_delivery_stream", "events", "arn")
STREAM = Ref("aws_kinesis_firehose_delivery_stream", "events", "name")
# a clickstream event; teams add their own columns to the table (Firehose follows the table)
COLUMNS = (
    ("event_time", "timestamp", "When it happened (ISO 8601 or epoch milliseconds)"),
    ("event_type", "string", "page_view, click, sign_up..."),
    ("user_id", "string", "Who, when known"),
    ("session_id", "string", "The visit"),
    ("page", "string", "Where"),
    ("properties", "string", "Anything else, as JSON text"),
)
SCAN_LIMIT_BYTES = 10 * 1024**3


ASKED = frozenset({"athena", "glue", "parquet", "streaming"})


@blueprint(
    "datalake",
    title="Data lake (Firehose -> Parquet in S3 -> Glue -> Athena)",
    concern="lake.tf",
    why="Firehose batches events and converts them to Parquet (a tenth of JSON's size, and Athena "
    "reads only the columns a query names), partitioned by day; the Glue table projects its "
    "partitions, so no crawler runs; the Athena workgroup encrypts results and stops any query "
    "scanning more than 10 GB (about $0.05).",
    requires=("kms",),
    after=("logs_bucket",),
    component="Data lake (Firehose, Parquet in S3, Glue catalog, Athena workgroup)",
    words=r"data ?lake|\bathena\b|\bglue\b|parquet|firehose|clickstream|click stream|데이터\s*레이크|아테나|클릭\s*스트림",
    facts=Facts(wanted=lambda req, _chosen: bool(ASKED & set(req.asked)), direct=True, removable=True),
)
def datalake(ctx: BuildContext) -> Fragment:
    out = Fragment()
    blocks = secure_bucket(RID, bucket_name(ctx, out, "datalake", "lake"), kms=True, archive_days=90)
    blocks += [bucket_policy(RID, [tls_only_statement(RID)]), *access_logs(ctx, out, RID)]
    database = resource("aws_glue_catalog_database", "lake", name=Call("replace", local("name"), "-", "_"),
                        description="The data lake's tables")
    table = _table()
    group = log_group(ctx, out, "firehose", Template("/aws/kinesisfirehose/", local("name"), "-events"))
    stream_log = resource("aws_cloudwatch_log_stream", "firehose", name="S3Delivery",
                          log_group_name=Ref("aws_cloudwatch_log_group", "firehose", "name"))
    # the account that owns the stream is the only one its role serves
    role = role_with_policy("firehose", "firehose.amazonaws.com", _firehose_statements(),
                            {"StringEquals": {"sts:ExternalId": ACCOUNT}})
    stream = _stream()
    workgroup = resource(
        "aws_athena_workgroup", "lake",
        block("configuration", enforce_workgroup_configuration=True, publish_cloudwatch_metrics_enabled=True,
              bytes_scanned_cutoff_per_query=SCAN_LIMIT_BYTES)
        .add(block("result_configuration", output_location=Template("s3://", BUCKET, "/athena-results/"))
             .add(block("encryption_configuration", encryption_option="SSE_KMS", kms_key_arn=KEY.arn))),
        name=Template(local("name"), "-lake"),
        force_destroy=not ctx.req.production,
    )
    out.add("lake.tf", *blocks, database, table, group, stream_log, *role, stream, workgroup)
    out.ask(APP.bind("datalake", env={"EVENTS_STREAM": STREAM, "ATHENA_WORKGROUP": Ref("aws_athena_workgroup", "lake", "name"),
                                      "GLUE_DATABASE": DATABASE},
                     statements=({"Sid": "PutEvents", "Effect": "Allow",
                                  "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"], "Resource": STREAM_ARN},)))
    ALERTS.alarms(ctx, out, Alarm("lake_freshness", "Events wait more than 15 minutes to reach the lake",
                                  "AWS/Firehose", "DeliveryToS3.DataFreshness", {"DeliveryStreamName": STREAM}, 900,
                                  statistic="Maximum"))
    out.notes.append("Data lake: send JSON events with the table's columns to the Firehose stream `EVENTS_STREAM`; they are "
                     "queryable in Athena (workgroup `ATHENA_WORKGROUP`, database `GLUE_DATABASE`, table `events`, "
                     "partition column `dt`) within about five minutes. Add columns to `aws_glue_catalog_table.events`.")
    out.outputs += [
        output("events_stream_name", STREAM, "Firehose stream the application puts events on"),
        output("athena_workgroup", Ref("aws_athena_workgroup", "lake", "name"), "Athena workgroup for the lake"),
        output("lake_bucket_name", BUCKET, "Bucket holding the lake's Parquet files"),
    ]
    out.node("aws_kinesis_firehose_delivery_stream.events", "Firehose (to Parquet)", "firehose", "region")
    out.node("aws_s3_bucket.lake", "Lake bucket", "s3", "region")
    out.node("aws_glue_catalog_table.events", "Glue table", "glue", "region")
    out.node("aws_athena_workgroup.lake", "Athena workgroup", "athena", "region")
    return out


def _table() -> Any:
    location = Template("s3://", BUCKET, "/events/")
    descriptor = block("storage_descriptor", location=location,
                       input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                       output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat")
    descriptor.add(block("ser_de_info", name="parquet",
                         serialization_library="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                         parameters={"serialization.format": "1"}))
    for name, kind, comment in COLUMNS:
        descriptor.add(block("columns", name=name, type=kind, comment=comment))
    return resource(
        "aws_glue_catalog_table", "events",
        block("partition_keys", name="dt", type="string", comment="Day the event arrived (yyyy-MM-dd)"),
        descriptor,
        name="events",
        database_name=DATABASE,
        table_type="EXTERNAL_TABLE",
        parameters={
            "EXTERNAL": "TRUE",
            "classification": "parquet",
            "parquet.compression": "SNAPPY",
            # partition projection: every day since the lake began is a partition, no crawler
            "projection.enabled": "true",
            "projection.dt.type": "date",
            "projection.dt.format": "yyyy-MM-dd",
            "projection.dt.range": "2024-01-01,NOW",
            "projection.dt.interval": "1",
            "projection.dt.interval.unit": "DAYS",
            "storage.location.template": Template("s3://", BUCKET, "/events/dt=${dt}/"),
        },
    )


def _stream() -> Any:
    s3 = block(
        "extended_s3_configuration",
        role_arn=Ref("aws_iam_role", "firehose", "arn"),
        bucket_arn=BUCKET_ARN,
        prefix="events/dt=!{timestamp:yyyy-MM-dd}/",
        error_output_prefix="errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/",
        # format conversion needs buffers of at least 64 MB; Parquet compresses itself
        buffering_size=64,
        buffering_interval=300,
        compression_format="UNCOMPRESSED",
        kms_key_arn=KEY.arn,
    )
    s3.add(block("cloudwatch_logging_options", enabled=True,
                 log_group_name=Ref("aws_cloudwatch_log_group", "firehose", "name"),
                 log_stream_name=Ref("aws_cloudwatch_log_stream", "firehose", "name")))
    conversion = block("data_format_conversion_configuration", enabled=True)
    conversion.add(block("input_format_configuration").add(block("deserializer").add(block("open_x_json_ser_de"))))
    conversion.add(block("output_format_configuration").add(
        block("serializer").add(block("parquet_ser_de", compression="SNAPPY"))))
    conversion.add(block("schema_configuration", database_name=DATABASE, table_name=TABLE,
                         role_arn=Ref("aws_iam_role", "firehose", "arn"), region=REGION))
    s3.add(conversion)
    return resource(
        "aws_kinesis_firehose_delivery_stream", "events",
        block("server_side_encryption", enabled=True, key_type="CUSTOMER_MANAGED_CMK", key_arn=KEY.arn),
        s3,
        name=Template(local("name"), "-events"),
        destination="extended_s3",
        depends_on=[Ref("aws_iam_role_policy", "firehose")],
    )


def _firehose_statements() -> list[dict[str, Any]]:
    """What Firehose needs to convert and deliver
    (https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3)."""
    glue = Template("arn:", PARTITION, ":glue:", REGION, ":", ACCOUNT)
    return [
        {"Sid": "Deliver", "Effect": "Allow",
         "Action": ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
                    "s3:ListBucketMultipartUploads", "s3:PutObject"],
         "Resource": [BUCKET_ARN, Template(BUCKET_ARN, "/*")]},
        {"Sid": "EncryptObjects", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": KEY.arn,
         "Condition": {"StringEquals": {"kms:ViaService": Template("s3.", REGION, ".amazonaws.com")},
                       # with S3 Bucket Keys the context is the bucket's ARN, without them the object's
                       "StringLike": {"kms:EncryptionContext:aws:s3:arn": [BUCKET_ARN, Template(BUCKET_ARN, "/*")]}}},
        {"Sid": "ReadSchema", "Effect": "Allow", "Action": ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
         "Resource": [Template(glue, ":catalog"), Template(glue, ":database/", DATABASE),
                      Template(glue, ":table/", DATABASE, "/", TABLE)]},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:PutLogEvents"],
         "Resource": Template(Ref("aws_cloudwatch_log_group", "firehose", "arn"), ":*")},
    ]
