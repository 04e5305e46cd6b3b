"""Terraform for archops: the typed module model, the HCL writer, and their validation."""

from core.terraform.hcl import render_block, render_file, render_value
from core.terraform.model import (
    Block,
    Call,
    Cond,
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

__all__ = [
    "Block",
    "Call",
    "Cond",
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
