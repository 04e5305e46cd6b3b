"""The structure scanner finds every block and attribute, through strings, heredocs, comments."""

from __future__ import annotations

from core.terraform.parse import mask_literals, terraform_diagnostics
from core.terraform.structure import scan

TEXT = '''# a comment with { braces
resource "aws_iam_policy" "p" {
  name   = "x" # trailing } comment
  policy = <<-EOT
    {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "}"}]}
  EOT
  /* block { comment */ description = "a \\" ${var.x["}"]} b"
  tags = merge(local.tags, {
    Name = "p"
  })
  dynamic "statement" {
    for_each = { for k, v in var.m : k => v }
    content {
      sid = statement.key
    }
  }
}
locals { one = 1 }
'''


def test_blocks_attributes_and_lines() -> None:
    assert terraform_diagnostics({"main.tf": TEXT}) == []  # valid HCL, as Terraform sees it
    blocks = scan(TEXT)
    assert [(b.type, b.labels, b.line, b.end_line) for b in blocks] == [
        ("resource", ["aws_iam_policy", "p"], 2, 17),
        ("locals", [], 18, 18),
    ]
    policy = blocks[0]
    assert {n: a.line for n, a in policy.attrs.items()} == {
        "name": 3, "policy": 4, "description": 7, "tags": 8,
    }
    assert policy.attrs["name"].text == '"x"'
    assert policy.attrs["policy"].text.endswith("EOT")
    assert policy.attrs["tags"].text.startswith("merge(") and policy.attrs["tags"].text.endswith("})")
    [dynamic] = policy.blocks
    assert (dynamic.type, dynamic.labels, dynamic.line) == ("dynamic", ["statement"], 11)
    assert dynamic.children("content")[0].attrs["sid"].text == "statement.key"
    assert blocks[1].attrs["one"].text == "1"


def test_value_spans_point_into_the_text() -> None:
    attr = scan(TEXT)[0].attrs["description"]
    assert TEXT[attr.value_start:attr.value_end] == attr.text
    assert TEXT[attr.start:attr.start + len("description")] == "description"


def test_mask_literals_keeps_interpolations_only() -> None:
    masked = mask_literals('"aws_vpc.main.id is ${aws_vpc.main.id}" == var.x')
    assert "aws_vpc.main.id}" in masked and masked.count("aws_vpc.main.id") == 1
    assert masked.endswith("== var.x")
