"""Compute blueprints: ECS Fargate service, EC2 Auto Scaling group, single EC2 instance."""

from __future__ import annotations

import re
from typing import Any

from agents.catalog.base import BuildContext, Facts, Fragment, blueprint, runs_on, tags
from agents.catalog.edge import ingress_rule
from agents.catalog.iam import app_statements, assembled_role, assume_role
from agents.catalog.shared import (
    ACCOUNT,
    ALERTS,
    APP,
    APP_SG,
    KEY,
    LB,
    LB_SG,
    NETWORK,
    PARTITION,
    QUEUE,
    Alarm,
    Ask,
    Binding,
    Volume,
    app_port,
    app_ports,
    bindings,
    log_group,
)
from core.terraform.deploy import fargate_size
from core.terraform.model import (
    Block,
    Call,
    Cond,
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


def is_graviton(instance_type: str) -> bool:
    """Graviton families carry a ``g`` after the generation digit (t4g, m7g, c7gn)."""
    return re.match(r"^[a-z]+\d+g", instance_type) is not None


def instance_type(ctx: BuildContext) -> str:
    """The instance type asked for; else Graviton burstable, or a general-purpose Graviton type
    on dedicated tenancy (burstable types cannot run as Dedicated Instances)."""
    if ctx.req.instance_type:
        return ctx.req.instance_type
    program = ctx.program()
    if program and program.instance_type:
        return program.instance_type
    if dedicated(ctx):
        return "m7g.large"
    return "t4g.small" if ctx.req.production else "t4g.micro"


def dedicated(ctx: BuildContext) -> bool:
    """Dedicated Instances asked for ("dedicated tenancy"); a Dedicated Host (``host``) needs a
    host allocated first, which no blueprint builds, so it stays listed as not built."""
    return ctx.req.tenancy == "dedicated"


def worker(ctx: BuildContext) -> bool:
    """The compute consumes the design's queue and serves no web traffic: it scales on the
    queue's backlog, not on CPU."""
    return ctx.has("sqs") and not ctx.has("alb")


def app_security_group(ctx: BuildContext) -> list[Block]:
    """The application's security group: in from the load balancer only; out over HTTPS (AWS
    APIs, images) and to the ports of the stores it uses (:func:`store_egress`), nothing else.
    The load balancer's one way out (to this group, on the app's port) is written here too."""
    blocks = [
        resource(
            "aws_security_group",
            APP_SG.rid,
            name_prefix=Template(local("name"), "-app-"),
            description="Application: from the load balancer only",
            vpc_id=NETWORK.vpc_id,
        ),
        resource(
            "aws_vpc_security_group_egress_rule",
            "app_https",
            security_group_id=APP_SG.id,
            description="HTTPS to AWS APIs and the internet through NAT",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
        ),
    ]
    if ctx.has("alb"):  # the pair: the load balancer out to the app's port, the app in from it
        port = app_port(ctx)
        rule = ingress_rule("app_from_alb", APP_SG.id, port, "From the load balancer", source_sg=LB_SG.id)
        if port == 80:
            rule.skip("CKV_AWS_260", "the source is the load balancer's security group, not the internet")
        blocks += [rule, resource(
            "aws_vpc_security_group_egress_rule",
            "alb_to_app",
            security_group_id=LB_SG.id,
            description=f"To the application on port {port} (traffic and health checks)",
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=APP_SG.id,
        )]
    return blocks


def store_egress(binds: list[Binding]) -> list[Block]:
    """Out to each store the application uses, on its port, to its security group only."""
    return [
        resource(
            "aws_vpc_security_group_egress_rule",
            f"app_to_{b.sid}",
            security_group_id=APP_SG.id,
            description=f"To the {b.sid} on port {b.port}",
            ip_protocol="tcp",
            from_port=b.port,
            to_port=b.port,
            referenced_security_group_id=b.security_group,
        )
        for b in binds
        if b.port is not None and b.security_group is not None
    ]


def connection_notes(binds: list[Binding]) -> list[str]:
    """What instances (no container environment) must read themselves."""
    names = sorted({name for b in binds for name in (*b.env, *b.secrets)})
    if not names:
        return []
    return [f"The module gives instances no environment: your start-up script or configuration sets {', '.join(names)} "
            "from the module's outputs (endpoints) and Secrets Manager (secrets, which the instance role may read)."]


def image_note(port: int) -> str:
    return (
        f"`container_image` is a placeholder (`nginxinc/nginx-unprivileged`, which listens on 8080): set it to your "
        "application's image before you apply. Tasks run on Graviton (`ARM64`): build the image for `linux/arm64` "
        f"(`docker buildx build --platform linux/arm64`) or as a multi-architecture image; it must listen on {port}."
    )


def _runs_on(compute: str) -> Facts:
    """A compute blueprint is chosen when the workload runs on it; a user may name it."""
    return Facts(wanted=lambda req, _chosen: runs_on(req) == compute, direct=True)


@blueprint(
    "ecs",
    title="ECS Fargate service",
    concern="compute.tf",
    why="Fargate runs containers without servers to patch; Graviton (ARM64) tasks cost ~20% "
    "less; tasks sit in private subnets, roll back failed deployments and scale on CPU (a queue "
    "worker on its backlog).",
    requires=("vpc", "kms"),
    after=("alb", "rds", "aurora", "redis", "sqs", "s3", "secrets", "dynamodb", "sns"),
    component="ECS Fargate service",
    facts=_runs_on("ecs"),
)
def ecs(ctx: BuildContext) -> Fragment:
    out = Fragment()
    desired = replicas(ctx)
    port = app_port(ctx)
    program = ctx.program()
    # the memory asked for, in the smallest task size Fargate offers for it (and the program needs)
    least_cpu, least_memory = program.task_size if program and program.task_size else (256, 512)
    cpu, memory = fargate_size(max(512 if ctx.req.production else 256, least_cpu),
                               ctx.req.memory_mb or max(1024 if ctx.req.production else 512, least_memory))
    image = program.image if program and program.image else "nginxinc/nginx-unprivileged:stable-alpine"
    out.variables += [
        variable("container_image", "string", f"Container image the service runs (listens on {port})", image),
        variable("task_cpu", "number", "vCPU units per task (1024 = 1 vCPU)", cpu),
        variable("task_memory", "number", "Memory per task in MiB (a size Fargate offers for the CPU)", memory),
        variable("desired_count", "number", "Tasks running at steady state", desired),
    ]
    service = resource(
        "aws_ecs_service",
        "app",
        block("network_configuration", subnets=NETWORK.private_subnet_ids, security_groups=[APP_SG.id], assign_public_ip=False),
        block("deployment_circuit_breaker", enable=True, rollback=True),
        name="app",
        cluster=Ref("aws_ecs_cluster", "main", "id"),
        task_definition=Ref("aws_ecs_task_definition", "app", "arn"),
        desired_count=var("desired_count"),
        launch_type="FARGATE",
        propagate_tags="SERVICE",
    )
    # application autoscaling owns the task count once the service exists
    service.add(block("lifecycle", ignore_changes=[Ref("desired_count")]))
    if ctx.has("alb"):
        service.add(block("load_balancer", target_group_arn=LB.target_group_arn, container_name="app", container_port=port))
        service.set("health_check_grace_period_seconds", program.warmup if program else 60)
    cluster = resource("aws_ecs_cluster", "main", block("setting", name="containerInsights", value="enabled"), name=ctx.name("ecs", "cluster"))
    task_blocks, container, task, task_policy = _task_definition(ctx, out)
    _worker_variable(ctx, out)
    out.add("compute.tf", *app_security_group(ctx), cluster, *task_blocks, service, *_service_scaling(ctx, desired))

    def finish(asks: list[Ask]) -> None:
        binds = bindings(asks)
        env: dict[str, Any] = {"APP_ENV": var("environment")}
        secrets: dict[str, tuple[Any, str | None]] = {}
        for b in binds:
            env.update(b.env)
            secrets.update(b.secrets)
        container["environment"] = [{"name": k, "value": v} for k, v in env.items()]
        _mount(task, container, [v for b in binds for v in b.volumes])
        if secrets:
            # ECS reads each secret at task start: valueFrom is the ARN (and JSON key), never a value
            container["secrets"] = [{"name": k, "valueFrom": Template(arn, f":{key}::") if key else arn} for k, (arn, key) in secrets.items()]
            out.add("compute.tf", _execution_secrets(sorted({id(a): a for a, _ in secrets.values()}.values(), key=repr)))
        task.set("container_definitions", jsonencode([container]))
        task_policy.set("policy", jsonencode({"Version": "2012-10-17", "Statement": app_statements(binds)}))
        out.add("compute.tf", *store_egress(binds))

    out.assemble(APP, finish)
    arch = (program.architecture if program else "ARM64").lower().replace("x86_64", "amd64")
    out.notes.append(image_note(port) if program is None or not program.image else
                     f"`container_image` runs {program.title} (`{program.image}`, pinned by tag, built for linux/{arch} among "
                     "others): move to a newer tag deliberately, after reading its release notes.")
    dims = {"ClusterName": Ref("aws_ecs_cluster", "main", "name"), "ServiceName": Ref("aws_ecs_service", "app", "name")}
    ALERTS.alarms(ctx, out, Alarm("ecs_cpu", "The service runs hot", "AWS/ECS", "CPUUtilization", dims, 85))
    out.outputs.append(output("ecs_cluster_name", Ref("aws_ecs_cluster", "main", "name"), "ECS cluster running the service"))
    out.node("aws_ecs_service.app", f"{program.title} on ECS Fargate" if program else "ECS Fargate service", "ecs", "private")
    return out


def _execution_secrets(arns: list[Any]) -> Block:
    """The task execution role reads exactly the container's secrets, decrypting with the key."""
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadContainerSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": arns},
        {"Sid": "DecryptContainerSecrets", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": KEY.arn},
    ]
    return resource(
        "aws_iam_role_policy",
        "task_execution_secrets",
        name="read-container-secrets",
        role=Ref("aws_iam_role", "task_execution", "id"),
        policy=jsonencode({"Version": "2012-10-17", "Statement": statements}),
    )


def replicas(ctx: BuildContext) -> int:
    """Tasks or instances at steady state: the number asked, else two (in two AZs) when the
    design is Multi-AZ, one when it is not (outside production, or a cheap or small one)."""
    return ctx.req.instance_count or (2 if ctx.req.multi_az else 1)


def _mount(task: Block, container: dict[str, Any], volumes: list[Volume]) -> None:
    """Each file system a binding offers: a task volume (EFS through its access point, TLS in
    transit, authorised by the task role) mounted into the container at its path."""
    for v in volumes:
        config = block("efs_volume_configuration", file_system_id=v.file_system_id, transit_encryption="ENABLED")
        config.add(block("authorization_config", access_point_id=v.access_point_id, iam="ENABLED"))
        task.add(block("volume", name=v.name).add(config))
        container["mountPoints"].append({"sourceVolume": v.name, "containerPath": v.path, "readOnly": False})


def _task_definition(ctx: BuildContext, out: Fragment) -> tuple[list[Block], dict[str, Any], Block, Block]:
    """Graviton task, read-only root file system (a scratch volume at /tmp) unless the program it
    runs must write to it, logs to CloudWatch."""
    program = ctx.program()
    writable = program.writable_root if program else None
    container: dict[str, Any] = {
        "name": "app",
        "image": var("container_image"),
        "essential": True,
        "readonlyRootFilesystem": writable is None,
        "portMappings": [{"containerPort": p, "protocol": "tcp"} for p in app_ports(ctx)],
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": Ref("aws_cloudwatch_log_group", "app", "name"),
                "awslogs-region": var("region"),
                "awslogs-stream-prefix": "app",
            },
        },
    }
    role_blocks, task_policy = assembled_role("task", "ecs-tasks.amazonaws.com")
    task = resource(
        "aws_ecs_task_definition",
        "app",
        block("runtime_platform", operating_system_family="LINUX", cpu_architecture=program.architecture if program else "ARM64"),
        block("volume", name="tmp"),
        family=local("name"),
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=var("task_cpu"),
        memory=var("task_memory"),
        execution_role_arn=Ref("aws_iam_role", "task_execution", "arn"),
        task_role_arn=Ref("aws_iam_role", "task", "arn"),
        container_definitions=jsonencode([container]),
    )
    if writable is not None:
        task.skip("CKV_AWS_336", writable)
    blocks = [
        log_group(ctx, out, "app", Template("/ecs/", local("name"))),
        resource("aws_iam_role", "task_execution", name=Template(local("name"), "-task-execution"), assume_role_policy=assume_role("ecs-tasks.amazonaws.com")),
        resource(
            "aws_iam_role_policy_attachment",
            "task_execution",
            role=Ref("aws_iam_role", "task_execution", "name"),
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        ),
        *role_blocks,
        task,
    ]
    return blocks, container, task, task_policy


