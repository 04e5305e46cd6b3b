"""archops' own Well-Architected checks, each a small function over the parsed module.

Every rule says its pillar, severity and fix, names the checkov checks that cover the same
ground (a written skip of either waives both), and, where a safe change exists, carries a
deterministic repair that the fixer applies. Rules read literal values only: a value that is an
expression (a variable, a reference) is trusted, since it cannot be known before plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from core.terraform.edit import Edit, add_block, set_or_add, set_value
from core.terraform.findings import Finding
from core.terraform.parse import Item, ParsedModule
from core.terraform.policy_base import (
    Hit,
    Rule,
    is_true,
    literal,
    set_arg,
    text_of,
    typed,
    want_true,
)
from core.terraform.policy_exec import (
    connections,
    external_programs,
    module_sources,
    outbound_data,
    paths_outside,
    paths_unknown,
    provider_endpoints,
    provider_sources,
    provisioners,
    triggers,
)
from core.terraform.policy_security import (
    backups_off,
    block_public,
    iam_admin,
    literal_secrets,
    move_secret,
    open_security_groups,
    public_buckets,
    publicly_accessible,
    restrict_ingress,
)
from core.terraform.schema_check import is_expression


# --- operations, cost, reliability --------------------------------------------------------
def _log_retention(item: Item) -> Hit | None:
    if "retention_in_days" in item.block.attrs:
        return None
    return Hit(item, "retention_in_days", item.line, "logs are kept forever (no retention set)", item.block)


def _gp2(item: Item) -> Hit | None:
    for arg in ("type", "storage_type", "volume_type"):
        if literal(item.values, arg) == "gp2":
            return Hit(item, arg, item.arg_line(arg), "gp2 storage costs ~20% more than gp3 for the same baseline", item.block)
    return None


_X86_WITH_GRAVITON = re.compile(r"^(db\.|cache\.)?(t3|t3a|m5|m5a|m6i|m6a|m7i|c5|c6i|c7i|r5|r6i|r7i)\.")
_PREVIOUS_GENERATION = re.compile(r"^(db\.|cache\.)?(t1|t2|m1|m2|m3|m4|c1|c3|c4|r3|r4|i2|d2)\.")
_SIZED = ("instance_type", "instance_class", "node_type")


def _instance_kind(pattern: re.Pattern[str], message: str) -> Callable[[Item], Hit | None]:
    def check(item: Item) -> Hit | None:
        for arg in _SIZED:
            value = literal(item.values, arg)
            if isinstance(value, str) and pattern.match(value):
                return Hit(item, arg, item.arg_line(arg), message.format(value=value), item.block)
        return None
    return check


_COMPUTE = ("aws_instance", "aws_launch_template", "aws_db_instance", "aws_rds_cluster_instance",
            "aws_elasticache_cluster", "aws_elasticache_replication_group")


def _gp3(hit: Hit, module: ParsedModule) -> list[Edit]:
    return [set_value(hit.item, hit.item.block.attrs[hit.argument], '"gp3"')]


def _pitr(item: Item) -> Hit | None:
    blocks = item.values.get("point_in_time_recovery")
    if isinstance(blocks, list) and blocks and (is_true(blocks[0].get("enabled")) or is_expression(blocks[0].get("enabled"))):
        return None
    return Hit(item, "point_in_time_recovery", item.line, "point-in-time recovery is off", item.block)


def _enable_pitr(hit: Hit, module: ParsedModule) -> list[Edit]:
    text = text_of(module, hit.item)
    existing = hit.item.block.children("point_in_time_recovery")
    if existing:
        return [set_or_add(hit.item, existing[0], "enabled", "true", text)]
    return [add_block(hit.item, hit.item.block, "point_in_time_recovery", {"enabled": "true"}, text)]


_PIN = re.compile(r"required_providers\s*\{[^}]*\baws\s*=\s*\{[^}]*\bversion\s*=", re.S)


def _provider_pin(module: ParsedModule) -> list[Hit]:
    aws = [i for i in module.items if i.kind in ("resource", "data") and i.type.startswith("aws_")]
    if not aws or any(_PIN.search(text) for text in module.files.values()):
        return []
    return [Hit(aws[0], "", 0, "the AWS provider version is not pinned in required_providers")]


def _pin_provider(hit: Hit, module: ParsedModule) -> list[Edit]:
    from core.terraform.schema import PROVIDER_VERSION

    if "versions.tf" in module.files or any(
        re.search(r"^terraform\s*\{", t, re.M) for t in module.files.values()
    ):
        return []  # a terraform block exists: its owner must add the pin
    body = (
        "terraform {\n  required_version = \">= 1.6\"\n  required_providers {\n    aws = {\n"
        f'      source  = "hashicorp/aws"\n      version = "{PROVIDER_VERSION}"\n    }}\n  }}\n}}\n'
    )
    return [Edit("versions.tf", 0, 0, body)]


_DB = ("aws_db_instance", "aws_rds_cluster")
# execution and exfiltration (core.terraform.policy_exec): never waived by a skip in the module
EXEC_RULES: tuple[Rule, ...] = (
    Rule("ARCHOPS_EXEC_PROVISIONER", "security", "critical",
         "remove the provisioner: archops modules never run commands on the machine that applies "
         "them; configure instances with user_data, SSM or an image, and copy files through S3",
         provisioners, waivable=False),
    Rule("ARCHOPS_EXEC_CONNECTION", "security", "high",
         "remove the connection block: reach instances through SSM Session Manager, not from Terraform",
         connections, waivable=False),
    Rule("ARCHOPS_EXEC_TRIGGERS", "security", "high",
         "remove the null_resource / terraform_data and its provisioners; run deploy steps in CI, "
         "outside Terraform", triggers, waivable=False),
    Rule("ARCHOPS_EXEC_EXTERNAL", "security", "critical",
         'remove data "external" and the external provider: read values from AWS data sources, '
         "variables or SSM parameters instead of running a program at plan time",
         external_programs, waivable=False),
    Rule("ARCHOPS_EXFIL_HTTP", "security", "high",
         "remove the data source, or let an operator allow its host (ARCHOPS_REVIEW_HTTP_HOSTS); "
         "read configuration from AWS (SSM, Secrets Manager) or variables",
         outbound_data, waivable=False),
    Rule("ARCHOPS_EXFIL_PROVIDER_ENDPOINT", "security", "high",
         "remove the custom endpoint or proxy, or let an operator allow its host "
         "(ARCHOPS_REVIEW_HTTP_HOSTS)", provider_endpoints, waivable=False),
    Rule("ARCHOPS_MODULE_SOURCE", "security", "high",
         "vendor the module into a subfolder (source = \"./modules/name\"), or let an operator allow "
         "its source (ARCHOPS_REVIEW_MODULE_SOURCES)", module_sources, waivable=False),
    Rule("ARCHOPS_PROVIDER_SOURCE", "security", "high",
         "use a hashicorp/ provider, or let an operator allow the source (ARCHOPS_REVIEW_PROVIDER_SOURCES)",
         provider_sources, waivable=False),
    Rule("ARCHOPS_FILE_OUTSIDE_MODULE", "security", "high",
         "keep every file the module reads or writes inside it: \"${path.module}/name\", never an "
         "absolute path, ~, .. or path.cwd", paths_outside, waivable=False),
    Rule("ARCHOPS_FILE_PATH_UNKNOWN", "security", "medium",
         "write the path as a literal inside the module (\"${path.module}/name\"); a path from a "
         "variable or another computed value can name any file", paths_unknown, waivable=False),
)
RULES: tuple[Rule, ...] = EXEC_RULES + (
    Rule("ARCHOPS_SG_OPEN_INGRESS", "security", "critical",
         "allow only the load balancer's security group or a private range, never 0.0.0.0/0 "
         "except on 80/443 of a public load balancer",
         open_security_groups, restrict_ingress, ("CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260")),
    Rule("ARCHOPS_S3_PUBLIC", "security", "critical",
         "add aws_s3_bucket_public_access_block with all four settings true; serve public content "
         "through CloudFront with origin access control",
         public_buckets, block_public, ("CKV2_AWS_6", "CKV_AWS_20", "CKV_AWS_57")),
    Rule("ARCHOPS_DB_UNENCRYPTED", "security", "high", "set storage_encrypted = true (with a KMS key)",
         typed(_DB, want_true("storage_encrypted", "the database storage is not encrypted")),
         set_arg("storage_encrypted", "true"), ("CKV_AWS_16", "CKV_AWS_96")),
    Rule("ARCHOPS_DB_PUBLIC", "security", "critical", "set publicly_accessible = false; reach it from the VPC",
         typed(("aws_db_instance",), publicly_accessible), set_arg("publicly_accessible", "false"),
         ("CKV_AWS_17",)),
    Rule("ARCHOPS_LITERAL_SECRET", "security", "critical",
         "never write secrets in Terraform: let RDS manage the password "
         "(manage_master_user_password) or pass a sensitive variable / Secrets Manager reference",
         literal_secrets, move_secret, ("CKV_AWS_41", "CKV_SECRET_2", "CKV_SECRET_6")),
    Rule("ARCHOPS_EBS_UNENCRYPTED", "security", "high", "set encrypted = true",
         typed(("aws_ebs_volume",), want_true("encrypted", "the volume is not encrypted")),
         set_arg("encrypted", "true"), ("CKV_AWS_3",)),
    Rule("ARCHOPS_IAM_ADMIN", "security", "high",
         "grant only the actions and resources the workload needs (least privilege)",
         iam_admin, None, ("CKV_AWS_62", "CKV_AWS_286", "CKV_AWS_355")),
    Rule("ARCHOPS_DB_NO_BACKUPS", "reliability", "high", "set backup_retention_period to 7 days or more",
         typed(_DB, backups_off), set_arg("backup_retention_period", "7"), ("CKV_AWS_133",)),
    Rule("ARCHOPS_DB_DELETION_PROTECTION", "reliability", "medium", "set deletion_protection = true",
         typed(_DB, want_true("deletion_protection", "the database can be deleted by one apply")),
         set_arg("deletion_protection", "true"), ("CKV_AWS_293", "CKV_AWS_139")),
    Rule("ARCHOPS_DYNAMODB_PITR", "reliability", "medium",
         "add point_in_time_recovery { enabled = true }",
         typed(("aws_dynamodb_table",), _pitr), _enable_pitr, ("CKV_AWS_28",)),
    Rule("ARCHOPS_LOG_RETENTION", "cost_optimisation", "medium",
         "set retention_in_days (365 keeps a year of history for audits)",
         typed(("aws_cloudwatch_log_group",), _log_retention), set_arg("retention_in_days", "365"),
         ("CKV_AWS_338",)),
    Rule("ARCHOPS_GP2_STORAGE", "cost_optimisation", "low", "use gp3: cheaper, and its IOPS are set apart from size",
         typed(("aws_ebs_volume", "aws_db_instance", "aws_launch_template", "aws_instance"), _gp2), _gp3),
    Rule("ARCHOPS_PREVIOUS_GENERATION", "performance_efficiency", "low",
         "move to a current generation (t4g, m7g, c7g, r7g or their x86 peers): faster and cheaper",
         typed(_COMPUTE, _instance_kind(_PREVIOUS_GENERATION, "{value} is a previous-generation type")),
         None),
    Rule("ARCHOPS_GRAVITON", "sustainability", "info",
         "a Graviton (arm64) type of the same size uses up to 60% less energy and costs ~20% less",
         typed(_COMPUTE, _instance_kind(_X86_WITH_GRAVITON, "{value} is x86; a Graviton peer exists")),
         None),
    Rule("ARCHOPS_PROVIDER_PIN", "operational_excellence", "medium",
         "pin hashicorp/aws in terraform.required_providers (versions.tf)", _provider_pin, _pin_provider),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}


def skip_reason(item: Item, rule_id: str, equivalents: tuple[str, ...] = ()) -> str | None:
    for check in (rule_id, *equivalents):
        if check in item.skips:
            return item.skips[check]
    return None


def _unwaived(hit: Hit, rule: Rule) -> str:
    if not rule.waivable and skip_reason(hit.item, rule.id, rule.checkov) is not None:
        return f"{hit.message} (a skip written in the module does not waive {rule.id})"
    return hit.message


def evaluate(module: ParsedModule) -> list[tuple[Rule, Hit]]:
    return [(rule, hit) for rule in RULES for hit in rule.evaluate(module)]


def check_policy(module: ParsedModule) -> list[Finding]:
    """archops' Well-Architected rules as findings (skips honoured and shown)."""
    out: list[Finding] = []
    for rule, hit in evaluate(module):
        out.append(Finding(
            check_id=rule.id, severity=rule.severity, pillar=rule.pillar,
            address=hit.item.address, argument=hit.argument, file=hit.item.file,
            line=hit.line or hit.item.line, message=_unwaived(hit, rule), fix=rule.fix,
            skip_reason=skip_reason(hit.item, rule.id, rule.checkov) if rule.waivable else None,
        ))
    for item in module.items:
        for check in item.unexplained_skips:
            out.append(Finding(
                check_id="ARCHOPS_SKIP_WITHOUT_REASON", severity="medium",
                pillar="operational_excellence", address=item.address, file=item.file,
                line=item.line, message=f"the skip of {check} gives no reason, so it is not honoured",
                fix=f'write # archops:skip={check} reason="why this is acceptable here"',
            ))
    return out
