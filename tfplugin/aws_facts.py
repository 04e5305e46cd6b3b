"""AWS facts the plugin answers with and the review checks against, in one place.

Availability zones per region (letters; zone ids follow the region's short form) and the regional
Elastic Load Balancing accounts that deliver access logs in regions opened before August 2022
(newer regions deliver as the ``logdelivery.elasticloadbalancing.amazonaws.com`` service).
"""

# Availability zones per region (names; zone ids follow the region's short form)
AZ_LETTERS: dict[str, str] = {
    "us-east-1": "abcdef", "us-east-2": "abc", "us-west-1": "ac", "us-west-2": "abcd",
    "ap-northeast-1": "acd", "ap-northeast-2": "abcd", "ap-northeast-3": "abc",
    "ap-southeast-1": "abc", "ap-southeast-2": "abc", "ap-south-1": "abc",
    "eu-west-1": "abc", "eu-west-2": "abc", "eu-west-3": "abc", "eu-central-1": "abc",
    "eu-north-1": "abc", "ca-central-1": "abd", "sa-east-1": "abc",
}
ZONE_PREFIX: dict[str, str] = {"us-east-1": "use1", "us-east-2": "use2", "us-west-1": "usw1", "us-west-2": "usw2",
                "ap-northeast-1": "apne1", "ap-northeast-2": "apne2", "ap-northeast-3": "apne3",
                "ap-southeast-1": "apse1", "ap-southeast-2": "apse2", "ap-south-1": "aps1",
                "eu-west-1": "euw1", "eu-west-2": "euw2", "eu-west-3": "euw3",
                "eu-central-1": "euc1", "eu-north-1": "eun1", "ca-central-1": "cac1",
                "sa-east-1": "sae1"}
ELB_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-west-1": "156460612806",
    "eu-west-2": "652711504416", "eu-west-3": "009996457667", "eu-south-1": "635631232127",
    "eu-north-1": "897822967062", "me-south-1": "076674570225", "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584", "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993", "cn-northwest-1": "037604701340",
}

# Fargate task sizes (Linux): CPU units -> the memory sizes (MiB) it may have
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size)
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# Lambda runtimes past their end of support whose functions Lambda no longer creates
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html#runtimes-deprecated)
RETIRED_LAMBDA_RUNTIMES: frozenset[str] = frozenset({
    "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
    "nodejs16.x", "python2.7", "python3.6", "python3.7", "python3.8", "ruby2.5", "ruby2.7", "java8", "go1.x",
    "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet5.0", "dotnet6", "provided",
})

# the longest name AWS accepts, per resource type and argument
# (each service's API reference: CreateLoadBalancer, CreateTargetGroup, CreateReplicationGroup,
# CreateDBInstance, CreateDBCluster, CreateRole, CreateBucket, CreateFunction, CreateQueue)
NAME_LIMITS: dict[tuple[str, str], int] = {
    ("aws_lb", "name"): 32, ("aws_alb", "name"): 32, ("aws_lb_target_group", "name"): 32,
    ("aws_lb", "name_prefix"): 6, ("aws_lb_target_group", "name_prefix"): 6,
    ("aws_elasticache_replication_group", "replication_group_id"): 40,
    ("aws_db_instance", "identifier"): 63, ("aws_rds_cluster", "cluster_identifier"): 63,
    ("aws_iam_role", "name"): 64, ("aws_s3_bucket", "bucket"): 63, ("aws_lambda_function", "function_name"): 64,
    ("aws_sqs_queue", "name"): 80, ("aws_ecs_service", "name"): 255,
}
