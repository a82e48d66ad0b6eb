"""Chapter 02 runs through papermill on the smoke profile and shows computed prose."""
from __future__ import annotations

import json


def test_training_chapter_runs_on_smoke(notebook_runner, tmp_path) -> None:
    nb = notebook_runner("02_federated_training", controlled_epochs=1)
    markdown = "\n".join(o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code"
                         for o in c.get("outputs", []) if "text/markdown" in o.get("data", {}))
    assert "The run took" in markdown and "## Summary" in markdown and "{" not in markdown.replace("{{", "")
    assert (tmp_path / "out" / "artifacts" / "knexa_fl" / "logs" / "seed0_KNEXA_FL_s6.log").is_file()
    # the comparison page reads that artifact folder
    nb = notebook_runner("02_methods_compared", artifacts_dir=str(tmp_path / "out" / "artifacts"),
                         out_dir=str(tmp_path / "compared"))
    markdown = "\n".join(o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code"
                         for o in c.get("outputs", []) if "text/markdown" in o.get("data", {}))
    assert "Mean final Pass@1 over the 1 runs found" in markdown
    rows = json.loads((tmp_path / "compared" / "comparison.json").read_text())
    assert any(r["quantity"].startswith("Table 4, KNEXA-FL Pass@1") for r in rows)
