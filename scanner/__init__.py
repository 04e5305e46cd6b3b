"""The account scanner: an AWS account's inventory, as Terraform with import blocks and a diagram.

The one door of this package::

    scan(regions, **options) -> Inventory        read the account (scanner.inventory.Scanner)
    Scanner(regions, ...).scan()                 the same, with its knobs (session, checkpoint...)
    to_module(inventory) -> Module               the adoptable Terraform module (scanner.terraform)
    to_diagram(inventory) -> dict                the graph the web app draws (scanner.diagram)
    POLICY_PATH                                  the minimal read-only IAM policy (policy.json)
"""

from __future__ import annotations

from pathlib import Path

from scanner.inventory import Scanner, scan
from scanner.models import Inventory, Missing, Resource

POLICY_PATH = Path(__file__).with_name("policy.json")

__all__ = ["POLICY_PATH", "Inventory", "Missing", "Resource", "Scanner", "scan"]
