"""Data blueprints: RDS PostgreSQL/MySQL, Aurora, ElastiCache Redis, DynamoDB."""

from __future__ import annotations

from typing import Any

from agents.catalog.base import BuildContext, Facts, Fragment, blueprint, outside_production
from agents.catalog.edge import ingress_rule
from agents.catalog.iam import assume_role
from agents.catalog.shared import (
    ALERTS,
    APP,
    APP_SG,
    BACKUP,
    CACHE_SG,
    DB_SG,
    KEY,
    NETWORK,
    Alarm,
    SecurityGroup,
    account_arn,
)
from agents.requirements import Requirements
from core.terraform.model import Block, Ref, Template, block, local, output, resource

ENGINES: dict[str, dict[str, Any]] = {
    "postgres": {
        "engine": "postgres", "version": "17", "family": "postgres17", "port": 5432, "logs": ["postgresql", "upgrade"],
        "parameters": {"log_statement": "ddl", "log_min_duration_statement": "1000", "rds.force_ssl": "1"},
    },
    # MySQL exports only the logs its parameters switch on, written to files (log_output FILE):
    # the error log always, the slow query log here; the general log (every statement) stays off
    # (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.MySQL.LogFileSize.html)
    "mysql": {
        "engine": "mysql", "version": "8.4", "family": "mysql8.4", "port": 3306, "logs": ["error", "slowquery"],
        "parameters": {"slow_query_log": "1", "long_query_time": "1", "log_output": "FILE", "require_secure_transport": "1"},
    },
    "aurora-postgresql": {
        "engine": "aurora-postgresql", "version": "16.6", "port": 5432, "logs": ["postgresql"],
        "parameters": {"log_statement": "ddl", "log_min_duration_statement": "1000", "rds.force_ssl": "1"},
    },
    "aurora-mysql": {
        "engine": "aurora-mysql", "version": "8.0.mysql_aurora.3.08.0", "port": 3306, "logs": ["error", "slowquery"],
        "parameters": {"slow_query_log": "1", "long_query_time": "1", "log_output": "FILE", "require_secure_transport": "1"},
    },
}


def _source(ctx: BuildContext) -> dict[str, Any]:
    """Who may connect to a data store: the app's security group if there is one, else the VPC."""
    if ctx.has("ecs") or ctx.has("asg") or ctx.has("ec2"):
        return {"source_sg": APP_SG.id}
    return {"cidr": NETWORK.cidr_block}


def _store_sg(group: SecurityGroup, port: int, ctx: BuildContext, what: str) -> list[Block]:
    return [
        resource(
            "aws_security_group",
            group.rid,
            name_prefix=Template(local("name"), f"-{group.rid}-"),
            description=f"{what}: reachable from the application only",
            vpc_id=NETWORK.vpc_id,
        ),
        ingress_rule(f"{group.rid}_from_app", group.id, port, f"{what} from the application", **_source(ctx)),
    ]


def _apply_immediately(ctx: BuildContext, item: Block) -> None:
    """Changes wait for the maintenance window unless the request says to apply them at once."""
    if ctx.req.apply_immediately is not None:
        item.set("apply_immediately", ctx.req.apply_immediately)


def _single_az(ctx: BuildContext, item: Block, check: str, what: str) -> None:
    """A single-AZ store says why: the environment's cost, or the request itself."""
    if ctx.req.production:
        item.skip(check, f"single-AZ by request (availability: single AZ); {what}")
    else:
        outside_production(ctx, item, check, what)


def wants_database(engine: str) -> Any:
    """RDS for a named or unnamed engine, Aurora for an Aurora engine."""
    def wanted(req: Requirements, _chosen: Any) -> bool:
        if not (req.database or req.wants_database):
            return False
        return (req.database or "").startswith("aurora") == (engine == "aurora")

    return wanted


APP_ROLES = ("ecs", "asg", "ec2")
IAM_DB_USER = "app_iam"


def _iam_auth(ctx: BuildContext) -> bool:
    """IAM database authentication where an application role gets ``rds-db:connect`` for it
    (the database's binding asks it for them); with no such role it stays off."""
    return any(ctx.has(c) for c in APP_ROLES)


def _no_iam_auth_skip(ctx: BuildContext, out: Fragment, db: Block, check: str) -> None:
    if _iam_auth(ctx):
        out.notes.append(
            f"IAM database authentication is on and the application role may connect as `{IAM_DB_USER}`: create that "
            f"user once (PostgreSQL: `CREATE USER {IAM_DB_USER}; GRANT rds_iam TO {IAM_DB_USER};`, MySQL: "
            f"`CREATE USER {IAM_DB_USER} IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS';`), or use the master "
            "password the containers get from Secrets Manager."
        )
    else:
        db.skip(check, "no application role in this design could connect with IAM; the master password lives in Secrets Manager")


