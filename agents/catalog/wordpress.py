"""WordPress on ECS Fargate: the official image, wp-content on EFS, MySQL on RDS, shared salts.

The official ``wordpress`` image (php-apache, pinned by tag) runs as the ECS service's container
on port 80 behind the load balancer. Its entrypoint copies WordPress into ``/var/www/html`` on
every start, so that directory lives in the task; ``wp-content`` (uploads, themes, plugins) is an
encrypted EFS file system every task mounts through one access point, so an upload made on one
task is seen by all and survives a deployment. The database is the design's MySQL (RDS or
Aurora): its host, name and user are environment, its RDS-managed password a Secrets Manager
reference read at task start, and WordPress connects over TLS (the database refuses anything
else). The eight authentication keys and salts are generated once and shared through Secrets
Manager: without them each task would invent its own and log users out whenever the load
balancer sends them to another task.
"""

from __future__ import annotations

from typing import Any

from agents.catalog.base import BuildContext, Facts, Fragment, Program, blueprint, outside_production, tags
from agents.catalog.edge import ingress_rule
from agents.catalog.shared import APP, APP_SG, KEY, NETWORK, Binding, SecurityGroup, Volume, bindings
from agents.requirements import Requirements
from core.terraform.model import Call, ForMap, Ref, Template, block, jsonencode, local, output, resource

# https://hub.docker.com/_/wordpress (multi-architecture: runs on Graviton)
IMAGE = "wordpress:7.1.0-php8.3-apache"
CONTENT = "/var/www/html/wp-content"
# www-data in the Debian-based official image: EFS sees every task as this user
WWW_DATA = 33
NFS = 2049
SALTS = ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT")
EFS_SG = SecurityGroup("efs")
FS_ID = Ref("aws_efs_file_system", "wordpress", "id")
FS_ARN = Ref("aws_efs_file_system", "wordpress", "arn")
AP_ID = Ref("aws_efs_access_point", "wordpress", "id")
AP_ARN = Ref("aws_efs_access_point", "wordpress", "arn")
SALTS_ARN = Ref("aws_secretsmanager_secret", "wordpress_salts", "arn")
TASK_ROLE = Ref("aws_iam_role", "task", "arn")
MYSQL = frozenset({"mysql", "aurora-mysql"})

PROGRAM = Program(
    title="WordPress",
    port=80,
    # a page WordPress renders (PHP and its database), not a static file
    health_path="/wp-login.php",
    warmup=120,
    image=IMAGE,
    writable_root="the official WordPress image copies WordPress into /var/www/html and Apache writes its run and "
    "lock files at start; uploads, themes and plugins live on the EFS volume",
    task_size=(512, 1024),
    database="mysql",
    large_bodies=True,
)


def _fits(req: Requirements, chosen: Any) -> bool:
    """WordPress needs a MySQL database (RDS or Aurora) to run on."""
    return bool(chosen & {"rds", "aurora"}) and (req.database or "mysql") in MYSQL


@blueprint(
    "wordpress",
    title="WordPress (ECS Fargate, EFS, MySQL)",
    concern="wordpress.tf",
    why="The official WordPress image runs as Fargate tasks behind the load balancer; wp-content "
    "(uploads, themes, plugins) is an encrypted EFS file system every task mounts, reachable from "
    "the tasks only and backed up daily in production; WordPress reaches MySQL over TLS with the "
    "RDS-managed password from Secrets Manager, and its salts are generated once and shared, so a "
    "login holds on every task.",
    requires=("ecs", "alb", "vpc", "kms"),
    after=("rds", "aurora", "cloudfront"),
    component="WordPress (containers, EFS for uploads, MySQL)",
    words=r"wordpress|woocommerce|워드\s*프레스",
    facts=Facts(wanted=lambda req, _chosen: "php" in req.asked and req.has("wordpress"), fits=_fits, direct=True, removable=True),
    program=PROGRAM,
)
def wordpress(ctx: BuildContext) -> Fragment:
    out = Fragment()
    out.providers.add("random")
    out.add("wordpress.tf", *_file_system(ctx), *_salts())
    out.ask(_binding(ctx))
    out.notes += [
        "WordPress: open the site's address right after apply and finish the five-minute install (site title, admin "
        "user): until then anyone who opens it can claim the site.",
        f"WordPress keeps uploads, themes and plugins on EFS (`{CONTENT}`, owned by www-data); WordPress core comes from "
        f"the image (`{IMAGE}`), so update WordPress by moving `container_image` to a newer tag, not from the admin page.",
        "WordPress connects to MySQL over TLS (`MYSQL_CLIENT_FLAGS`) without checking the server's certificate; to check it, "
        "build an image with the RDS CA bundle and point PHP's `mysqli` at it.",
    ]
    if ctx.has("waf"):
        out.notes.append("The WAF counts, rather than blocks, request bodies over 8 KB (the common rule set's "
                         "`SizeRestrictions_BODY`): media uploads and long posts in wp-admin are bigger.")
    out.outputs.append(output("wordpress_file_system_id", FS_ID, "EFS file system holding wp-content"))
    out.node("aws_efs_file_system.wordpress", "EFS (wp-content)", "efs", "private")
    return out


