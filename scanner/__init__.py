"""The account scanner: an AWS account's inventory, as Terraform with import blocks and a diagram.

The one door of this package::

    scan(regions, **options) -> Inventory        read the account (scanner.inventory.Scanner)
    Scanner(regions, ...).scan()                 the same, with its knobs (session, checkpoint...)
    to_terraform(inventory) -> Built             the adoptable module, its imports and README
    to_module(inventory) -> Module               the module alone (scanner.terraform)
    to_diagram(inventory) -> dict                the graph the web app draws (scanner.diagram)
    scan_to_dir(regions, out) -> ScanResult      all of it written to a folder, reviewed
    summary(result) -> str                       what `archops scan` prints
    POLICY_PATH                                  the minimal read-only IAM policy (policy.json)

What the edges call (a project's scans and tag plans, recorded in the system of record, with
who may act): :mod:`scanner.service`.
"""

from __future__ import annotations

from pathlib import Path

from scanner.adopt import ScanResult, scan_to_dir, summary
from scanner.diagram import to_diagram
from scanner.inventory import Scanner, scan
from scanner.models import Inventory, Missing, Resource
from scanner.terraform import Built, to_module, to_terraform

POLICY_PATH = Path(__file__).with_name("policy.json")

__all__ = [
    "POLICY_PATH", "Built", "Inventory", "Missing", "Resource", "ScanResult", "Scanner", "scan",
    "scan_to_dir", "summary", "to_diagram", "to_module", "to_terraform",
]
