"""A design's Terraform as a zip file in its Slack thread.

The zip is built from the module artifact's files, read back from the conversation's event stream
by the event's entry id (the card keeps no file contents), and uploaded with Slack's external
upload flow (``files.getUploadURLExternal``, a POST of the bytes, ``files.completeUploadExternal``
sharing it into the thread; slack_sdk's ``files_upload_v2``). Its entries carry a fixed date, so
the same module is the same zip, byte for byte.

Once per version: the card records the version it is uploading before it starts; a bot that
crashed during an upload looks for the file in the channel (``files.list``) before uploading
again.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_FIXED_DATE = (2020, 1, 1, 0, 0, 0)


def zip_name(result: dict[str, Any]) -> str:
    parts = [str(p) for p in (result.get("project"), result.get("environment")) if p] or ["design"]
    name = "-".join(parts) + f"-v{result.get('version') or 1}"
    return "archops-" + _SAFE.sub("-", name).strip("-")[:80] + ".zip"


def module_zip(files: dict[str, Any], folder: str) -> bytes:
    """The module's files in ``folder/`` of a zip, sorted, with a fixed date."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            text = files[name]
            if not isinstance(text, str):
                continue
            safe = _SAFE.sub("_", name.replace("\\", "/").split("/")[-1]) or "file"
            info = zipfile.ZipInfo(f"{folder}/{safe}", date_time=_FIXED_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return out.getvalue()