def _bind(ctx: BuildContext, spec: dict[str, Any], host: Any, secret_arn: Any, resource_id: Ref) -> Any:
    """The database's endpoint, port and name as environment, its master password by reference,
    and, with IAM authentication on, ``rds-db:connect`` as the IAM user
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html)."""
    connect = ({"Sid": "ConnectToDatabaseWithIam", "Effect": "Allow", "Action": ["rds-db:connect"],
                "Resource": account_arn("rds-db", "dbuser:", resource_id, f"/{IAM_DB_USER}")},) if _iam_auth(ctx) else ()
    return APP.bind(
        "database",
        env={"DB_HOST": host, "DB_PORT": str(spec["port"]), "DB_NAME": "app", "DB_USER": "app_admin"},
        secrets={"DB_PASSWORD": (secret_arn, "password")},
        port=spec["port"],
        security_group=DB_SG.id,
        statements=connect,
    )


def _db_class(ctx: BuildContext, aurora: bool) -> str:
    if ctx.req.db_instance_class:
        return ctx.req.db_instance_class
    if aurora:
        return "db.r7g.large" if ctx.req.production else "db.t4g.medium"
    return "db.t4g.medium" if ctx.req.production else "db.t4g.micro"


@blueprint(
    "rds",
    title="RDS database",
    concern="database.tf",
    why="Encrypted with the module's key, in isolated data subnets, Multi-AZ in production, "
    "gp3 storage that grows itself, 35-day backups and deletion protection in production; "
    "the master password is generated and kept in Secrets Manager by RDS, never in code.",
    requires=("vpc", "kms"),
    component="RDS database",
    facts=Facts(wanted=wants_database("rds")),
)
def rds(ctx: BuildContext) -> Fragment:
    out = Fragment()
    spec = ENGINES[ctx.req.database or "postgres"]
    prod = ctx.req.production
    multi_az = ctx.req.multi_az
    klass = _db_class(ctx, False)
    storage_type, storage_gb, iops = _storage(ctx)
    db = resource(
        "aws_db_instance",
        "main",
        identifier=ctx.name("rds", "db"),
        engine=spec["engine"],
        engine_version=ctx.req.db_version or spec["version"],
        instance_class=klass,
        allocated_storage=storage_gb,
        max_allocated_storage=max(100, storage_gb * 5),
        storage_type=storage_type,
        storage_encrypted=True,
        kms_key_id=KEY.arn,
        db_name="app",
        username="app_admin",
        manage_master_user_password=True,
        master_user_secret_kms_key_id=KEY.arn,
        port=spec["port"],
        db_subnet_group_name=Ref("aws_db_subnet_group", "main", "name"),
        vpc_security_group_ids=[DB_SG.id],
        publicly_accessible=False,
        multi_az=multi_az,
        backup_retention_period=35 if prod else 7,
        backup_window="03:00-04:00",
        maintenance_window="sun:04:30-sun:05:30",
        copy_tags_to_snapshot=True,
        deletion_protection=prod,
        skip_final_snapshot=not prod,
        auto_minor_version_upgrade=True,
        iam_database_authentication_enabled=_iam_auth(ctx),
        enabled_cloudwatch_logs_exports=spec["logs"],
        monitoring_interval=60,
        monitoring_role_arn=Ref("aws_iam_role", "rds_monitoring", "arn"),
        parameter_group_name=Ref("aws_db_parameter_group", "main", "name"),
    )
    if iops is not None:
        db.set("iops", iops)
    if prod:
        db.set("final_snapshot_identifier", Template(local("name"), "-final"))
    _apply_immediately(ctx, db)
    if not multi_az:
        _single_az(ctx, db, "CKV_AWS_157", "a single-AZ database halves cost; production is Multi-AZ")
    outside_production(ctx, db, "CKV_AWS_293", "no deletion protection, so the stack can be torn down; production has it")
    _no_iam_auth_skip(ctx, out, db, "CKV_AWS_161")
    out.ask(BACKUP.protect("database", Ref("aws_db_instance", "main", "arn")))
    out.ask(_bind(ctx, spec, Ref("aws_db_instance", "main", "address"), Ref("aws_db_instance", "main", "master_user_secret", 0, "secret_arn"),
                  Ref("aws_db_instance", "main", "resource_id")))
    if klass.split(".")[-1] in {"micro", "small"}:
        db.skip("CKV_AWS_353", f"Performance Insights is not offered on {klass}")
    else:
        # the 7-day Performance Insights history is free
        db.set("performance_insights_enabled", True)
        db.set("performance_insights_kms_key_id", KEY.arn)
    out.add(
        "database.tf",
        resource("aws_db_subnet_group", "main", name=Template(local("name"), "-db"), subnet_ids=NETWORK.data_subnet_ids),
        *_store_sg(DB_SG, spec["port"], ctx, "Database"),
        *_parameters_and_monitoring(spec, ctx),
        db,
    )
    dim = {"DBInstanceIdentifier": Ref("aws_db_instance", "main", "identifier")}
    ALERTS.alarms(
        ctx, out,
        Alarm("db_cpu", "The database runs hot", "AWS/RDS", "CPUUtilization", dim, 80),
        Alarm("db_storage", "Less than 5 GB of database storage left", "AWS/RDS", "FreeStorageSpace", dim, 5368709120, "LessThanThreshold"),
    )
    out.outputs += [
        output("db_endpoint", Ref("aws_db_instance", "main", "address"), "Database host name"),
        output("db_secret_arn", Ref("aws_db_instance", "main", "master_user_secret", 0, "secret_arn"), "Secret holding the master credentials"),
    ]
    out.node("aws_db_instance.main", f"RDS {spec['engine']}" + (" Multi-AZ" if multi_az else ""), "rds", "data")
    out.notes.append("The database's master password is generated by RDS and kept (and rotated) in Secrets Manager "
                     "(output `db_secret_arn`); no password is in the code or the state.")
    return out


