"""Table 4 recomputed from an artifact directory, set beside the paper's reported Table 4.

For each of the six methods the candidate runs are the files that parse (see
:mod:`~knexa_core.artifacts.readers`) and cover at least ``min_clients`` clients (default 6: the
paper's table is about the six-client federation; a smaller run is a different experiment). When a
method has several candidates, :data:`SELECTION_RULE` picks one and the table says which. A method
without a candidate is *missing*; :func:`missing_report` says what was expected, what was found
instead, and how to produce it. Pass@k is shown in % with 2 decimals, CodeBLEU with 3.
Chapter ``04_recompute_artifacts``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knexa_core.artifacts import layout
from knexa_core.artifacts.readers import ArtifactIssue, RunRecord, scan_artifacts
from knexa_core.errors import ConfigError
from knexa_core.io import write_csv

DEFAULT_MIN_CLIENTS = 6  # the paper's Table 4 is the six-client federation
COLUMNS = (("Pass@1", "pass@1"), ("Pass@5", "pass@5"), ("Pass@10", "pass@10"), ("CodeBLEU", "codebleu"))
# The paper's Table 4 (Pass@k in %, CodeBLEU in [0, 1]); labelled "reported" wherever shown.
REPORTED: dict[str, dict[str, float]] = {
    "LocalOnly": {"pass@1": 2.22, "pass@5": 5.42, "pass@10": 5.55, "codebleu": 0.260},
    "FedID-CentralKD": {"pass@1": 1.11, "pass@5": 5.56, "pass@10": 5.56, "codebleu": 0.181},
    "Central-KD": {"pass@1": 2.00, "pass@5": 7.80, "pass@10": 10.00, "codebleu": 0.268},
    "Heuristic-P2P": {"pass@1": 6.67, "pass@5": 16.67, "pass@10": 27.78, "codebleu": 0.392},
    "Random-P2P": {"pass@1": 8.89, "pass@5": 22.40, "pass@10": 27.80, "codebleu": 0.239},
    "KNEXA-FL": {"pass@1": 13.33, "pass@5": 31.25, "pass@10": 44.44, "codebleu": 0.344},
}
REPORTED_GAIN_TEXT = "≈50%"  # the paper's wording for KNEXA-FL over Random-P2P, relative Pass@1
SELECTION_RULE = ("fewest clients first (the run closest to the table's federation size), then most rounds "
                  "(a finished run over a shorter one; unknown counts as 0), then the last file path in "
                  "sorted order (names carrying a date or sequence number sort latest last)")


@dataclass(frozen=True)
class Table4:
    """The recomputation of one artifact directory."""

    artifacts_dir: Path
    min_clients: int
    chosen: dict[str, RunRecord]        # method -> the run whose numbers fill its row
    issues: tuple[ArtifactIssue, ...]   # every file set aside, with the reason
    choices: tuple[str, ...]            # how each method with several usable runs was decided

    @property
    def missing(self) -> list[str]:
        """Methods without a usable run, in Table-4 order."""
        return [m for m in layout.METHODS if m not in self.chosen]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def relative_gain(self) -> float | None:
        """(Pass@1 KNEXA-FL − Pass@1 Random-P2P) / Pass@1 Random-P2P, or None if not computable."""
        knexa, rand = self.chosen.get(layout.KNEXA_FL), self.chosen.get("Random-P2P")
        if knexa is None or rand is None or rand.pass_at_k["pass@1"] == 0:
            return None
        return knexa.pass_at_k["pass@1"] / rand.pass_at_k["pass@1"] - 1.0

    def relative(self, path: Path) -> str:
        """``path`` relative to the artifact directory (as shown in tables)."""
        return _rel(path, self.artifacts_dir)


def reported_gain() -> float:
    """The relative Pass@1 gain implied by the reported table (13.33 / 8.89 − 1)."""
    return REPORTED["KNEXA-FL"]["pass@1"] / REPORTED["Random-P2P"]["pass@1"] - 1.0


def display_value(record: RunRecord, key: str) -> float:
    """The table's value: Pass@k in % rounded to 2 decimals, CodeBLEU rounded to 3."""
    if key == "codebleu":
        return round(record.codebleu, 3)
    return round(100.0 * record.pass_at_k[key], 2)


def fmt(key: str, value: float | None, signed: bool = False) -> str:
    """Format a table value (``"-"`` when absent): 2 decimals for Pass@k, 3 for CodeBLEU."""
    if value is None:
        return "-"
    decimals = 3 if key == "codebleu" else 2
    value = round(value, decimals) or 0.0  # no "-0.00"
    return f"{value:{'+' if signed else ''}.{decimals}f}"


