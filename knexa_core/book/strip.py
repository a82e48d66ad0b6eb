"""Clear the outputs of committed notebooks: ``make strip`` and the pre-commit hook.

``python -m knexa_core.book.strip notebooks/*.ipynb`` removes every code cell's outputs and
execution count (and papermill's execution metadata) in place, so a notebook saved in
JupyterLab after running it can be committed; run ``jupytext --sync`` first (``make strip`` does).
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from knexa_core.io import write_text

RUN_METADATA = ("execution", "papermill")  # per-cell and notebook keys written by a run


def clear_outputs(path: str | Path) -> bool:
    """Clear ``path``'s outputs in place; return whether the file changed."""
    p = Path(path)
    nb = nbformat.read(p, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        for key in RUN_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    for key in RUN_METADATA:
        nb.metadata.pop(key, None)
    after = nbformat.writes(nb)
    if after != before:
        write_text(p, after + "\n")
    return after != before


def main(paths: list[str]) -> int:
    """Strip every path; exit status 1 when a file changed (so pre-commit asks to re-add it)."""
    changed = [p for p in paths if clear_outputs(p)]
    for p in changed:
        print(f"cleared outputs: {p}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
