"""The offline plan toolchain: provider executables, Terraform's CLI configuration, a private copy.

Terraform finds archops' schema-only providers through a CLI configuration with
``dev_overrides`` (``TF_CLI_CONFIG_FILE``): each overridden provider is an executable
``terraform-provider-NAME`` in one folder, which runs :mod:`core.terraform.plugin.server`.
No ``terraform init`` happens and nothing is downloaded. A module is planned from a private copy
with its backend block removed and a value for every variable that has no default, so that the
user's directory is never touched.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from core.terraform.paths import cache_dir
from core.terraform.plugin.schema import PROVIDERS, schema_file
from core.terraform.structure import scan

SOURCES = {name: f"hashicorp/{name}" for name in PROVIDERS}
PLACEHOLDER = "archops-plan-placeholder"


def plugin_dir() -> Path:
    return cache_dir() / "plugin"


def cli_config_path() -> Path:
    return plugin_dir() / "terraformrc"


def available_providers() -> list[str]:
    return [name for name in PROVIDERS if schema_file(name).is_file()]


def ensure() -> Path:
    """Write the provider executables and the CLI configuration (idempotent); its path."""
    root = Path(__file__).resolve().parents[3]
    bin_dir = plugin_dir() / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    overrides = []
    for name in available_providers():
        exe = bin_dir / f"terraform-provider-{name}"
        script = (
            "#!/bin/sh\n"
            f"PYTHONPATH={shlex.quote(str(root))}${{PYTHONPATH:+:$PYTHONPATH}} "
            f"exec {shlex.quote(sys.executable)} -m core.terraform.plugin.server {name}\n"
        )
        if not exe.is_file() or exe.read_text() != script:
            tmp = exe.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(script)
            tmp.chmod(0o755)
            tmp.replace(exe)
        overrides.append(f'    "{SOURCES[name]}" = "{bin_dir}"')
    empty = plugin_dir() / "mirror"
    empty.mkdir(exist_ok=True)
    config = (
        "# archops' offline plan: Terraform runs archops' schema-only providers, downloads nothing\n"
        "provider_installation {\n  dev_overrides {\n" + "\n".join(overrides) + "\n  }\n"
        f'  filesystem_mirror {{\n    path = "{empty}"\n  }}\n}}\n'
        "disable_checkpoint = true\n"
    )
    path = cli_config_path()
    if not path.is_file() or path.read_text() != config:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(config)
        tmp.replace(path)
    return path


def environment() -> dict[str, str]:
    """What Terraform runs with: archops' CLI configuration, no checkpoint calls, no prompts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update({
        "TF_CLI_CONFIG_FILE": str(cli_config_path()),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    })
    return env


# -- the private copy ------------------------------------------------------------------------
def strip_backends(text: str) -> str:
    """The file without ``backend`` and ``cloud`` blocks inside ``terraform`` blocks (plan would
    demand ``init`` for them)."""
    cuts: list[tuple[int, int]] = []
    for block in scan(text):
        if block.type != "terraform":
            continue
        for inner in block.blocks:
            if inner.type in ("backend", "cloud"):
                cuts.append((inner.start, inner.body_end + 1))
    for start, end in sorted(cuts, reverse=True):
        text = text[:start] + text[end:]
    return text


def placeholder_for(type_text: str | None) -> Any:
    """A value of a variable's declared type, for variables with no default."""
    t = (type_text or "string").replace(" ", "")
    if t.startswith(("list(", "set(", "tuple(")):
        return []
    if t.startswith(("map(", "object(")):
        return {}
    if t == "number":
        return 1
    if t == "bool":
        return False
    return PLACEHOLDER


def plan_files(files: dict[str, str], variables: dict[str, str | None]) -> dict[str, str]:
    """The files to plan: backends removed, and a tfvars file with a value for each variable
    that needs one (``variables``: name -> declared type, for those without a default)."""
    out = {name: strip_backends(text) if name.endswith(".tf") else text
           for name, text in files.items()}
    if variables:
        values = {name: placeholder_for(t) for name, t in variables.items()}
        out["zz-archops-plan.auto.tfvars.json"] = json.dumps(values)
    return out
