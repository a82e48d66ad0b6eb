"""The appendix notebook runs on the smoke profile and records its reported-vs-obtained rows."""
from __future__ import annotations

import json


def test_appendix_notebook_smoke(notebook_runner, tmp_path, mbpp_path):
    notebook_runner("A1_evaluation_harness", mbpp_path=str(mbpp_path))
    rows = json.loads((tmp_path / "out" / "comparison.json").read_text())
    obtained = {r["quantity"]: r["obtained"] for r in rows}
    assert obtained["HumanEval canonical solutions passing the real check()"] == "20/20"
    assert obtained["Deliberately wrong HumanEval completions passing"] == "0/15"
    assert obtained["MBPP reference solutions passing their tests"].startswith("20/20")
    assert obtained["return None passing, every HumanEval problem"] == "0/20"  # a negative control
    assert obtained["return None passing, every MBPP problem"].endswith("/20")
    assert {r["basis"] for r in rows} == {"expected"}  # none of these numbers is the paper's
    retry = [r for r in rows if r["quantity"].startswith("MBPP reference")][0]
    assert "30 s" not in retry["obtained"] or "retrying" in retry["obtained"]  # no figure for a retry that never ran
    assert (tmp_path / "figures" / "A1_pass_at_k.png").is_file()
    assert (tmp_path / "out" / "reference_results.csv").read_text().count("\n") == 41  # header + 40


def test_appendix_without_mbpp_says_so_and_still_proves_humaneval(notebook_runner, tmp_path, monkeypatch):
    monkeypatch.delenv("KNEXA_MBPP", raising=False)  # the kernel inherits this environment
    nb = notebook_runner("A1_evaluation_harness", mbpp_path=str(tmp_path / "no_such_mbpp.jsonl"))
    glued = " ".join(str(o.get("data", {})) for c in nb.cells for o in c.get("outputs", []))
    assert "MBPP was not found" in glued and "KNEXA_MBPP" in glued
    rows = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert [r["quantity"] for r in rows] == ["HumanEval canonical solutions passing the real check()",
                                             "Deliberately wrong HumanEval completions passing",
                                             "return None passing, every HumanEval problem"]
    assert (tmp_path / "out" / "reference_results.csv").read_text().count("\n") == 21  # header + 20
