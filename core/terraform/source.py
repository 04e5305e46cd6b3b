"""Reading a module from a directory someone else may have prepared (``archops validate DIR``).

The ``.tf`` files of one directory (not recursive: one root module), read defensively:

- a file over :data:`MAX_FILE_BYTES`, or files over :data:`MAX_TOTAL_BYTES` together, are refused
  before they are read (Terraform's parser and the review hold every file in memory several
  times over);
- ``.tf.json``, ``.tofu`` and ``.tofu.json`` files, which Terraform or OpenTofu would load but
  the review does not read, are refused rather than passed by;
- a ``.tf`` file name that is not UTF-8 or holds control characters is refused (it would garble
  the reports, and JSON cannot hold it);
- bytes are decoded as UTF-8 (what Terraform reads); invalid UTF-8 is an error naming the file,
  the byte offset and its line;
- a symbolic link is followed only when its target stays inside the directory (a ``main.tf``
  linked to ``/etc/passwd`` is refused, and says so); anything but a regular file (a FIFO, a
  device, a directory named ``x.tf``) is refused without being opened for reading in a way
  that could block.

Every problem is found before any file is reviewed, and all of them are reported in one
:class:`~core.errors.ValidationError` (exit status 65); a missing directory is
:class:`~core.errors.NotFound` (4).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.errors import NotFound, ValidationError

# measured on the shared 2-core machine: a 3.9 MB .tf of 40,000 resources takes ~50 s and 2.2 GB
# to review (python-hcl2's tree dominates), a 400 kB one ~3.6 s; hand-written files and archops'
# own designs are tens of kB. Settings raise them (ARCHOPS_VALIDATE_MAX_FILE_BYTES / _TOTAL_BYTES).
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024
MAX_FILES = 500
# configuration files Terraform or OpenTofu load that the review does not read
UNREVIEWED_SUFFIXES = (".tf.json", ".tofu", ".tofu.json")

__all__ = ["MAX_FILES", "MAX_FILE_BYTES", "MAX_TOTAL_BYTES", "read_dir", "read_module_tree"]


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


def _plain_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept by the OS as surrogates
        return False
    return not any(ord(ch) < 32 or ord(ch) == 127 for ch in name)


def _shown(name: str) -> str:
    return repr(os.fsencode(name))[1:] if not _plain_name(name) else name


def _inside(root: Path, target: Path) -> bool:
    return target == root or root in target.parents


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValidationError(
            f"{name} is not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line})",
            hint="Terraform reads .tf files as UTF-8; save the file as UTF-8",
        ) from None


def _flags(root: Path, real_root: Path, name: str) -> int:
    """How to open one file: a link only when it stays inside the directory."""
    path = root / name
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if not path.is_symlink():
        return flags | getattr(os, "O_NOFOLLOW", 0)  # a file swapped for a link is not followed
    target = Path(os.path.realpath(path))
    if not _inside(real_root, target):
        raise ValidationError(
            f"{name} is a symbolic link to {target}, outside {root}: archops does not follow "
            "links out of the module",
            hint="copy the file into the module or remove the link",
        )
    return flags


def _size(root: Path, real_root: Path, name: str, max_file_bytes: int) -> int:
    """The size of one ``.tf`` file once it is known to be a plain file within the limits."""
    _flags(root, real_root, name)
    try:
        info = os.stat(root / name)
    except FileNotFoundError:
        raise ValidationError(f"{name} is a broken link") from None
    except OSError as exc:
        raise ValidationError(f"{name} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValidationError(f"{name} is {_kind(info.st_mode)}, not a regular file",
                              hint="a module's .tf files must be plain files")
    if info.st_size > max_file_bytes:
        raise ValidationError(
            f"{name} is {_mib(info.st_size)}, over the limit of {_mib(max_file_bytes)} per file",
            hint="a Terraform file that large is not hand-written code; split or remove it",
        )
    return info.st_size


def _read(root: Path, real_root: Path, name: str, max_file_bytes: int) -> bytes:
    """The bytes of a file :func:`_size` accepted (checked again on the open descriptor)."""
    try:
        fd = os.open(root / name, _flags(root, real_root, name))
    except OSError as exc:
        raise ValidationError(f"{name} cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if not stat.S_ISREG(opened.st_mode):  # swapped between the check and the open
            raise ValidationError(f"{name} is {_kind(opened.st_mode)}, not a regular file")
        data = handle.read(max_file_bytes + 1)
    if len(data) > max_file_bytes:  # it grew after the check
        raise ValidationError(f"{name} is over the limit of {_mib(max_file_bytes)} per file")
    return data


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return word
    return "not a plain file"


def read_dir(
    path: str | Path,
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_files: int = MAX_FILES,
    within: Path | None = None,
) -> dict[str, str]:
    """The ``.tf`` files of a directory as text, by file name, read within the limits above
    (``within``: the folder links must stay inside; the directory itself by default)."""
    root = Path(path)
    if not root.is_dir():
        raise NotFound(f"{root} is not a directory", hint="give the folder of a Terraform module")
    real_root = (within or root).resolve()
    try:
        listed = sorted(e.name for e in os.scandir(root))
    except OSError as exc:
        raise ValidationError(f"{root} cannot be listed: {exc.strerror}") from None
    unreviewable = [n for n in listed if n.endswith(UNREVIEWED_SUFFIXES)]
    if unreviewable:  # Terraform (or OpenTofu) would load them, so the review cannot pass them by
        raise ValidationError(
            f"{', '.join(unreviewable)}: archops reviews HCL .tf files only, and Terraform would "
            "load these unreviewed",
            hint="write them as .tf files, or move them out of the module",
        )
    names = [n for n in listed if n.endswith(".tf")]
    bad_names = [_shown(n) for n in names if not _plain_name(n)]
    if bad_names:  # they would garble every report (JSON cannot even hold them)
        raise ValidationError(
            f"{', '.join(bad_names)}: a .tf file name that is not valid UTF-8 or holds control "
            "characters", hint="rename the file")
    if not names:
        raise ValidationError(f"{root} holds no .tf files", hint="point at a Terraform root module")
    if len(names) > max_files:
        raise ValidationError(f"{root} holds {len(names)} .tf files, over the limit of {max_files}")
    problems: list[str] = []
    sizes: dict[str, int] = {}
    for name in names:  # nothing is read until every file is known to be acceptable
        try:
            sizes[name] = _size(root, real_root, name, max_file_bytes)
        except ValidationError as exc:
            problems.append(str(exc))
    total = sum(sizes.values())
    if total > max_total_bytes:
        problems.append(f"the .tf files of {root} are {_mib(total)} together, over the limit of "
                        f"{_mib(max_total_bytes)}")
    files: dict[str, str] = {}
    if not problems:
        for name in names:
            try:
                files[name] = _decode(name, _read(root, real_root, name, max_file_bytes))
            except ValidationError as exc:
                problems.append(str(exc))
    if problems:
        raise ValidationError(problems[0] if len(problems) == 1 else
                              f"{len(problems)} problems with the module's files:\n  " + "\n  ".join(problems))
    return files


def _local_sources(files: dict[str, str]) -> list[str]:
    """The ``./`` and ``../`` sources of a module's ``module`` calls, as written."""
    from core.terraform.structure import scan

    out: list[str] = []
    for text in files.values():
        try:
            blocks = scan(text)
        except RecursionError:  # the parse check reports such a file
            continue
        for block in blocks:
            attr = block.attrs.get("source") if block.type == "module" else None
            value = attr.text.strip() if attr else ""
            if len(value) > 2 and value[0] == value[-1] == '"' and value[1:].startswith(("./", "../")):
                out.append(value[1:-1])
    return out


