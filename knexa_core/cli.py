"""The ``knexa`` command. Each sub-command lives in the module that does its work, which defines
``add_arguments(parser)`` and ``run(args) -> int``; this file only lists them.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from knexa_core.errors import KnexaError

# sub-command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "book": ("knexa_core.book.build", "execute every chapter with papermill and build the HTML book"),
    "run": ("knexa_core.book.run", "execute one chapter with a profile's parameters (-p NAME VALUE overrides one)"),
    "evaluate": ("knexa_core.eval.command", "run generated completions in the sandbox: Pass@k and CodeBLEU"),
    "splits": ("knexa_core.data.make_splits", "draw the Dirichlet non-IID federation splits (chapter 01)"),
    "simulate": ("knexa_core.sim.cli", "run the CPM (LinUCB matchmaker) simulation: learning curves or the Figure 2 grid"),
    "train": ("knexa_core.fl.train_cli", "run one federated LoRA training run (a method, a seed) into an artifact folder"),
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
    try:
        args = build_parser().parse_args(argv)
        return int(importlib.import_module(COMMANDS[args.command][0]).run(args) or 0)
    except KnexaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback; writers are atomic, so nothing is half-written
        print("error: interrupted (Ctrl-C); no partial output was published", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `knexa reproduce ... | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