def _file_system(ctx: BuildContext) -> list[Any]:
    """Encrypted EFS with a mount target in each private subnet, NFS from the tasks only, one
    access point that makes every task www-data in ``/wp-content``, TLS required by its policy,
    and AWS Backup's daily backups in production."""
    fs = resource(
        "aws_efs_file_system",
        "wordpress",
        block("lifecycle_policy", transition_to_ia="AFTER_30_DAYS"),
        block("lifecycle_policy", transition_to_primary_storage_class="AFTER_1_ACCESS"),
        creation_token=Template(local("name"), "-wordpress"),
        encrypted=True,
        kms_key_id=KEY.arn,
        performance_mode="generalPurpose",
        # elastic throughput: pays for what is read and written, no burst credits to run out of
        throughput_mode="elastic",
        tags=tags(Template(local("name"), "-wordpress")),
    )
    targets = resource(
        "aws_efs_mount_target",
        "wordpress",
        count=Call("length", local("azs")),
        file_system_id=FS_ID,
        subnet_id=NETWORK.subnet_id("private", Ref("count", "index")),
        security_groups=[EFS_SG.id],
    )
    group = resource(
        "aws_security_group",
        EFS_SG.rid,
        name_prefix=Template(local("name"), "-efs-"),
        description="WordPress content (EFS): NFS from the application only",
        vpc_id=NETWORK.vpc_id,
    )
    access_point = resource(
        "aws_efs_access_point",
        "wordpress",
        block("posix_user", uid=WWW_DATA, gid=WWW_DATA),
        block("root_directory", path="/wp-content").add(
            block("creation_info", owner_uid=WWW_DATA, owner_gid=WWW_DATA, permissions="0755")),
        file_system_id=FS_ID,
        tags=tags(Template(local("name"), "-wp-content")),
    )
    policy = resource(
        "aws_efs_file_system_policy",
        "wordpress",
        file_system_id=FS_ID,
        policy=jsonencode({"Version": "2012-10-17", "Statement": [
            {"Sid": "TasksThroughTheAccessPoint", "Effect": "Allow", "Principal": {"AWS": TASK_ROLE},
             "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], "Resource": FS_ARN,
             "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": AP_ARN}}},
            {"Sid": "EncryptedTransportOnly", "Effect": "Deny", "Principal": {"AWS": "*"},
             "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
             "Resource": FS_ARN, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ]}),
    )
    backup = resource(
        "aws_efs_backup_policy",
        "wordpress",
        block("backup_policy", status="ENABLED" if ctx.req.production else "DISABLED"),
        file_system_id=FS_ID,
    )
    if ctx.req.production:
        fs.skip("CKV2_AWS_18", "backed up daily by AWS Backup through the file system's backup policy (aws_efs_backup_policy)")
    else:
        outside_production(ctx, fs, "CKV2_AWS_18", "no backups of wp-content; production backs it up daily")
    return [fs, group, ingress_rule("efs_from_app", EFS_SG.id, NFS, "NFS from the WordPress tasks", source_sg=APP_SG.id),
            targets, access_point, policy, backup]


def _salts() -> list[Any]:
    """The eight keys and salts, generated once and kept in one secret (a JSON key each)."""
    secret = resource(
        "aws_secretsmanager_secret",
        "wordpress_salts",
        name_prefix=Template(local("name"), "-wordpress-salts-"),
        description="WordPress authentication keys and salts",
        kms_key_id=KEY.arn,
    ).skip("CKV2_AWS_57", "rotating the salts logs every user out: replace random_password.wordpress_salt deliberately")
    return [
        resource("random_password", "wordpress_salt", for_each=Call("toset", list(SALTS)), length=64, special=False),
        secret,
        resource(
            "aws_secretsmanager_secret_version",
            "wordpress_salts",
            secret_id=Ref("aws_secretsmanager_secret", "wordpress_salts", "id"),
            secret_string=jsonencode(ForMap("salt", list(SALTS), Ref("salt"),
                                            Ref("random_password", "wordpress_salt", Ref("salt"), "result"))),
        ),
    ]


def _binding(ctx: BuildContext) -> Binding:
    """What the WordPress container is given: the database the design's MySQL offers, under the
    names the image reads; the salts; the EFS volume at wp-content and the right to mount it."""
    env: dict[str, Any] = {}
    secrets: dict[str, tuple[Any, str | None]] = {f"WORDPRESS_{name}": (SALTS_ARN, name) for name in SALTS}
    database = next((b for b in bindings(ctx.asked_of(APP)) if b.sid == "database"), None)
    if database is not None:
        host = database.env["DB_HOST"]
        port = database.env.get("DB_PORT", "3306")
        env.update({
            "WORDPRESS_DB_HOST": host if port == "3306" else Template(host, f":{port}"),
            "WORDPRESS_DB_NAME": database.env["DB_NAME"],
            "WORDPRESS_DB_USER": database.env["DB_USER"],
        })
        secrets["WORDPRESS_DB_PASSWORD"] = database.secrets["DB_PASSWORD"]
    # TLS to MySQL (it refuses anything else); no code editing from the admin pages; core comes
    # from the image, so it is not updated in a task that forgets it at the next start
    extra = ["define('MYSQL_CLIENT_FLAGS', MYSQLI_CLIENT_SSL);", "define('DISALLOW_FILE_EDIT', true);",
             "define('WP_AUTO_UPDATE_CORE', false);"]
    if ctx.has("cloudfront"):
        # only CloudFront reaches the load balancer, and it redirects every viewer to HTTPS
        extra.append("$_SERVER['HTTPS'] = 'on';")
    env["WORDPRESS_CONFIG_EXTRA"] = " ".join(extra)
    mount = {"Sid": "MountWordPressContent", "Effect": "Allow",
             "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], "Resource": FS_ARN,
             "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": AP_ARN}}}
    return APP.bind("wordpress", env=env, secrets=secrets, port=NFS, security_group=EFS_SG.id, statements=(mount,),
                    volumes=(Volume("wp-content", FS_ID, AP_ID, CONTENT),))
