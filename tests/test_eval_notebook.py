"""The appendix notebook runs on the smoke profile and records its reported-vs-obtained rows."""
from __future__ import annotations

import json


def test_appendix_notebook_smoke(notebook_runner, tmp_path):
    notebook_runner("A1_evaluation_harness")
    rows = json.loads((tmp_path / "out" / "comparison.json").read_text())
    obtained = {r["quantity"]: r["obtained"] for r in rows}
    assert obtained["HumanEval canonical solutions passing the real check()"] == "20/20"
    assert obtained["Deliberately wrong HumanEval completions passing"] == "0/15"
    assert obtained["MBPP reference solutions passing their tests"].startswith("20/20")
    assert (tmp_path / "figures" / "A1_pass_at_k.png").is_file()
    assert (tmp_path / "out" / "reference_results.csv").read_text().count("\n") == 41  # header + 40