# RDS storage types: provisioned IOPS need an amount (and at least 100 GB); "magnetic" is "standard"
# (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html)
PROVISIONED_IOPS = {"io1", "io2"}


def _storage(ctx: BuildContext) -> tuple[str, int, int | None]:
    """(storage type, size in GB, provisioned IOPS or None) as the request states them."""
    kind = ctx.req.db_storage_type or "gp3"
    kind = "standard" if kind == "magnetic" else kind
    size = ctx.req.db_storage_gb or 20
    if kind in PROVISIONED_IOPS:
        return kind, max(size, 100), 3000
    return kind, size, None


def _parameters_and_monitoring(spec: dict[str, Any], ctx: BuildContext) -> list[Block]:
    """Query logging and TLS-only connections; enhanced monitoring's role (OS metrics each minute)."""
    version = ctx.req.db_version or spec["version"]
    major = version.split(".")[0] if spec["engine"] == "postgres" else ".".join(version.split(".")[:2])
    family = f"{spec['engine']}{major}"
    params = [block("parameter", name=k, value=v) for k, v in spec["parameters"].items()]
    return [
        resource("aws_db_parameter_group", "main", *params, name_prefix=Template(local("name"), "-db-"), family=family,
                 description="Query logging and encrypted connections"),
        resource("aws_iam_role", "rds_monitoring", name=Template(local("name"), "-rds-monitoring"), assume_role_policy=assume_role("monitoring.rds.amazonaws.com")),
        resource(
            "aws_iam_role_policy_attachment",
            "rds_monitoring",
            role=Ref("aws_iam_role", "rds_monitoring", "name"),
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
        ),
    ]


