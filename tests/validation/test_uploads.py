"""A file the user asks to upload is a plain name inside the generated module, never a path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hcl2
import pytest

from agents.requirements import Requirements, upload_name
from core.terraform.review import review_module

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("asked", "name"), [
    ("../../../etc/passwd.txt", "passwd.txt"),
    ("assets/brochure.pdf", "brochure.pdf"),
    ("/etc/shadow.txt", "shadow.txt"),
    ("~/.ssh/id_rsa.txt", "id_rsa.txt"),
    ("C:\\Users\\me\\report.pdf", "report.pdf"),
    (".env.json", "env.json"),
    ("a b$(rm -rf).txt", "a_b__rm_-rf_.txt"),
    ("..", "file"),
    ("report.pdf", "report.pdf"),
])
def test_upload_names(asked: str, name: str) -> None:
    assert upload_name(asked) == name
    assert upload_name(name) == name  # idempotent


def test_requirements_never_hold_a_path() -> None:
    """Whoever fills the requirements (the extractor, a model's structured output), a path is
    reduced to its name."""
    req = Requirements(uploads=["../../../etc/passwd.txt", "docs/a.pdf"])
    assert req.uploads == ["a.pdf", "passwd.txt"]
    req.uploads = ["/root/.aws/credentials.json"]
    assert req.uploads == ["credentials.json"]


def test_the_upload_request_writes_a_name_inside_the_module(tmp_path: Path) -> None:
    out = tmp_path / "module"
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "generate",
         "a static website; upload ../../../etc/passwd.txt to the site bucket",
         "--out", str(out), "--non-interactive", "--checks", "parse,schema,references,policy"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    files = {p.name: p.read_text() for p in out.iterdir() if p.suffix in (".tf", ".md")}
    assert "../" not in files["storage.tf"] and "/etc/" not in files["storage.tf"]
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    parsed = hcl2.loads(files["storage.tf"], serialization_options=options)
    objects = [body for entry in parsed.get("resource", [])
               for rtype, named in entry.items() if rtype == "aws_s3_object" for body in named.values()]
    assert len(objects) == 1
    assert objects[0]["source"] == "${path.module}/passwd.txt"
    assert objects[0]["key"] == "passwd.txt"
    assert objects[0]["source_hash"] == '${filemd5("${path.module}/passwd.txt")}'
    # the reply says where the file goes and what became of the path
    assert "Files to upload: passwd.txt" in result.stdout
    assert "../../../etc/passwd.txt is taken as passwd.txt in the module's folder" in result.stdout
    assert "`passwd.txt` (asked for as `../../../etc/passwd.txt`)" in files["README.md"]
    # and the module passes the execution and exfiltration rules
    review = review_module({k: v for k, v in files.items() if k.endswith(".tf")}, {"parse", "policy"})
    assert not [f for f in review.findings if f.check_id.startswith(("ARCHOPS_FILE", "ARCHOPS_EXEC"))]
