"""The deploy check: one module that AWS would refuse (or that would not work) per rule, and the
same module fixed. Each runs through Terraform's offline plan, as the review does."""

from __future__ import annotations

import textwrap

import pytest

from core.terraform.review import review_module

pytestmark = pytest.mark.usefixtures("plan_ready")


def header(region: str = "us-east-1") -> str:
    return textwrap.dedent(f'''
        terraform {{
          required_providers {{
            aws = {{ source = "hashicorp/aws", version = "~> 6.69" }}
          }}
        }}
        provider "aws" {{
          region = "{region}"
        }}
        data "aws_caller_identity" "current" {{}}
        data "aws_partition" "current" {{}}
        data "aws_region" "current" {{}}
        locals {{
          account = data.aws_caller_identity.current.account_id
          root    = "arn:${{data.aws_partition.current.partition}}:iam::${{local.account}}:root"
        }}
    ''')


def deploy_findings(body: str, region: str = "us-east-1") -> list[tuple[str, str]]:
    review = review_module({"main.tf": header(region) + textwrap.dedent(body)},
                           {"parse", "plan", "deploy"})
    errors = [f.message for f in review.findings if f.check_id == "terraform_plan"]
    assert not errors, errors
    assert review.plan, "the module did not plan"
    return [(f.check_id, f.address) for f in review.findings
            if f.check_id.startswith("DEPLOY_") and f.failing]


def key_policy(*statements: str) -> str:
    admin = ('{ Sid = "Admin", Effect = "Allow", Principal = { AWS = local.root }, '
             'Action = "kms:*", Resource = "*" }')
    return "jsonencode({ Version = \"2012-10-17\", Statement = [" + ", ".join(
        (admin, *statements)) + "] })"


LOGS_GRANT = textwrap.dedent('''{
      Sid       = "Logs"
      Effect    = "Allow"
      Principal = { Service = "logs.${data.aws_region.current.region}.amazonaws.com" }
      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      Resource  = "*"
      Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.region}:${local.account}:*" } }
    }''')


def test_a_log_group_needs_the_regional_logs_principal_on_its_key() -> None:
    body = '''
        resource "aws_kms_key" "main" {
          enable_key_rotation = true
          policy = POLICY
        }
        resource "aws_cloudwatch_log_group" "app" {
          name              = "/app"
          retention_in_days = 365
          kms_key_id        = aws_kms_key.main.arn
        }
    '''
    global_principal = ('{ Sid = "Logs", Effect = "Allow", Principal = { Service = '
                        '"logs.amazonaws.com" }, Action = ["kms:Encrypt*", "kms:Decrypt*", '
                        '"kms:GenerateDataKey*"], Resource = "*" }')
    broken = deploy_findings(body.replace("POLICY", key_policy(global_principal)))
    assert broken == [("DEPLOY_LOG_GROUP_KEY", "aws_cloudwatch_log_group.app")]
    assert deploy_findings(body.replace("POLICY", key_policy(LOGS_GRANT))) == []


