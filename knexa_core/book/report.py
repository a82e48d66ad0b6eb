"""Reported-vs-obtained records: each chapter states the paper's number next to the one it computed.

A notebook calls :func:`save_comparisons` with rows like
``{"quantity": "LinUCB gain over Random, 32 clients, high heterogeneity", "reported": "48.5%",
"obtained": "12.3%", "source": "03_cpm_simulation"}``; the book build gathers every chapter's
``comparison.json`` into the table on the front page (``book/_generated/reported_vs_obtained.md``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from knexa_core.errors import ConfigError
from knexa_core.io import read_json, write_json

FIELDS = ("quantity", "reported", "obtained", "source")
FILENAME = "comparison.json"


def save_comparisons(out_dir: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write a chapter's reported-vs-obtained rows to ``out_dir/comparison.json``."""
    clean = []
    for i, row in enumerate(rows):
        missing = [f for f in FIELDS if f not in row]
        if missing:
            raise ConfigError(f"comparison row {i} lacks {missing}; each row needs {list(FIELDS)}")
        clean.append({f: str(row[f]) for f in FIELDS} | {"note": str(row.get("note", ""))})
    return write_json(Path(out_dir) / FILENAME, clean)


def load_comparisons(run_dirs: Iterable[str | Path]) -> list[dict[str, str]]:
    """All rows from the ``comparison.json`` files found in ``run_dirs`` (in the given order)."""
    rows: list[dict[str, str]] = []
    for d in run_dirs:
        path = Path(d) / FILENAME
        if path.is_file():
            rows.extend(read_json(path, ConfigError))
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def comparisons_markdown(rows: list[Mapping[str, str]], chapters: Iterable[str] = ()) -> str:
    """Markdown tables of comparison rows, one per chapter (or a sentence if none were computed).

    A chapter named in ``chapters`` (a page ``chapters/<name>`` of the book) gets a link to its page.
    """
    if not rows:
        return ("*No chapter of this build has computed a number that the paper reports yet; "
                "the reported values are listed below for reference.*\n")
    linked, lines = set(chapters), []
    for source in dict.fromkeys(r["source"] for r in rows):
        title = f"{{doc}}`chapters/{source}`" if source in linked else f"`{source}`"
        lines += ["", f"**From {title}**", "", "| Quantity | Reported (paper) | Obtained (this build) | Note |",
                  "|---|---|---|---|"]
        lines += ["| " + " | ".join(_cell(r.get(f, "")) for f in ("quantity", "reported", "obtained", "note")) + " |"
                  for r in rows if r["source"] == source]
    return "\n".join(lines[1:]) + "\n"