def _service_scaling(ctx: BuildContext, desired: int) -> list[Block]:
    """Application Auto Scaling owns the task count: a web service tracks 60% CPU; a queue
    worker tracks its backlog per task (:func:`_backlog_per_task`)."""
    resource_id = Template("service/", Ref("aws_ecs_cluster", "main", "name"), "/", Ref("aws_ecs_service", "app", "name"))
    target = resource(
        "aws_appautoscaling_target",
        "app",
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=resource_id,
        min_capacity=desired,
        max_capacity=max(desired * 4, 4),
    )
    on = {
        "service_namespace": Ref("aws_appautoscaling_target", "app", "service_namespace"),
        "scalable_dimension": Ref("aws_appautoscaling_target", "app", "scalable_dimension"),
        "resource_id": Ref("aws_appautoscaling_target", "app", "resource_id"),
        "policy_type": "TargetTrackingScaling",
    }
    if worker(ctx):
        return [target, resource("aws_appautoscaling_policy", "queue", _backlog_per_task(), name=Template(local("name"), "-queue-backlog"), **on)]
    policy = resource(
        "aws_appautoscaling_policy",
        "cpu",
        block("target_tracking_scaling_policy_configuration", target_value=60).add(
            block("predefined_metric_specification", predefined_metric_type="ECSServiceAverageCPUUtilization")
        ),
        name=Template(local("name"), "-cpu"),
        **on,
    )
    return [target, policy]