def test_cloudfront_standard_logging_needs_acls_on_its_bucket() -> None:
    body = '''
        resource "aws_s3_bucket" "logs" {
          bucket = "logs-${local.account}"
        }
        resource "aws_s3_bucket_ownership_controls" "logs" {
          bucket = aws_s3_bucket.logs.id
          rule {
            object_ownership = "OWNERSHIP"
          }
        }
        resource "aws_cloudfront_distribution" "main" {
          enabled = true
          origin {
            domain_name = "origin.example.com"
            origin_id   = "origin"
            custom_origin_config {
              http_port              = 80
              https_port             = 443
              origin_protocol_policy = "https-only"
              origin_ssl_protocols   = ["TLSv1.2"]
            }
          }
          default_cache_behavior {
            target_origin_id       = "origin"
            viewer_protocol_policy = "redirect-to-https"
            allowed_methods        = ["GET", "HEAD"]
            cached_methods         = ["GET", "HEAD"]
            cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6"
          }
          logging_config {
            bucket = aws_s3_bucket.logs.bucket_domain_name
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
    assert deploy_findings(body.replace("OWNERSHIP", "BucketOwnerEnforced")) == [
        ("DEPLOY_CLOUDFRONT_LOG_ACL", "aws_cloudfront_distribution.main")]
    assert deploy_findings(body.replace("OWNERSHIP", "BucketOwnerPreferred")) == []


ASG_GRANT = textwrap.dedent('''{
      Sid       = "AutoScaling"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${local.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling" }
      Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
      Resource  = "*"
    }''')


def test_an_auto_scaling_group_needs_its_service_role_on_the_ebs_key() -> None:
    body = '''
        resource "aws_kms_key" "main" {
          enable_key_rotation = true
          policy = POLICY
        }
        resource "aws_launch_template" "app" {
          name_prefix   = "app-"
          image_id      = "ami-0123456789abcdef0"
          instance_type = "t4g.small"
          block_device_mappings {
            device_name = "/dev/xvda"
            ebs {
              volume_size = 20
              volume_type = "gp3"
              encrypted   = true
              kms_key_id  = aws_kms_key.main.arn
            }
          }
        }
        resource "aws_autoscaling_group" "app" {
          min_size            = 1
          max_size            = 2
          vpc_zone_identifier = ["subnet-0123456789abcdef0"]
          launch_template {
            id      = aws_launch_template.app.id
            version = "$Latest"
          }
        }
    '''
    assert deploy_findings(body.replace("POLICY", key_policy())) == [
        ("DEPLOY_ASG_EBS_KEY", "aws_launch_template.app")]
    assert deploy_findings(body.replace("POLICY", key_policy(ASG_GRANT))) == []


def test_alarms_and_budgets_reach_an_encrypted_topic_only_with_grants() -> None:
    body = '''
        resource "aws_kms_key" "main" {
          enable_key_rotation = true
          policy = POLICY
        }
        resource "aws_sns_topic" "alerts" {
          name              = "alerts"
          kms_master_key_id = aws_kms_key.main.id
        }
        resource "aws_sns_topic_policy" "alerts" {
          arn    = aws_sns_topic.alerts.arn
          policy = TOPIC
        }
        resource "aws_sns_topic_subscription" "ops" {
          topic_arn = aws_sns_topic.alerts.arn
          protocol  = "email"
          endpoint  = "ops@example.com"
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
        resource "aws_budgets_budget" "monthly" {
          name         = "monthly"
          budget_type  = "COST"
          limit_amount = "100"
          limit_unit   = "USD"
          time_unit    = "MONTHLY"
          notification {
            comparison_operator       = "GREATER_THAN"
            threshold                 = 80
            threshold_type            = "PERCENTAGE"
            notification_type         = "FORECASTED"
            subscriber_sns_topic_arns = [aws_sns_topic.alerts.arn]
          }
        }
    '''
    publishers = ('{ Sid = "Publishers", Effect = "Allow", Principal = { Service = '
                  '["cloudwatch.amazonaws.com", "budgets.amazonaws.com"] }, '
                  'Action = ["kms:Decrypt", "kms:GenerateDataKey*"], Resource = "*" }')
    topic_ok = ('jsonencode({ Version = "2012-10-17", Statement = [{ Sid = "Budgets", '
                'Effect = "Allow", Principal = { Service = "budgets.amazonaws.com" }, '
                'Action = "SNS:Publish", Resource = aws_sns_topic.alerts.arn }] })')
    topic_none = ('jsonencode({ Version = "2012-10-17", Statement = [{ Sid = "Owner", '
                  'Effect = "Allow", Principal = { AWS = local.root }, Action = "SNS:Publish", '
                  'Resource = aws_sns_topic.alerts.arn }] })')
    broken = deploy_findings(body.replace("POLICY", key_policy()).replace("TOPIC", topic_none))
    assert sorted(broken) == [("DEPLOY_TOPIC_PUBLISHERS", "aws_sns_topic.alerts")] * 3
    fixed = body.replace("POLICY", key_policy(publishers)).replace("TOPIC", topic_ok)
    assert deploy_findings(fixed) == []


LB = '''
    resource "aws_s3_bucket" "logs" {
      bucket = "logs-${local.account}"
    }
    resource "aws_s3_bucket_policy" "logs" {
      bucket = aws_s3_bucket.logs.id
      policy = jsonencode({
        Version = "2012-10-17"
        Statement = [{
          Sid       = "LoadBalancerLogs"
          Effect    = "Allow"
          Principal = PRINCIPAL
          Action    = "s3:PutObject"
          Resource  = "${aws_s3_bucket.logs.arn}/alb/*"
        }]
      })
    }
    resource "aws_lb" "main" {
      name               = "main"
      load_balancer_type = "application"
      subnets            = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
      access_logs {
        bucket  = aws_s3_bucket.logs.id
        prefix  = "alb"
        enabled = true
      }
    }
'''


@pytest.mark.parametrize("region, good, bad", [
    ("ap-northeast-2", '{ AWS = "arn:aws:iam::600734575887:root" }',
     '{ Service = "logdelivery.elasticloadbalancing.amazonaws.com" }'),
    ("ap-southeast-5", '{ Service = "logdelivery.elasticloadbalancing.amazonaws.com" }',
     '{ AWS = "arn:aws:iam::600734575887:root" }'),
])
def test_load_balancer_logs_are_delivered_by_the_regions_elb_account_or_service(
    region: str, good: str, bad: str,
) -> None:
    assert deploy_findings(LB.replace("PRINCIPAL", bad), region) == [
        ("DEPLOY_LB_ACCESS_LOGS", "aws_lb.main")]
    assert deploy_findings(LB.replace("PRINCIPAL", good), region) == []


def test_server_access_logs_need_the_logging_service_on_the_target() -> None:
    body = '''
        resource "aws_s3_bucket" "data" {
          bucket = "data-${local.account}"
        }
        resource "aws_s3_bucket" "logs" {
          bucket = "logs-${local.account}"
        }
        resource "aws_s3_bucket_policy" "logs" {
          bucket = aws_s3_bucket.logs.id
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Sid       = "ServerAccessLogs"
              Effect    = "Allow"
              Principal = { Service = "SERVICE" }
              Action    = "s3:PutObject"
              Resource  = "${aws_s3_bucket.logs.arn}/*"
            }]
          })
        }
        resource "aws_s3_bucket_logging" "data" {
          bucket        = aws_s3_bucket.data.id
          target_bucket = aws_s3_bucket.logs.id
          target_prefix = "s3/"
        }
    '''
    assert deploy_findings(body.replace("SERVICE", "cloudtrail.amazonaws.com")) == [
        ("DEPLOY_S3_ACCESS_LOGS", "aws_s3_bucket_logging.data")]
    assert deploy_findings(body.replace("SERVICE", "logging.s3.amazonaws.com")) == []


def test_an_autoscaled_service_keeps_its_desired_count_and_the_fixer_adds_it() -> None:
    from core.terraform.review import fix_until_clean

    body = header() + textwrap.dedent('''
        resource "aws_ecs_cluster" "main" {
          name = "main"
        }
        resource "aws_ecs_service" "app" {
          name            = "app"
          cluster         = aws_ecs_cluster.main.id
          task_definition = "app:1"
          desired_count   = 2
        }
        resource "aws_appautoscaling_target" "app" {
          service_namespace  = "ecs"
          resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.app.name}"
          scalable_dimension = "ecs:service:DesiredCount"
          min_capacity       = 2
          max_capacity       = 6
        }
    ''')
    review = review_module({"main.tf": body}, {"parse", "plan", "deploy"})
    assert [(f.check_id, f.address) for f in review.failing] == [
        ("DEPLOY_ECS_DESIRED_COUNT", "aws_ecs_service.app")]
    files, review, fixed = fix_until_clean({"main.tf": body}, checks={"parse", "plan", "deploy"})
    assert review.passed, [f.message for f in review.failing]
    assert "ignore_changes = [desired_count]" in files["main.tf"]


def test_iam_database_auth_needs_an_rds_db_connect_grant() -> None:
    body = '''
        resource "aws_db_instance" "main" {
          identifier                          = "main"
          engine                              = "postgres"
          instance_class                      = "db.t4g.micro"
          allocated_storage                   = 20
          username                            = "app"
          manage_master_user_password         = true
          iam_database_authentication_enabled = true
        }
        resource "aws_iam_role" "app" {
          name               = "app"
          assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { Service = "ecs-tasks.amazonaws.com" }, Action = "sts:AssumeRole" }] })
        }
        GRANT
    '''
    grant = '''
        resource "aws_iam_role_policy" "db" {
          role   = aws_iam_role.app.id
          policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "rds-db:connect", Resource = "arn:aws:rds-db:us-east-1:${local.account}:dbuser:${aws_db_instance.main.resource_id}/app" }] })
        }
    '''
    assert deploy_findings(body.replace("GRANT", "")) == [
        ("DEPLOY_IAM_DB_AUTH", "aws_db_instance.main")]
    assert deploy_findings(body.replace("GRANT", grant)) == []


def test_account_singletons_are_optional_and_bucket_names_unique() -> None:
    body = '''
        variable "create_detector" {
          type    = bool
          default = true
        }
        resource "aws_guardduty_detector" "main" {
          COUNT
          enable = true
        }
        resource "aws_s3_bucket" "assets" {
          NAME
        }
    '''
    broken = body.replace("COUNT", "").replace("NAME", 'bucket = "app-production-assets"')
    assert sorted(deploy_findings(broken)) == [
        ("DEPLOY_ACCOUNT_SINGLETON", "aws_guardduty_detector.main"),
        ("DEPLOY_GLOBAL_BUCKET_NAME", "aws_s3_bucket.assets")]
    fixed = body.replace("COUNT", "count = var.create_detector ? 1 : 0").replace(
        "NAME", 'bucket = "app-production-assets-${local.account}"')
    assert deploy_findings(fixed) == []
    prefixed = fixed.replace('bucket = "app-production-assets-${local.account}"',
                             'bucket_prefix = "app-production-assets-"')
    assert deploy_findings(prefixed) == []


def test_the_deploy_check_needs_the_plan_and_says_so() -> None:
    review = review_module({"main.tf": header() + 'output "x" { value = aws_vpc.nope.id }\n'},
                           {"parse", "deploy"})
    assert [f.check_id for f in review.findings] == ["deploy_not_evaluated"]
    assert review.findings[0].severity == "info"
