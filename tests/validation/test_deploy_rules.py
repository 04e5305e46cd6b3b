"""The deploy check's rules for what AWS refuses (or silently drops) at apply time, beyond
policies of keys and buckets: each test plans one module, offline, holding the breaking
resource beside its fixed twin, so one plan shows the rule fires on the one and not the other;
where the repair is mechanical the fixer's repair is planned again and passes."""

from __future__ import annotations

import textwrap

import pytest

from core.terraform.review import fix_until_clean, review_module
from tests.validation.test_deploy import header

pytestmark = pytest.mark.usefixtures("plan_ready")
CHECKS = {"parse", "plan", "deploy"}


def deploy_hits(body: str, region: str = "us-east-1") -> list[tuple[str, str]]:
    review = review_module({"main.tf": header(region) + textwrap.dedent(body)}, CHECKS)
    assert not [f.message for f in review.findings if f.check_id == "terraform_plan"]
    assert review.plan, "the module did not plan"
    return sorted((f.check_id, f.address) for f in review.findings if f.check_id.startswith("DEPLOY_") and f.failing)


def repaired(body: str) -> tuple[dict[str, str], list[str]]:
    """The fixer's loop on a module that breaks a rule: what it repaired (the rule fired, or
    nothing would be), and the repaired files, which plan and pass."""
    files, review, fixed = fix_until_clean({"main.tf": header() + textwrap.dedent(body)}, checks=CHECKS)
    assert review.passed, [(f.check_id, f.address, f.message) for f in review.failing]
    return files, fixed


ROLE = '''
    resource "aws_iam_role" "NAME" {
      name = "NAME"
      assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow",
        Principal = { Service = "SERVICE" }, Action = "sts:AssumeRole" }] })
    }
'''


def role(name: str, service: str) -> str:
    return ROLE.replace("NAME", name).replace("SERVICE", service)


def test_mysql_exports_only_the_logs_its_parameter_group_switches_on_and_the_fixer_drops_the_rest() -> None:
    body = '''
        resource "aws_db_parameter_group" "main" {
          name   = "mysql"
          family = "mysql8.4"
          parameter {
            name  = "slow_query_log"
            value = "1"
          }
        }
        resource "aws_db_instance" "broken" {
          identifier                      = "broken"
          engine                          = "mysql"
          instance_class                  = "db.t4g.micro"
          allocated_storage               = 20
          username                        = "admin_user"
          manage_master_user_password     = true
          parameter_group_name            = aws_db_parameter_group.main.name
          enabled_cloudwatch_logs_exports = ["error", "slowquery", "general"]
        }
        resource "aws_db_instance" "fixed" {
          identifier                      = "fixed"
          engine                          = "mysql"
          instance_class                  = "db.t4g.micro"
          allocated_storage               = 20
          username                        = "admin_user"
          manage_master_user_password     = true
          parameter_group_name            = aws_db_parameter_group.main.name
          enabled_cloudwatch_logs_exports = ["error", "slowquery"]
        }
    '''
    files, fixed = repaired(body)
    # the one exporting a log its parameters leave off was repaired; its twin was already right
    assert [f for f in fixed if "exports only" in f] == [
        "aws_db_instance.broken: exports only error, slowquery (what its parameters switch on)"]
    assert '"general"' not in files["main.tf"]


CONFIG = role("config", "config.amazonaws.com") + '''
    resource "aws_s3_bucket" "logs" {
      bucket = "logs-${local.account}"
    }
    resource "aws_iam_role_policy_attachment" "config" {
      role       = aws_iam_role.config.name
      policy_arn = "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"
    }
    resource "aws_config_configuration_recorder" "main" {
      count    = 1
      name     = "main"
      role_arn = aws_iam_role.config.arn
    }
    resource "aws_config_delivery_channel" "main" {
      name           = "main"
      s3_bucket_name = aws_s3_bucket.logs.id
      depends_on     = [aws_config_configuration_recorder.main]
    }
'''
CONFIG_WRITE = '''
    resource "aws_iam_role_policy" "config_delivery" {
      role = aws_iam_role.config.id
      policy = jsonencode({ Version = "2012-10-17", Statement = [
        { Effect = "Allow", Action = ["s3:PutObject"], Resource = "${aws_s3_bucket.logs.arn}/AWSLogs/*",
          Condition = { StringLike = { "s3:x-amz-acl" = "bucket-owner-full-control" } } },
        { Effect = "Allow", Action = ["s3:GetBucketAcl"], Resource = aws_s3_bucket.logs.arn },
      ] })
    }
'''