# messages one task works through while the backlog is judged (a worker variable)
BACKLOG_PER_TASK = 10


def _metric(mid: str, namespace: str, metric: str, stat: str, dimensions: dict[str, Any], key: str = "dimensions") -> Block:
    found = block("metric", metric_name=metric, namespace=namespace)
    for name, value in dimensions.items():
        found.add(block(key, name=name, value=value))
    return block("metrics", id=mid, return_data=False).add(block("metric_stat", stat=stat).add(found))


def _backlog_per_task() -> Block:
    """Target tracking on the queue's backlog per task: messages visible in the queue divided by
    the running tasks, held at ``queue_messages_per_task``; CPU says nothing about a queue
    (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking-metric-math.html)."""
    spec = block("customized_metric_specification").add(
        _metric("visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Sum", {"QueueName": QUEUE.name}),
        _metric("tasks", "ECS/ContainerInsights", "RunningTaskCount", "Average",
                {"ClusterName": Ref("aws_ecs_cluster", "main", "name"), "ServiceName": Ref("aws_ecs_service", "app", "name")}),
        block("metrics", id="backlog", expression="visible / tasks", label="Messages waiting per task", return_data=True),
    )
    return block("target_tracking_scaling_policy_configuration", target_value=var("queue_messages_per_task"),
                 scale_in_cooldown=300, scale_out_cooldown=60).add(spec)