def _order(run: RunRecord) -> tuple[int, int, str]:
    """Sort key of :data:`SELECTION_RULE` (the largest key wins)."""
    return (-run.num_clients, run.num_rounds or 0, run.path.as_posix())


def _select(method: str, runs: list[RunRecord], table_dir: Path) -> tuple[RunRecord, str | None]:
    best = max(runs, key=_order)
    if len(runs) == 1:
        return best, None
    rel = lambda r: f"{_rel(r.path, table_dir)} ({r.num_clients} clients, {r.num_rounds or '?'} rounds)"  # noqa: E731
    others = "; ".join(rel(r) for r in sorted(runs, key=_order, reverse=True) if r is not best)
    return best, (f"{method}: {len(runs)} usable runs; chose {rel(best)}, set aside {others} "
                  f"(rule: {SELECTION_RULE})")


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _relative_issue(issue: ArtifactIssue, root: Path) -> ArtifactIssue:
    """The same issue with its file named relative to the artifact directory (shorter tables)."""
    full = str(issue.path)
    return ArtifactIssue(issue.method, issue.path, issue.problem.replace(full, _rel(Path(full), root)))


def recompute_table4(artifacts_dir: str | Path, min_clients: int = DEFAULT_MIN_CLIENTS) -> Table4:
    """Read ``artifacts_dir`` and choose one run per method.

    Parameters
    ----------
    artifacts_dir : root of the paper's artifact layout (ours or the authors' release).
    min_clients : runs that evaluated fewer clients are set aside (default 6, the paper's federation).

    Returns
    -------
    Table4
        Chosen runs, files set aside and why, and how ties between several runs were decided.
    """
    if isinstance(min_clients, bool) or not isinstance(min_clients, int) or min_clients < 1:
        raise ConfigError(f"min_clients must be a positive integer (the paper's table: 6), got {min_clients!r}")
    root = Path(artifacts_dir)
    runs, issues = scan_artifacts(root)
    issues = [_relative_issue(i, root) for i in issues]
    by_method: dict[str, list[RunRecord]] = {}
    for run in runs:
        if run.num_clients < min_clients:
            issues.append(ArtifactIssue(
                run.method, str(run.path), f"{_rel(run.path, root)}: {run.num_clients} clients evaluated, "
                f"fewer than the {min_clients} required (--min-clients / min_clients)"))
        else:
            by_method.setdefault(run.method, []).append(run)
    chosen, choices = {}, []
    for method in layout.METHODS:
        if method in by_method:
            chosen[method], note = _select(method, by_method[method], root)
            choices += [note] if note else []
    return Table4(root, min_clients, chosen, tuple(issues), tuple(choices))


def expected_artifact(method: str, min_clients: int = DEFAULT_MIN_CLIENTS) -> str:
    """What the layout expects for ``method`` (the "Expected" column of the missing report)."""
    if method == layout.KNEXA_FL:
        return ("knexa_fl/logs/*.log with a line 'FINAL_PASS_AT_K completed ... "
                f"clients_evaluated=<n> ... average_pass_at_k={{...}}', n >= {min_clients}")
    return f'baselines/summaries/*_summary.json with "method": "{method}", num_clients >= {min_clients}'



def how_to_produce(method: str) -> str:
    """The fix for a missing method: the ``knexa train`` command of chapter 02 that writes it."""
    train_name = {"LocalOnly": "local_only", "Heuristic-P2P": "heuristic_p2p", "Random-P2P": "random_p2p",
                  "KNEXA-FL": "knexa_fl"}.get(method)
    if train_name is None:  # the centralized baselines come with "Federated training II"
        return f"{method} is not implemented yet (centralized baselines: issue \"Federated training II\")"
    return f"produce it with `knexa train --method {train_name} --out <this folder>` (chapter 02)"


def missing_report(table: Table4) -> list[dict[str, str]]:
    """One row per missing method, one per file set aside beside a method's chosen run, and one
    per file that could not be attributed to a method."""
    exists = table.artifacts_dir.is_dir()
    rows = []
    for method in table.missing:
        found = [i.problem for i in table.issues if i.method == method]
        if not found:
            found = ["no file for this method"] if exists else ["the artifact directory does not exist"]
        rows.append({"Method": method, "Expected": expected_artifact(method, table.min_clients),
                     "Found": "; ".join(found), "How to produce": how_to_produce(method)})
    for issue in table.issues:
        if issue.method and issue.method not in table.missing:
            rows.append({"Method": f"{issue.method} (set aside)",
                         "Expected": expected_artifact(issue.method, table.min_clients),
                         "Found": issue.problem,
                         "How to produce": f"not needed: the table uses {table.relative(table.chosen[issue.method].path)}"})
        elif not issue.method:
            rows.append({"Method": "(unattributed file)", "Expected": "a summary naming a Table-4 method",
                         "Found": issue.problem, "How to produce": "fix or remove the file"})
    return rows


