"""The paper's artifact layout: writers for our runs, readers for any run, Table 4 recomputed.

- :mod:`~knexa_core.artifacts.layout`: paths of the layout and the method <-> file-name mapping;
- :mod:`~knexa_core.artifacts.readers`: summary JSON and KNEXA-FL log readers;
- :mod:`~knexa_core.artifacts.writers`: the writers the federated-training loop calls;
- :mod:`~knexa_core.artifacts.table4`: the recomputation, the missing report, reported vs recomputed;
- :mod:`~knexa_core.artifacts.figure`: the grouped bar chart;
- :mod:`~knexa_core.artifacts.reproduce`: ``knexa reproduce``.

Chapter ``04_recompute_artifacts`` explains and uses all of it.
"""
from knexa_core.artifacts.layout import (
    BASELINES, KNEXA_FL, METHODS, canonical_method, client_split_path, global_test_path, logs_dir,
    method_from_filename, roster_path, run_file, run_name, splits_dir, summaries_dir,
    transfer_set_path,
)
from knexa_core.artifacts.readers import (
    ArtifactIssue, RunRecord, parse_final_line, read_knexa_log, read_parameters, read_summary,
    scan_artifacts, sha256_file,
)
from knexa_core.artifacts.table4 import (
    DEFAULT_MIN_CLIENTS, REPORTED, SELECTION_RULE, Table4, compact_rows, comparison_rows,
    format_table, missing_report, provenance_markdown, recompute_table4, recomputed_rows,
    reported_gain, reported_rows, side_by_side, write_table_csv,
)
from knexa_core.artifacts.writers import final_line, write_knexa_log, write_method_summary

__all__ = [
    # layout
    "BASELINES", "KNEXA_FL", "METHODS", "canonical_method", "client_split_path", "global_test_path",
    "logs_dir", "method_from_filename", "roster_path", "run_file", "run_name", "splits_dir",
    "summaries_dir", "transfer_set_path",
    # readers
    "ArtifactIssue", "RunRecord", "parse_final_line", "read_knexa_log", "read_parameters",
    "read_summary", "scan_artifacts", "sha256_file",
    # Table 4
    "DEFAULT_MIN_CLIENTS", "REPORTED", "SELECTION_RULE", "Table4", "compact_rows", "comparison_rows",
    "format_table", "missing_report", "provenance_markdown", "recompute_table4", "recomputed_rows",
    "reported_gain", "reported_rows", "side_by_side", "write_table_csv",
    # writers
    "final_line", "write_knexa_log", "write_method_summary",
]