def _worker_variable(ctx: BuildContext, out: Fragment) -> None:
    if worker(ctx):
        out.variables.append(variable("queue_messages_per_task", "number",
                                      "Messages waiting per worker before another one starts (the backlog target)", BACKLOG_PER_TASK))


UBUNTU = {"20.04": ("focal", "hvm-ssd"), "22.04": ("jammy", "hvm-ssd"), "24.04": ("noble", "hvm-ssd-gp3")}
CANONICAL = "099720109477"


def _program_ami(ctx: BuildContext) -> str | None:
    program = ctx.program()
    return program.ami_parameter if program else None


def _ami(ctx: BuildContext) -> Block:
    """The image: the program's (its public SSM parameter), else the latest Amazon Linux 2023
    (SSM parameter), or the OS asked for."""
    if (parameter := _program_ami(ctx)) is not None:
        return data("aws_ssm_parameter", "ami", name=parameter)
    arm = is_graviton(instance_type(ctx))
    os_name = ctx.req.operating_system or "al2023"
    if os_name.startswith("ubuntu"):
        codename, store = UBUNTU[os_name.split("-")[1]]
        pattern = f"ubuntu/images/{store}/ubuntu-{codename}-{os_name.split('-')[1]}-{'arm64' if arm else 'amd64'}-server-*"
    elif os_name == "al2":
        pattern = f"amzn2-ami-hvm-*-{'arm64' if arm else 'x86_64'}-gp2"
    else:
        arch = "arm64" if arm else "x86_64"
        return data("aws_ssm_parameter", "ami", name=f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}")
    return data(
        "aws_ami",
        "os",
        block("filter", name="name", values=[pattern]),
        block("filter", name="virtualization-type", values=["hvm"]),
        most_recent=True,
        owners=[CANONICAL if os_name.startswith("ubuntu") else "amazon"],
    )