def read_module_tree(
    path: str | Path,
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> dict[str, dict[str, str]]:
    """The root module and every local module it calls (``source = "./..."``, transitively)
    that stays inside the directory: relative folder ("" for the root) -> its ``.tf`` files.

    Terraform loads those child modules too, so a review that read the root alone could be
    passed by moving a provisioner into ``./modules/x``. Calls that climb out are left to the
    policy (``ARCHOPS_MODULE_SOURCE``); a call into a folder that is a link out of the directory
    is refused here. The size limits hold for the whole tree.
    """
    root = Path(path)
    tree = {"": read_dir(root, max_file_bytes=max_file_bytes, max_total_bytes=max_total_bytes)}
    real_root = root.resolve()
    used = sum(len(t.encode("utf-8")) for t in tree[""].values())
    todo = [""]
    while todo:
        here = todo.pop()
        for source in _local_sources(tree[here]):
            rel = os.path.normpath(os.path.join(here, source.replace("\\", "/")))
            if rel == "." or rel.startswith("..") or os.path.isabs(rel) or rel in tree:
                continue
            folder = root / rel
            if not _inside(real_root, folder.resolve()):
                raise ValidationError(
                    f"module source {source!r} (in {here or 'the root module'}) is a link to "
                    f"{folder.resolve()}, outside {root}: archops does not follow links out of the module",
                    hint="copy the module into the directory")
            if not folder.is_dir():
                continue  # Terraform reports the missing module
            try:
                tree[rel] = read_dir(folder, max_file_bytes=max_file_bytes,
                                     max_total_bytes=max_total_bytes, within=real_root)
            except ValidationError as exc:
                raise ValidationError(f"module {rel}: {exc.message}", hint=exc.hint) from None
            used += sum(len(t.encode("utf-8")) for t in tree[rel].values())
            if used > max_total_bytes:
                raise ValidationError(
                    f"{root} and its local modules are {_mib(used)} of .tf files together (at {rel}), "
                    f"over the limit of {_mib(max_total_bytes)}")
            todo.append(rel)
    return tree