def test_aws_config_delivers_only_when_its_role_may_write_to_the_bucket() -> None:
    assert deploy_hits(CONFIG) == [("DEPLOY_CONFIG_DELIVERY", "aws_config_delivery_channel.main")]
    assert deploy_hits(CONFIG + CONFIG_WRITE) == []


LAMBDA = role("fn", "lambda.amazonaws.com") + '''
    resource "aws_sqs_queue" "jobs" {
      name                       = "jobs"
      visibility_timeout_seconds = VISIBILITY
    }
    resource "aws_sqs_queue" "dlq" {
      name = "dlq"
    }
    resource "aws_iam_role_policy" "fn" {
      role = aws_iam_role.fn.id
      policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow",
        Action = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        Resource = [aws_sqs_queue.jobs.arn, aws_sqs_queue.dlq.arn] }] })
    }
    resource "aws_lambda_function" "main" {
      function_name = "worker"
      role          = aws_iam_role.fn.arn
      runtime       = "RUNTIME"
      handler       = "index.handler"
      filename      = "function.zip"
      timeout       = 60
      dead_letter_config {
        target_arn = aws_sqs_queue.dlq.arn
      }
      DEPENDS
    }
    resource "aws_lambda_event_source_mapping" "jobs" {
      event_source_arn = aws_sqs_queue.jobs.arn
      function_name    = aws_lambda_function.main.arn
    }
'''


def lambda_module(visibility: int = 360, runtime: str = "python3.13", depends: bool = True) -> str:
    return (LAMBDA.replace("VISIBILITY", str(visibility)).replace("RUNTIME", runtime)
            .replace("DEPENDS", "depends_on = [aws_iam_role_policy.fn]" if depends else ""))


def test_a_function_waits_for_its_roles_policy_and_its_queue_outlasts_it_and_the_fixer_makes_both() -> None:
    files, fixed = repaired(lambda_module(visibility=30, depends=False))
    assert sorted(fixed) == [
        "aws_lambda_function.main: depends_on its role's policies (aws_iam_role_policy.fn)",
        "aws_sqs_queue.jobs: visibility_timeout_seconds = 360 (six times the function's timeout)",
    ]
    text = " ".join(files["main.tf"].split())
    assert "visibility_timeout_seconds = 360" in text and "depends_on = [aws_iam_role_policy.fn]" in text


def test_a_retired_lambda_runtime_is_refused() -> None:
    # the rest of the module is right (the queue outlasts the function, which waits for its role)
    assert deploy_hits(lambda_module(runtime="nodejs16.x")) == [("DEPLOY_LAMBDA_RUNTIME", "aws_lambda_function.main")]


ALERTS = '''
    variable "alert_email" {
      type    = string
      default = EMAIL
    }
    resource "aws_sns_topic" "alerts" {
      name = "alerts"
    }
    resource "aws_sns_topic_subscription" "email" {
      count     = length(compact([var.alert_email]))
      topic_arn = aws_sns_topic.alerts.arn
      protocol  = "email"
      endpoint  = var.alert_email
    }
    resource "aws_cloudwatch_metric_alarm" "cpu" {
      alarm_name          = "cpu"
      comparison_operator = "GreaterThanThreshold"
      evaluation_periods  = 2
      metric_name         = "CPUUtilization"
      namespace           = "AWS/EC2"
      period              = 300
      statistic           = "Average"
      threshold           = 80
      alarm_actions       = [aws_sns_topic.alerts.arn]
    }
'''


def test_alarms_to_a_topic_nobody_subscribes_to_are_found() -> None:
    assert deploy_hits(ALERTS.replace("EMAIL", '""')) == [("DEPLOY_ALERTS_UNHEARD", "aws_sns_topic.alerts")]
    assert deploy_hits(ALERTS.replace("EMAIL", '"ops@example.com"')) == []