def _ami_id(ctx: BuildContext) -> Ref:
    if _program_ami(ctx) is not None or (ctx.req.operating_system or "al2023") == "al2023":
        return Ref("data", "aws_ssm_parameter", "ami", "value")
    return Ref("data", "aws_ami", "os", "id")


def _instance_profile(ctx: BuildContext, out: Fragment) -> list[Block]:
    """The instances' role: Session Manager, plus what the stores they use allow them."""
    role_blocks, policy = assembled_role("instance", "ec2.amazonaws.com")

    def finish(asks: list[Ask]) -> None:
        binds = bindings(asks)
        policy.set("policy", jsonencode({"Version": "2012-10-17", "Statement": app_statements(binds)}))
        out.add("compute.tf", *store_egress(binds))
        out.notes.extend(connection_notes(binds))

    out.assemble(APP, finish)
    return [
        *role_blocks,
        resource(
            "aws_iam_role_policy_attachment",
            "instance_ssm",
            role=Ref("aws_iam_role", "instance", "name"),
            policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        ),
        resource("aws_iam_instance_profile", "instance", name=Template(local("name"), "-instance"), role=Ref("aws_iam_role", "instance", "name")),
    ]


def _instances_use(ctx: BuildContext, out: Fragment) -> None:
    """Instances on Graviton: what the team installs must be built for arm64."""
    if is_graviton(instance_type(ctx)):
        out.notes.append(f"Instances are Graviton (`{instance_type(ctx)}`, arm64): software you install on them must be built for arm64.")


AUTOSCALING_ROLE = Template(
    "arn:", PARTITION, ":iam::", ACCOUNT, ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
)