@blueprint(
    "aurora",
    title="Aurora cluster",
    concern="database.tf",
    why="Aurora keeps six copies across three AZs, fails over in about 30 seconds to a reader "
    "in another AZ, and grows storage itself; encrypted, backed up, deletion-protected.",
    requires=("vpc", "kms"),
    component="Aurora cluster",
    facts=Facts(wanted=wants_database("aurora")),
)
def aurora(ctx: BuildContext) -> Fragment:
    out = Fragment()
    spec = ENGINES[ctx.req.database if ctx.req.database and ctx.req.database.startswith("aurora") else "aurora-postgresql"]
    prod = ctx.req.production
    cluster = resource(
        "aws_rds_cluster",
        "main",
        cluster_identifier=ctx.name("rds", "aurora"),
        engine=spec["engine"],
        engine_version=ctx.req.db_version or spec["version"],
        database_name="app",
        master_username="app_admin",
        manage_master_user_password=True,
        master_user_secret_kms_key_id=KEY.arn,
        storage_encrypted=True,
        kms_key_id=KEY.arn,
        db_subnet_group_name=Ref("aws_db_subnet_group", "main", "name"),
        vpc_security_group_ids=[DB_SG.id],
        backup_retention_period=35 if prod else 7,
        preferred_backup_window="03:00-04:00",
        copy_tags_to_snapshot=True,
        deletion_protection=prod,
        skip_final_snapshot=not prod,
        iam_database_authentication_enabled=_iam_auth(ctx),
        enabled_cloudwatch_logs_exports=spec["logs"],
    )
    _no_iam_auth_skip(ctx, out, cluster, "CKV_AWS_162")
    out.ask(BACKUP.protect("cluster", Ref("aws_rds_cluster", "main", "arn")))
    _apply_immediately(ctx, cluster)
    outside_production(ctx, cluster, "CKV_AWS_139", "no deletion protection, so the stack can be torn down; production has it")
    if not ctx.has("backup"):
        outside_production(ctx, cluster, "CKV2_AWS_8", "no AWS Backup plan; the cluster's own automated backups (7 days) remain")
    out.ask(_bind(ctx, spec, Ref("aws_rds_cluster", "main", "endpoint"), Ref("aws_rds_cluster", "main", "master_user_secret", 0, "secret_arn"),
                  Ref("aws_rds_cluster", "main", "cluster_resource_id")))
    if prod:
        cluster.set("final_snapshot_identifier", Template(local("name"), "-final"))
    cluster.set("db_cluster_parameter_group_name", Ref("aws_rds_cluster_parameter_group", "main", "name"))
    params = _cluster_parameters(spec, ctx.req.db_version or spec["version"])
    monitoring = _parameters_and_monitoring(spec | {"parameters": {}}, ctx)[1:]
    instance = resource(
        "aws_rds_cluster_instance",
        "main",
        count=2 if ctx.req.multi_az else 1,
        identifier=Template(local("name"), "-aurora-", Ref("count", "index")),
        cluster_identifier=Ref("aws_rds_cluster", "main", "id"),
        instance_class=_db_class(ctx, True),
        engine=Ref("aws_rds_cluster", "main", "engine"),
        engine_version=Ref("aws_rds_cluster", "main", "engine_version"),
        publicly_accessible=False,
        auto_minor_version_upgrade=True,
        performance_insights_enabled=True,
        performance_insights_kms_key_id=KEY.arn,
        monitoring_interval=60,
        monitoring_role_arn=Ref("aws_iam_role", "rds_monitoring", "arn"),
    )
    _apply_immediately(ctx, instance)
    out.add(
        "database.tf",
        resource("aws_db_subnet_group", "main", name=Template(local("name"), "-db"), subnet_ids=NETWORK.data_subnet_ids),
        *_store_sg(DB_SG, spec["port"], ctx, "Database"),
        params,
        *monitoring,
        cluster,
        instance,
    )
    out.outputs += [
        output("db_endpoint", Ref("aws_rds_cluster", "main", "endpoint"), "Writer endpoint"),
        output("db_reader_endpoint", Ref("aws_rds_cluster", "main", "reader_endpoint"), "Reader endpoint"),
    ]
    out.node("aws_rds_cluster.main", f"Aurora {spec['engine']}", "aurora", "data")
    out.notes.append("The cluster's master password is generated by RDS and kept (and rotated) in Secrets Manager; "
                     "no password is in the code or the state.")
    return out


def _cluster_parameters(spec: dict[str, Any], version: str) -> Block:
    """Aurora's cluster parameters: query logging and encrypted connections only."""
    family = f"aurora-postgresql{version.split('.')[0]}" if spec["engine"] == "aurora-postgresql" else "aurora-mysql8.0"
    return resource(
        "aws_rds_cluster_parameter_group",
        "main",
        *[block("parameter", name=k, value=v) for k, v in spec["parameters"].items()],
        name_prefix=Template(local("name"), "-aurora-"),
        family=family,
        description="Query logging and encrypted connections",
    )


