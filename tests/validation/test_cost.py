"""Monthly cost per resource and in total from the repository's price table."""

from __future__ import annotations

import pytest

from core.terraform.cost import prices
from core.terraform.review import review_module

MODULE = """
provider "aws" {
  region = var.region
}
variable "region" {
  type    = string
  default = "%s"
}
resource "aws_nat_gateway" "az" {
  count         = 2
  allocation_id = "eipalloc-1"
  subnet_id     = "subnet-1"
}
resource "aws_lb" "web" {
  name = "web"
}
resource "aws_db_instance" "main" {
  instance_class    = "db.t4g.micro"
  allocated_storage = 20
  multi_az          = true
}
resource "aws_ecs_task_definition" "app" {
  family = "app"
  cpu    = "512"
  memory = "1024"
  container_definitions = "[]"
}
resource "aws_ecs_service" "app" {
  name            = "app"
  launch_type     = "FARGATE"
  desired_count   = 2
  task_definition = aws_ecs_task_definition.app.arn
}
resource "aws_lambda_function" "api" {
  function_name = "api"
  role          = "arn:aws:iam::123456789012:role/x"
}
"""


def test_estimate_per_resource_and_total_with_source_and_assumptions() -> None:
    review = review_module({"main.tf": MODULE % "us-east-1"}, {"parse", "cost"})
    cost = review.cost
    assert cost is not None and cost.region == "us-east-1"
    by = {i.address: i.monthly_usd for i in cost.items}
    assert by["aws_nat_gateway.az"] == pytest.approx(2 * 0.045 * 730, abs=0.01)
    assert by["aws_lb.web"] == pytest.approx(0.0225 * 730, abs=0.01)
    assert by["aws_db_instance.main"] == pytest.approx(2 * (0.016 * 730 + 20 * 0.115), abs=0.01)
    assert by["aws_ecs_service.app"] == pytest.approx(2 * (0.5 * 0.04048 + 1 * 0.004445) * 730, abs=0.01)
    assert "aws_lambda_function.api" not in by
    assert cost.monthly_total == pytest.approx(sum(by.values()), abs=0.01)
    assert any(a.startswith("aws_lambda_function: usage-based") for a in cost.assumptions)
    assert any("data transfer" in a for a in cost.assumptions)
    assert cost.price_source == prices()["source"] and cost.price_date == prices()["date"]


def test_region_changes_the_estimate_and_says_how() -> None:
    home = review_module({"main.tf": MODULE % "us-east-1"}, {"parse", "cost"}).cost
    frankfurt = review_module({"main.tf": MODULE % "eu-central-1"}, {"parse", "cost"}).cost
    assert home and frankfurt and frankfurt.region == "eu-central-1"
    factor = prices()["region_factor"]["eu-central-1"]
    assert frankfurt.monthly_total == pytest.approx(home.monthly_total * factor, rel=0.01)
    assert any("eu-central-1 priced at" in a for a in frankfurt.assumptions)