ECS = role("task_execution", "ecs-tasks.amazonaws.com") + '''
    resource "aws_secretsmanager_secret" "app" {
      name = "app"
    }
    resource "aws_iam_role_policy_attachment" "task_execution" {
      role       = aws_iam_role.task_execution.name
      policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    }
    resource "aws_ecs_task_definition" "app" {
      family                   = "app"
      requires_compatibilities = ["FARGATE"]
      network_mode             = "awsvpc"
      cpu                      = 256
      memory                   = MEMORY
      execution_role_arn       = aws_iam_role.task_execution.arn
      container_definitions = jsonencode([{
        name    = "app"
        image   = "nginx"
        secrets = [{ name = "APP_SECRETS", valueFrom = aws_secretsmanager_secret.app.arn }]
      }])
    }
'''
ECS_READ = '''
    resource "aws_iam_role_policy" "read" {
      role = aws_iam_role.task_execution.id
      policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow",
        Action = ["secretsmanager:GetSecretValue"], Resource = aws_secretsmanager_secret.app.arn }] })
    }
'''


def test_containers_that_read_secrets_need_an_execution_role_that_may_and_a_task_size_fargate_offers() -> None:
    assert deploy_hits(ECS.replace("MEMORY", "512")) == [("DEPLOY_ECS_SECRETS_ACCESS", "aws_ecs_task_definition.app")]
    assert deploy_hits(ECS.replace("MEMORY", "4096") + ECS_READ) == [("DEPLOY_FARGATE_TASK_SIZE", "aws_ecs_task_definition.app")]
    assert deploy_hits(ECS.replace("MEMORY", "512") + ECS_READ) == []


def test_names_longer_than_aws_accepts_and_provisioned_iops_without_iops_are_refused() -> None:
    body = '''
        resource "aws_lb" "long" {
          name    = "a-very-long-project-name-production-alb"
          subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
        }
        resource "aws_lb" "short" {
          name    = "shop-production-alb"
          subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
        }
        resource "aws_db_instance" "io1" {
          identifier                  = "io1"
          engine                      = "postgres"
          instance_class              = "db.m7g.large"
          allocated_storage           = 50
          storage_type                = "io1"
          username                    = "admin_user"
          manage_master_user_password = true
        }
        resource "aws_db_instance" "io1_fixed" {
          identifier                  = "io1-fixed"
          engine                      = "postgres"
          instance_class              = "db.m7g.large"
          allocated_storage           = 100
          storage_type                = "io1"
          iops                        = 3000
          username                    = "admin_user"
          manage_master_user_password = true
        }
    '''
    assert deploy_hits(body) == [
        ("DEPLOY_NAME_LENGTH", "aws_lb.long"),
        ("DEPLOY_RDS_PROVISIONED_IOPS", "aws_db_instance.io1"),
        ("DEPLOY_RDS_PROVISIONED_IOPS", "aws_db_instance.io1"),
    ]


SITE = '''
    resource "aws_s3_bucket" "site" {
      bucket = "site-${local.account}"
    }
    resource "aws_cloudfront_origin_access_control" "site" {
      name                              = "site"
      origin_access_control_origin_type = "s3"
      signing_behavior                  = "always"
      signing_protocol                  = "sigv4"
    }
    resource "aws_s3_bucket_policy" "site" {
      bucket = aws_s3_bucket.site.id
      policy = jsonencode({ Version = "2012-10-17", Statement = [{ Sid = "Read", Effect = "Allow",
        Principal = PRINCIPAL, Action = "s3:GetObject", Resource = "${aws_s3_bucket.site.arn}/*" }] })
    }
    resource "aws_cloudfront_distribution" "main" {
      enabled             = true
      default_root_object = "index.html"
      origin {
        domain_name              = aws_s3_bucket.site.bucket_regional_domain_name
        origin_id                = "site"
        origin_access_control_id = aws_cloudfront_origin_access_control.site.id
      }
      default_cache_behavior {
        target_origin_id       = "site"
        viewer_protocol_policy = "redirect-to-https"
        allowed_methods        = ["GET", "HEAD"]
        cached_methods         = ["GET", "HEAD"]
        cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6"
      }
      restrictions {
        geo_restriction {
          restriction_type = "none"
        }
      }
      viewer_certificate {
        cloudfront_default_certificate = true
      }
    }
'''


def test_cloudfront_reads_a_private_bucket_only_when_its_policy_lets_cloudfront() -> None:
    assert deploy_hits(SITE.replace("PRINCIPAL", "{ AWS = local.root }")) == [
        ("DEPLOY_CLOUDFRONT_OAC", "aws_cloudfront_distribution.main")]
    assert deploy_hits(SITE.replace("PRINCIPAL", '{ Service = "cloudfront.amazonaws.com" }')) == []
