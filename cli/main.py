"""The `archops` command: parses arguments and calls each part's composition root.

Every subcommand lives in its own module under ``cli/`` exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args, settings) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from core.errors import ArchopsError

# name -> module; each module defines add_arguments() and run()
COMMANDS: dict[str, str] = {
    "up": "cli.up",
    "chat": "cli.chat",
    "worker": "cli.worker",
    "web": "cli.web",
    "bot": "cli.bot",
    "doctor": "cli.doctor",
    "generate": "cli.generate",
    "validate": "cli.validate",
    "scan": "cli.scan",
    "tags": "cli.tags",
    "project": "cli.project",
    "monitor": "cli.monitor",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, that command's module alone is imported (each
    module imports what its command runs on: a process that runs one command pays for one)."""
    parser = argparse.ArgumentParser(
        prog="archops",
        description="Ask for AWS infrastructure in plain words; get reviewed Terraform.",
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name)  # named, so that argparse still knows every command
            continue
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (its first word that is one, the options' values aside)."""
    before = argparse.ArgumentParser(add_help=False)
    before.add_argument("--log-level")
    try:
        _known, rest = before.parse_known_args(list(argv))
    except SystemExit:  # "--log-level" with no value: the whole parser says so
        return None
    return next((word for word in rest if word in COMMANDS), None)


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError as PydanticValidationError

    from core.logging import configure_logging
    from core.settings import Settings

    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_of(words))
    args = parser.parse_args(words)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    try:
        settings = Settings()
    except PydanticValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            print(f"archops: setting ARCHOPS_{field.upper()}: {err['msg']}", file=sys.stderr)
        return 78
    if args.log_level:
        settings.log_level = args.log_level
    configure_logging(settings.log_level, settings.log_format)
    try:
        return int(args._module.run(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except ArchopsError as exc:
        print(f"archops: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
