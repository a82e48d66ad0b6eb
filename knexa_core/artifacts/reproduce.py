"""``knexa reproduce --artifacts DIR [--min-clients 6] [--csv OUT]``: Table 4 from an artifact directory.

Prints the header ``Method  Pass@1  Pass@5  Pass@10  CodeBLEU`` and one row per method in the
paper's order (Pass@k in %, CodeBLEU in [0, 1]; ``-`` where missing), the relative Pass@1 gain of
KNEXA-FL over Random-P2P, and the file each row came from. Exit status 0 when all six methods were
found; otherwise the missing ones are listed on stderr (expected file, what was found, how to
produce it) and the exit status is 1. Chapter ``04_recompute_artifacts``.
"""
from __future__ import annotations

import argparse
import sys

from knexa_core.artifacts.table4 import (
    DEFAULT_MIN_CLIENTS, REPORTED_GAIN_TEXT, Table4, format_table, missing_report, recompute_table4,
    write_table_csv,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--artifacts", required=True, metavar="DIR",
                        help="artifact directory in the paper's layout (ours or the authors' release)")
    parser.add_argument("--min-clients", type=int, default=DEFAULT_MIN_CLIENTS, metavar="N",
                        help="runs that evaluated fewer clients are set aside; default: %(default)s "
                             "(the paper's six-client federation)")
    parser.add_argument("--csv", metavar="OUT",
                        help="also write reported vs recomputed, differences and provenance to this CSV")


def print_report(table: Table4) -> None:
    """Print the table, the gain, the sources and (on stderr) what is missing."""
    print(format_table(table))
    gain = table.relative_gain
    print(f"\nRelative Pass@1 gain of KNEXA-FL over Random-P2P: "
          f"{'-' if gain is None else f'{100 * gain:.2f}%'} (reported: {REPORTED_GAIN_TEXT})")
    if table.chosen:
        print("\nSources:")
        for method, run in table.chosen.items():
            print(f"  {method}: {table.relative(run.path)} (sha256 {run.sha256[:12]}, "
                  f"{run.num_clients} clients, {run.num_rounds if run.num_rounds is not None else '?'} rounds)")
    for note in table.choices:
        print(f"  note: {note}")
    if not table.artifacts_dir.is_dir():
        print(f"\nincomplete: the artifact directory {table.artifacts_dir} does not exist; expected the "
              "paper's layout (baselines/summaries/*_summary.json, knexa_fl/logs/*.log). Produce it with "
              "the federated-training chapter (its `knexa train --method <name>` arrives with it) or pass --artifacts DIR "
              "of a run in that layout.", file=sys.stderr)
    elif not table.complete or table.issues:  # also files set aside next to a complete table
        head = (f"incomplete: {len(table.missing)} of 6 methods missing in {table.artifacts_dir}"
                if not table.complete else f"complete, but files were set aside in {table.artifacts_dir}")
        print(f"\n{head}:", file=sys.stderr)
        for row in missing_report(table):
            print(f"- {row['Method']}: expected {row['Expected']}\n    found: {row['Found']}\n"
                  f"    fix: {row['How to produce']}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    table = recompute_table4(args.artifacts, min_clients=args.min_clients)
    print_report(table)
    if args.csv:
        print(f"\nwrote {write_table_csv(table, args.csv)}")
    return 0 if table.complete else 1
