"""Smoke runs of the data chapter (notebooks/01_splits.py): with MBPP, and the HumanEval-only fallback."""
from __future__ import annotations

import json

from knexa_core.book.report import FILENAME


def _outputs(nb) -> str:
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") + str(out.get("data", {}).get("text/markdown", "")))
    return "\n".join(texts)


def test_chapter_with_mbpp(notebook_runner, tmp_path, mbpp_path):
    nb = notebook_runner("01_splits", mbpp_path=str(mbpp_path))
    rows = {r["quantity"]: r for r in json.loads((tmp_path / "out" / FILENAME).read_text())}
    assert rows["study pool (HumanEval + MBPP)"]["obtained"] == "464"
    assert rows["client data (train + val) / global test"]["obtained"] == "348 / 116"
    assert rows["knowledge-transfer set X_u (disjoint from all)"]["obtained"] == "128 (disjoint)"
    assert rows["roster train/val C0..C5"]["obtained"] == rows["roster train/val C0..C5"]["reported"]
    assert all(r["note"] == "" for r in rows.values())
    assert rows["study pool (HumanEval + MBPP)"]["basis"] == "construction"  # sizes hold by construction
    assert rows[next(q for q in rows if q.startswith("non-IID"))]["basis"] == "paper"
    assert "MBPP was not found" not in _outputs(nb)
    for name in ("category_heatmap", "js_matrix", "alpha_sweep"):
        assert (tmp_path / "figures" / f"01_splits_{name}.png").stat().st_size > 1000
    assert len(json.loads((tmp_path / "out" / "data" / "splits" / "global_test.json").read_text())) == 116


def test_chapter_without_mbpp_falls_back_to_humaneval(notebook_runner, tmp_path, monkeypatch):
    monkeypatch.delenv("KNEXA_MBPP", raising=False)  # the kernel inherits this environment
    nb = notebook_runner("01_splits", mbpp_path=str(tmp_path / "no_such_mbpp.jsonl"))
    text = _outputs(nb)
    assert "MBPP was not found" in text and "KNEXA_MBPP" in text and "no_such_mbpp.jsonl" in text
    rows = {r["quantity"]: r for r in json.loads((tmp_path / "out" / FILENAME).read_text())}
    assert rows["study pool (HumanEval + MBPP)"]["obtained"] == "164"
    assert all("HumanEval-only fallback" in r["note"] for r in rows.values())
    manifest = json.loads((tmp_path / "out" / "data" / "splits" / "split_manifest.json").read_text())
    assert manifest["parameters"]["data"].startswith("HumanEval only")
    assert "mbpp" not in manifest["inputs"]