def _autoscaling_uses_key(ctx: BuildContext, out: Fragment) -> Block:
    """Auto Scaling launches instances whose EBS volumes the module's key encrypts: the key lets
    its service-linked role use the key and create grants for EC2
    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html).
    The role must exist before the key policy names it: a new account creates it here."""
    out.variables.append(variable(
        "create_autoscaling_service_linked_role", "bool",
        "Create AWSServiceRoleForAutoScaling (true only in an account that never used EC2 Auto Scaling)", False))
    out.notes.append(
        "`create_autoscaling_service_linked_role` (default `false`): the key policy names the account's "
        "AWSServiceRoleForAutoScaling; in an account that never used EC2 Auto Scaling set it `true` "
        "(or run `aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com`)."
    )
    role = Ref("aws_iam_service_linked_role", "autoscaling")
    out.ask(
        KEY.role("AutoScalingUsesKeyForEbs", AUTOSCALING_ROLE,
                 ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"), after=(role,)),
        KEY.role("AutoScalingCreatesGrantsForEbs", AUTOSCALING_ROLE, ("kms:CreateGrant",),
                 {"Bool": {"kms:GrantIsForAWSResource": True}}, after=(role,)),
    )
    return resource("aws_iam_service_linked_role", "autoscaling", count=Cond(var("create_autoscaling_service_linked_role"), 1, 0),
                    aws_service_name="autoscaling.amazonaws.com")


def _group_scaling(ctx: BuildContext, group: Block, out: Fragment) -> Block:
    """A web group tracks 60% CPU; a program that says so (a model server, whose work CPU does
    not show) tracks the load balancer's requests per instance; a queue worker group tracks its
    backlog per instance (the group publishes its in-service count for it)."""
    name = Ref("aws_autoscaling_group", "app", "name")
    program = ctx.program()
    if program and program.requests_per_target and ctx.has("alb"):
        out.variables.append(variable("requests_per_instance", "number",
                                      "Requests a minute one instance serves before another one starts (the scaling target)",
                                      program.requests_per_target))
        label = Template(LB.arn_suffix, "/", LB.target_group_arn_suffix)
        return resource(
            "aws_autoscaling_policy",
            "requests",
            block("target_tracking_configuration", target_value=var("requests_per_instance")).add(
                block("predefined_metric_specification", predefined_metric_type="ALBRequestCountPerTarget", resource_label=label)
            ),
            name="requests-per-instance",
            autoscaling_group_name=name,
            policy_type="TargetTrackingScaling",
            estimated_instance_warmup=program.warmup,
        )
    if not worker(ctx):
        return resource(
            "aws_autoscaling_policy",
            "cpu",
            block("target_tracking_configuration", target_value=60).add(
                block("predefined_metric_specification", predefined_metric_type="ASGAverageCPUUtilization")
            ),
            name="cpu-target",
            autoscaling_group_name=name,
            policy_type="TargetTrackingScaling",
        )
    group.set("enabled_metrics", ["GroupInServiceInstances"])
    spec = block("customized_metric_specification").add(
        _metric("visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Sum", {"QueueName": QUEUE.name}),
        _metric("instances", "AWS/AutoScaling", "GroupInServiceInstances", "Average", {"AutoScalingGroupName": name}),
        block("metrics", id="backlog", expression="visible / instances", label="Messages waiting per instance", return_data=True),
    )
    return resource(
        "aws_autoscaling_policy",
        "queue",
        block("target_tracking_configuration", target_value=var("queue_messages_per_task")).add(spec),
        name="queue-backlog",
        autoscaling_group_name=name,
        policy_type="TargetTrackingScaling",
    )


def _root_gb(ctx: BuildContext) -> int:
    """20 GB, or what the program's image and data need (a model's weights)."""
    program = ctx.program()
    return program.root_gb if program and program.root_gb else 20


def _root_volume(size: int) -> dict[str, Any]:
    return {"volume_type": "gp3", "volume_size": size, "encrypted": True, "kms_key_id": KEY.arn, "delete_on_termination": True}


@blueprint(
    "asg",
    title="EC2 Auto Scaling group",
    concern="compute.tf",
    why="Instances replace themselves when unhealthy and scale on CPU (a queue worker on its "
    "backlog) across AZs; IMDSv2 only, encrypted gp3 volumes, no SSH (Session Manager instead), "
    "Graviton where the type allows.",
    requires=("vpc", "kms"),
    after=("alb", "sqs"),
    component="EC2 Auto Scaling group",
    facts=_runs_on("asg"),
)
def asg(ctx: BuildContext) -> Fragment:
    out = Fragment()
    count = replicas(ctx)
    program = ctx.program()
    template = resource(
        "aws_launch_template",
        "app",
        block("iam_instance_profile", arn=Ref("aws_iam_instance_profile", "instance", "arn")),
        block("metadata_options", http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
        block("block_device_mappings", device_name="/dev/xvda").add(block("ebs", **_root_volume(_root_gb(ctx)))),
        block("monitoring", enabled=True),
        name_prefix=Template(local("name"), "-"),
        image_id=_ami_id(ctx),
        instance_type=instance_type(ctx),
        vpc_security_group_ids=[APP_SG.id],
        update_default_version=True,
    )
    if program and program.user_data is not None:
        template.set("user_data", Call("base64encode", program.user_data))
    if dedicated(ctx):
        template.add(block("placement", tenancy="dedicated"))
    group = resource(
        "aws_autoscaling_group",
        "app",
        block("launch_template", id=Ref("aws_launch_template", "app", "id"), version="$Latest"),
        block("instance_refresh", strategy="Rolling").add(block("preferences", min_healthy_percentage=50)),
        block("tag", key="Name", value=Template(local("name"), "-app"), propagate_at_launch=True),
        name_prefix=Template(local("name"), "-"),
        min_size=count,
        max_size=max(count * 3, 3),
        desired_capacity=count,
        vpc_zone_identifier=NETWORK.private_subnet_ids,
        health_check_type="ELB" if ctx.has("alb") else "EC2",
        health_check_grace_period=max(120, program.warmup) if program else 120,
    )
    if ctx.has("alb"):
        group.set("target_group_arns", [LB.target_group_arn])
    scaling = _group_scaling(ctx, group, out)
    _worker_variable(ctx, out)
    out.add("compute.tf", _ami(ctx), *app_security_group(ctx), *_instance_profile(ctx, out), _autoscaling_uses_key(ctx, out), template, group, scaling)
    _instances_use(ctx, out)
    out.outputs.append(output("asg_name", Ref("aws_autoscaling_group", "app", "name"), "Auto Scaling group name"))
    label = f"{program.title}, {instance_type(ctx)} ({count}+)" if program else f"Auto Scaling group ({count}+)"
    out.node("aws_autoscaling_group.app", label, "asg", "private")
    return out


@blueprint(
    "ec2",
    title="EC2 instance",
    concern="compute.tf",
    why="A single instance in a private subnet reached through Session Manager (no open SSH), "
    "IMDSv2 only, encrypted gp3 root volume, detailed monitoring, EBS-optimised.",
    requires=("vpc", "kms"),
    component="EC2 instance",
    facts=_runs_on("ec2"),
)
def ec2(ctx: BuildContext) -> Fragment:
    out = Fragment()
    count = ctx.req.instance_count or 1
    attrs: dict[str, Any] = {}
    if count > 1:
        attrs["count"] = count
    instance = resource(
        "aws_instance",
        "app",
        block("metadata_options", http_endpoint="enabled", http_tokens="required"),
        block("root_block_device", **{k: v for k, v in _root_volume(_root_gb(ctx)).items() if k != "delete_on_termination"}),
        ami=_ami_id(ctx),
        instance_type=instance_type(ctx),
        subnet_id=Call("element", NETWORK.private_subnet_ids, Ref("count", "index")) if count > 1 else NETWORK.subnet_id("private", 0),
        vpc_security_group_ids=[APP_SG.id],
        iam_instance_profile=Ref("aws_iam_instance_profile", "instance", "name"),
        monitoring=True,
        ebs_optimized=True,
        tags=tags(ctx.name("ec2", "app")),
        **attrs,
    )
    if dedicated(ctx):
        instance.set("tenancy", "dedicated")
    program = ctx.program()
    if program and program.user_data is not None:
        instance.set("user_data_base64", Call("base64encode", program.user_data))
    out.add("compute.tf", _ami(ctx), *app_security_group(ctx), *_instance_profile(ctx, out), instance)
    _instances_use(ctx, out)
    if ctx.has("alb"):
        attach: dict[str, Any] = {"count": count, "target_id": Ref("aws_instance", "app", Ref("count", "index"), "id")} if count > 1 else {"target_id": Ref("aws_instance", "app", "id")}
        out.add(
            "compute.tf",
            resource("aws_lb_target_group_attachment", "app", target_group_arn=LB.target_group_arn, port=app_port(ctx), **attach),
        )
    out.outputs.append(output("instance_id", Ref("aws_instance", "app", "*", "id") if count > 1 else Ref("aws_instance", "app", "id"), "EC2 instance"))
    out.node("aws_instance.app", "EC2 instance", "ec2", "private")
    return out