@blueprint(
    "redis",
    title="ElastiCache Redis",
    concern="cache.tf",
    why="Encrypted at rest and in transit with an AUTH token kept in Secrets Manager, a replica "
    "in another AZ with automatic failover when Multi-AZ, daily snapshots, Graviton nodes.",
    requires=("vpc", "kms"),
    component="ElastiCache Redis",
    words=r"redis|elasticache|\bcache\b|caching|session store",
    facts=Facts(direct=True, removable=True),
)
def redis(ctx: BuildContext) -> Fragment:
    out = Fragment()
    prod = ctx.req.production
    replicas = 2 if ctx.req.multi_az else 1
    out.providers.add("random")
    group = resource(
        "aws_elasticache_replication_group",
        "main",
        replication_group_id=ctx.short_name("redis", "redis", 40),
        description=Template("Cache for ", local("name")),
        engine="redis",
        engine_version="7.1",
        node_type=ctx.req.cache_node_type or ("cache.t4g.small" if prod else "cache.t4g.micro"),
        num_cache_clusters=replicas,
        port=6379,
        automatic_failover_enabled=replicas > 1,
        multi_az_enabled=replicas > 1,
        subnet_group_name=Ref("aws_elasticache_subnet_group", "main", "name"),
        security_group_ids=[CACHE_SG.id],
        at_rest_encryption_enabled=True,
        kms_key_id=KEY.arn,
        transit_encryption_enabled=True,
        auth_token=Ref("random_password", "redis", "result"),
        snapshot_retention_limit=7 if prod else 1,
        auto_minor_version_upgrade=True,
    )
    _apply_immediately(ctx, group)
    if replicas == 1:
        _single_az(ctx, group, "CKV2_AWS_50", "one cache node; production adds a replica with failover")
    out.add(
        "cache.tf",
        resource("aws_elasticache_subnet_group", "main", name=Template(local("name"), "-cache"), subnet_ids=NETWORK.data_subnet_ids),
        *_store_sg(CACHE_SG, 6379, ctx, "Redis"),
        resource("random_password", "redis", length=48, special=False),
        resource("aws_secretsmanager_secret", "redis", name_prefix=Template(local("name"), "-redis-auth-"), kms_key_id=KEY.arn).skip(
            "CKV2_AWS_57", "the AUTH token is generated by Terraform; rotate it by replacing random_password.redis"
        ),
        resource(
            "aws_secretsmanager_secret_version",
            "redis",
            secret_id=Ref("aws_secretsmanager_secret", "redis", "id"),
            secret_string=Ref("random_password", "redis", "result"),
        ),
        group,
    )
    out.ask(APP.bind(
        "cache",
        env={"REDIS_HOST": Ref("aws_elasticache_replication_group", "main", "primary_endpoint_address"), "REDIS_PORT": "6379", "REDIS_TLS": "true"},
        secrets={"REDIS_AUTH_TOKEN": (Ref("aws_secretsmanager_secret", "redis", "arn"), None)},
        port=6379,
        security_group=CACHE_SG.id,
    ))
    out.notes.append("The Redis AUTH token is generated by Terraform (`random_password.redis`) and kept in Secrets Manager; "
                     "it is also in the Terraform state, so keep the state bucket private and encrypted.")
    out.outputs.append(output("redis_endpoint", Ref("aws_elasticache_replication_group", "main", "primary_endpoint_address"), "Redis primary endpoint"))
    out.node("aws_elasticache_replication_group.main", "ElastiCache Redis", "redis", "data")
    return out


@blueprint(
    "dynamodb",
    title="DynamoDB table",
    concern="dynamodb.tf",
    why="On-demand capacity bills per request (no idle cost), point-in-time recovery restores "
    "any second of the last 35 days, encrypted with the module's key.",
    requires=("kms",),
    component="DynamoDB table",
    words=r"dynamo ?db|nosql|key[- ]value",
    facts=Facts(direct=True, removable=True),
)
def dynamodb(ctx: BuildContext) -> Fragment:
    out = Fragment()
    table = resource(
        "aws_dynamodb_table",
        "main",
        block("attribute", name="pk", type="S"),
        block("attribute", name="sk", type="S"),
        block("point_in_time_recovery", enabled=True),
        block("server_side_encryption", enabled=True, kms_key_arn=KEY.arn),
        block("ttl", attribute_name="expires_at", enabled=True),
        name=ctx.name("dynamodb", "table"),
        billing_mode="PAY_PER_REQUEST",
        hash_key="pk",
        range_key="sk",
        deletion_protection_enabled=ctx.req.production,
    )
    out.add("dynamodb.tf", table)
    out.ask(BACKUP.protect("table", Ref("aws_dynamodb_table", "main", "arn")))
    arn = Ref("aws_dynamodb_table", "main", "arn")
    out.ask(APP.bind("table", env={"TABLE_NAME": Ref("aws_dynamodb_table", "main", "name")}, statements=({
        "Sid": "Table",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query",
                   "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
        "Resource": [arn, Template(arn, "/index/*")],
    },)))
    out.outputs.append(output("table_name", Ref("aws_dynamodb_table", "main", "name"), "DynamoDB table"))
    out.node("aws_dynamodb_table.main", "DynamoDB table", "dynamodb", "region")
    return out
