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
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from core.terraform.paths import cache_dir
from core.terraform.plugin.schema import PROVIDERS, plugin_files_current
from core.terraform.structure import scan

SOURCES = {name: f"hashicorp/{name}" for name in PROVIDERS}
PLACEHOLDER = "archops-plan-placeholder"


def plugin_dir() -> Path:
    return cache_dir() / "plugin"


def cli_config_path() -> Path:
    return plugin_dir() / "terraformrc"


def available_providers() -> list[str]:
    return [name for name in PROVIDERS if plugin_files_current(name)]


def _python_path(root: Path) -> str:
    """archops' root and the environment's site-packages: the plugin runs with ``-S``."""
    import site
    import sysconfig

    paths = [str(root), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    paths += [p for p in site.getsitepackages() if p not in paths]
    return ":".join(dict.fromkeys(paths))


def ensure() -> Path:
    """Write the provider executables and the CLI configuration (idempotent); its path."""
    root = Path(__file__).resolve().parents[3]
    bin_dir = plugin_dir() / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    ensure_certificate(plugin_dir())
    python_path = _python_path(root)
    overrides = []
    for name in available_providers():
        exe = bin_dir / f"terraform-provider-{name}"
        script = (
            "#!/bin/sh\n"
            f"ARCHOPS_PLUGIN_DIR={shlex.quote(str(plugin_dir()))} "
            f"PYTHONPATH={shlex.quote(python_path)} "
            f"exec {shlex.quote(sys.executable)} -S -m tfplugin {name}\n"
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


def ensure_certificate(where: Path) -> None:
    """The plugin's TLS key and self-signed certificate (Terraform pins it from the handshake),
    made once and kept 0600."""
    key_path, cert_path, der_path = (where / f"plugin-tls.{s}" for s in ("key", "crt", "der"))
    if key_path.is_file() and cert_path.is_file() and der_path.is_file():
        return
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "archops")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=True, data_encipherment=False,
                                     key_agreement=True, key_cert_sign=True, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = {
        key_path: key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()),
        cert_path: cert.public_bytes(serialization.Encoding.PEM),
        der_path: cert.public_bytes(serialization.Encoding.DER),
    }
    for path, data in files.items():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        tmp.replace(path)


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


_FILE_READ = re.compile(
    r"\b(?:file|filemd5|filesha1|filesha256|filesha512|filebase64|filebase64sha256|"
    r"filebase64sha512|templatefile)\(\s*\"(?:\$\{path\.module\}/)?([^\"$]+)\"")


def inside(path: str) -> bool:
    p = Path(path)
    return bool(p.parts) and not p.is_absolute() and ".." not in p.parts and "~" not in path \
        and not p.parts[0].startswith(".")


def stand_ins(files: dict[str, str]) -> list[str]:
    """Files the module reads at plan (``filemd5("assets/x.pdf")``) that are inside the module
    but not among ``files``: the team adds them; the plan reads an empty stand-in."""
    wanted: set[str] = set()
    for name, text in files.items():
        if name.endswith(".tf"):
            wanted |= {m.group(1) for m in _FILE_READ.finditer(text)}
    return sorted(p for p in wanted if inside(p) and p not in files)


def plan_files(files: dict[str, str], variables: dict[str, str | None],
               missing: list[str] | None = None) -> dict[str, str]:
    """The files to plan: backends removed, a tfvars file with a value for each variable that
    needs one (``variables``: name -> declared type, for those without a default), and empty
    stand-ins for the ``missing`` files the module reads."""
    out = {name: strip_backends(text) if name.endswith(".tf") else text
           for name, text in files.items()}
    if variables:
        values = {name: placeholder_for(t) for name, t in variables.items()}
        out["zz-archops-plan.auto.tfvars.json"] = json.dumps(values)
    for path in missing or ():
        out[path] = ""
    return out
