"""Smoke run of the simulation chapter (smoke profile: seconds)."""
from __future__ import annotations

import json


def test_cpm_simulation_notebook_smoke(notebook_runner, tmp_path):
    nb = notebook_runner("03_cpm_simulation")
    out = tmp_path / "out"
    for name in ("learning_curve.csv", "regret_curve.csv", "grid.csv", "grid_gain.csv", "separability_regret_ci.csv",
                 "difference_to_random_ci.csv", "release_learning_curve.csv"):
        assert (out / name).is_file(), name
    for name in ("cpm_learning_regret.png", "cpm_figure2.png", "cpm_separability.png", "cpm_sensitivity.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 10_000
    rows = json.loads((out / "comparison.json").read_text())
    assert [r["reported"] for r in rows] == ["48.5%", "37.1%", "3.1%", "3.1%", "not reported", "0.710 vs ≈0.64", "≈60"]
    assert rows[1]["obtained"].endswith("%")  # 8 clients is in the smoke grid
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
