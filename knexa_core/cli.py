"""The ``knexa`` command. Each sub-command lives in the module that does its work, which defines
``add_arguments(parser)`` and ``run(args) -> int``; this file only lists them.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from knexa_core.errors import KnexaError

# sub-command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "book": ("knexa_core.book", "execute every chapter with papermill and build the HTML book"),
    "reproduce": ("knexa_core.artifacts.reproduce", "recompute Table 4 from an artifact directory in the paper's layout"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="knexa", description="KNEXA-FL reproduction book tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(sp)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except KnexaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