def recomputed_rows(table: Table4) -> list[dict[str, str]]:
    """The recomputed Table 4, formatted, one row per method in the paper's order (``-`` if missing)."""
    rows = []
    for method in layout.METHODS:
        run = table.chosen.get(method)
        rows.append({"Method": method} | {label: fmt(key, display_value(run, key) if run else None)
                                          for label, key in COLUMNS})
    return rows


def format_table(table: Table4) -> str:
    """Plain-text Table 4: the header ``Method  Pass@1  Pass@5  Pass@10  CodeBLEU`` and six rows."""
    lines = ["  ".join(["Method", *(label for label, _ in COLUMNS)])]
    lines += ["  ".join(row.values()) for row in recomputed_rows(table)]
    return "\n".join(lines)


def reported_rows() -> list[dict[str, str]]:
    """The paper's reported Table 4, formatted like :func:`recomputed_rows`."""
    return [{"Method": m} | {label: fmt(key, REPORTED[m][key]) for label, key in COLUMNS}
            for m in layout.METHODS]


def side_by_side(table: Table4) -> list[dict[str, Any]]:
    """Reported vs recomputed vs difference for every metric, with the provenance of each row."""
    rows = []
    for method in layout.METHODS:
        run = table.chosen.get(method)
        row: dict[str, Any] = {"Method": method}
        for label, key in COLUMNS:
            got = display_value(run, key) if run else None
            row[f"{label} reported"] = fmt(key, REPORTED[method][key])
            row[f"{label} recomputed"] = fmt(key, got)
            row[f"{label} diff"] = fmt(key, None if got is None else got - REPORTED[method][key], signed=True)
        row["Clients"] = run.num_clients if run else "-"
        row["Rounds"] = run.num_rounds if run and run.num_rounds is not None else "-"
        row["File"] = table.relative(run.path) if run else "missing"
        row["sha256"] = run.sha256 if run else "-"
        row["Parameters"] = (json.dumps(run.parameters, sort_keys=True) if run and run.parameters
                             else "not recorded" if run else "-")
        rows.append(row)
    return rows


def compact_rows(table: Table4) -> list[dict[str, str]]:
    """:func:`side_by_side` in four narrow columns: ``"reported → recomputed (difference)"``."""
    rows = []
    for row in side_by_side(table):
        cells = {label: f"{row[f'{label} reported']} → {row[f'{label} recomputed']}"
                 + ("" if row[f"{label} diff"] == "-" else f" ({row[f'{label} diff']})")
                 for label, _ in COLUMNS}
        rows.append({"Method": row["Method"]} | cells)
    return rows


def provenance_markdown(table: Table4) -> str:
    """A Markdown list: for each recomputed method its file, sha256, size of run and parameters."""
    lines = []
    for row in (r for r in side_by_side(table) if r["File"] != "missing"):
        rounds = "rounds not recorded" if row["Rounds"] == "-" else f"{row['Rounds']} rounds"
        params = row["Parameters"] if row["Parameters"] == "not recorded" else f"`{row['Parameters']}`"
        lines.append(f"- **{row['Method']}**: `{row['File']}`, sha256 `{row['sha256']}`, "
                     f"{row['Clients']} clients, {rounds}; parameters: {params}")
    return "\n".join(lines) or "No method was recomputed, so there is no provenance to show."


def comparison_rows(table: Table4, source: str = "04_recompute_artifacts") -> list[dict[str, str]]:
    """Reported-vs-obtained rows for :func:`knexa_core.book.report.save_comparisons`: recomputed values only."""
    labels = " / ".join(label for label, _ in COLUMNS)
    rows = []
    for method, run in ((m, table.chosen[m]) for m in layout.METHODS if m in table.chosen):
        rows.append({"quantity": f"Table 4, {method}: {labels}",
                     "reported": " / ".join(fmt(k, REPORTED[method][k]) for _, k in COLUMNS),
                     "obtained": " / ".join(fmt(k, display_value(run, k)) for _, k in COLUMNS),
                     "source": source, "note": f"recomputed from {table.relative(run.path)}"})
    if table.relative_gain is not None:
        rows.append({"quantity": "Table 4: relative Pass@1 gain of KNEXA-FL over Random-P2P",
                     "reported": REPORTED_GAIN_TEXT, "obtained": f"{100 * table.relative_gain:.1f}%",
                     "source": source, "note": "from the recomputed Pass@1 fractions"})
    return rows


def write_table_csv(table: Table4, path: str | Path) -> Path:
    """Write :func:`side_by_side` as CSV (atomic, deterministic)."""
    rows = side_by_side(table)
    return write_csv(path, rows, list(rows[0]))
