"""Reported-vs-obtained records: each chapter states the paper's number next to the one it computed.

A notebook calls :func:`save_comparisons` with rows like
``{"quantity": "LinUCB gain over Random, 32 clients, high heterogeneity", "reported": "48.5%",
"obtained": "12.3%", "source": "03_cpm_simulation"}``; the book build gathers every chapter's
``comparison.json`` into the table on the front page (``book/_generated/reported_vs_obtained.md``).
An optional ``basis`` says what the reference value is: ``"paper"`` (the default: the paper
reports it), ``"expected"`` (what a correct implementation must give; not in the paper) or
``"construction"`` (the paper's value, met by construction of our code rather than measured).

The front page's "What this book reproduces" table (:func:`reproduces_markdown`) is derived from
the same rows: a paper item is *recomputed* when some chapter of the build wrote a row naming it
with an obtained value, and *not yet* otherwise.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from knexa_core.errors import ConfigError
from knexa_core.io import read_json, write_json

FIELDS = ("quantity", "reported", "obtained", "source")
BASES = ("paper", "expected", "construction")
FILENAME = "comparison.json"


def save_comparisons(out_dir: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write a chapter's reported-vs-obtained rows to ``out_dir/comparison.json``."""
    clean = []
    for i, row in enumerate(rows):
        missing = [f for f in FIELDS if f not in row]
        if missing:
            raise ConfigError(f"comparison row {i} lacks {missing}; each row needs {list(FIELDS)}")
        basis = str(row.get("basis", "paper"))
        if basis not in BASES:
            raise ConfigError(f"comparison row {i} has basis {basis!r}; use one of {list(BASES)}")
        clean.append({f: str(row[f]) for f in FIELDS} | {"note": str(row.get("note", "")), "basis": basis}
                     | ({"scope": str(row["scope"])} if row.get("scope") else {}))
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
        lines += ["", f"**From {title}**", "",
                  "| Quantity | Reported (paper) | Expected (not in the paper) | Obtained (this build) | Note |",
                  "|---|---|---|---|---|"]
        lines += [_row_markdown(r) for r in rows if r["source"] == source]
    return "\n".join(lines[1:]) + "\n"


def _row_markdown(row: Mapping[str, str]) -> str:
    basis = row.get("basis", "paper")
    paper, expected = ("—", row["reported"]) if basis == "expected" else (row["reported"], "—")
    note = row.get("note", "")
    if basis == "construction":
        note = "Holds by construction of the split, not a measurement." + (f" {note}" if note else "")
    return "| " + " | ".join(_cell(v) for v in (row["quantity"], paper, expected, row["obtained"], note)) + " |"


# The paper's results, in front-page order: (item, description, what recomputing it means).
# A row names an item when its quantity mentions it (e.g. "Table 4, KNEXA-FL: ..." or
# "Supplementary Table 5, C0"); the data setting is named by the split chapter's quantities.
PAPER_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("Table 4", "Pass@1/5/10 and CodeBLEU of six methods on the six-client federation", "recomputed"),
    ("Table 5", "peak student Pass@1 on the 128-problem transfer set", "recomputed"),
    ("Figure 2", "the synthetic study: LinUCB's gain over random pairing, JS divergence, CPM cost",
     "recomputed in our own simulator"),
    ("Supplementary Figure 1", "learning and regret curves over 100 rounds", "recomputed in our own simulator"),
    ("Supplementary Table 4", "Central-KD peak and final Pass@1 per client", "recomputed"),
    ("Supplementary Table 5", "per-client Pass@1, LocalOnly and KNEXA-FL", "recomputed"),
    ("Data setting", "HumanEval + MBPP, Dirichlet α = 0.1 non-IID splits, a 128-problem transfer set", "recomputed"),
)
_SUPPL = r"(?:supplementary|suppl\.?|supp\.?)\s+"
_DATA_WORDS = ("study pool", "client data", "transfer set x_u", "roster train/val", "non-iid split")
_SIM_WORDS = {"Figure 2": ("gain over random", "js divergence of chosen pairs"),
              "Supplementary Figure 1": ("regret plateau",)}


def paper_items_of(quantity: str) -> set[str]:
    """The :data:`PAPER_ITEMS` a comparison row's quantity names."""
    q = quantity.lower()
    found = {f"Supplementary {kind.title()} {n}" for kind, n in re.findall(_SUPPL + r"(table|figure)\s+(\d+)", q)}
    plain = re.sub(_SUPPL + r"(table|figure)\s+\d+", " ", q)
    found |= {f"{kind.title()} {n}" for kind, n in re.findall(r"\b(table|figure)\s+(\d+)", plain)}
    found |= {item for item, words in _SIM_WORDS.items() if any(w in q for w in words)}
    if any(w in q for w in _DATA_WORDS):
        found.add("Data setting")
    return found & {item for item, _, _ in PAPER_ITEMS}


def _is_obtained(value: str) -> bool:
    v = value.strip().lower()
    return bool(v) and not v.startswith(("not ", "n/a", "—", "-"))


def reproduces_rows(rows: Iterable[Mapping[str, str]]) -> list[dict[str, Any]]:
    """Per paper item: its status in this build and the chapters whose rows recomputed it."""
    sources: dict[str, list[str]] = {item: [] for item, _, _ in PAPER_ITEMS}
    scopes: dict[str, list[str]] = {item: [] for item, _, _ in PAPER_ITEMS}
    for row in rows:
        if row.get("basis", "paper") != "expected" and _is_obtained(row["obtained"]):
            for item in paper_items_of(row["quantity"]):
                if row["source"] not in sources[item]:
                    sources[item].append(row["source"])
                if row.get("scope") and row["scope"] not in scopes[item]:
                    scopes[item].append(row["scope"])  # how far a recomputation goes (methods, setting)
    return [{"item": item, "description": desc, "chapters": sources[item],
             "status": (done + (f" ({'; '.join(scopes[item])})" if scopes[item] else "")) if sources[item] else "not yet"}
            for item, desc, done in PAPER_ITEMS]


def reproduces_markdown(rows: Iterable[Mapping[str, str]], chapters: Iterable[str] = ()) -> str:
    """The front page's "What this book reproduces" table, generated from the build's rows."""
    linked = set(chapters)
    lines = ["| Paper result | Status in this build | Where |", "|---|---|---|"]
    for r in reproduces_rows(rows):
        where = ", ".join(f"{{doc}}`chapters/{c}`" if c in linked else f"`{c}`" for c in r["chapters"]) or "—"
        lines.append(f"| {r['item']}: {_cell(r['description'])} | {r['status']} | {where} |")
    return "\n".join(lines) + "\n"
