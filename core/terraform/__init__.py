"""Terraform for archops: the typed module model, the HCL writer, and their validation."""

from core.terraform.findings import CostEstimate, Finding, Review
from core.terraform.hcl import render_block, render_file, render_value
from core.terraform.model import (
    Block,
    Call,
    Cond,
    ForList,
    ForMap,
    Module,
    Op,
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
from core.terraform.schema import PROVIDER_VERSION

__all__ = [
    "PROVIDER_VERSION",
    "CostEstimate",
    "Finding",
    "Review",
    "Block",
    "Call",
    "Cond",
    "ForList",
    "ForMap",
    "Module",
    "Op",
    "Ref",
    "Template",
    "block",
    "data",
    "jsonencode",
    "local",
    "output",
    "render_block",
    "render_file",
    "render_value",
    "resource",
    "var",
    "variable",
]
