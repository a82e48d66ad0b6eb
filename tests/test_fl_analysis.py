"""Reading runs back (chapter 02's comparison) and the book's batch grid, on hand-made tables."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from knexa_core.book import batch
from knexa_core.errors import ArtifactError, BuildError
from knexa_core.fl import analysis
from knexa_core.io import write_json


def _runs() -> pd.DataFrame:
    return pd.DataFrame({"method": ["knexa_fl"] * 3 + ["random_p2p"] * 3, "seed": [0, 1, 2] * 2,
                         "pass@1": [0.30, 0.20, 0.25, 0.10, 0.20, 0.15]})


def test_paired_difference_by_hand() -> None:
    d = analysis.paired_difference(_runs(), "knexa_fl", "random_p2p")
    # per-seed differences 0.20, 0.00, 0.10: mean 0.10, sd 0.10, t(0.975, 2) = 4.3027 -> half width 0.2484
    assert d["seeds"] == 3 and d["difference"] == pytest.approx(0.10)
    assert d["ci95_low"] == pytest.approx(0.10 - 0.24841, abs=1e-4) and d["ci95_high"] == pytest.approx(0.34841, abs=1e-4)
    assert (d["wins"], d["losses"]) == (2, 0)
    assert analysis.paired_difference(_runs(), "knexa_fl", "local_only")["seeds"] == 0


def test_one_seed_has_no_interval() -> None:
    one = _runs().query("seed == 0")
    table = analysis.method_table(one, metrics=("pass@1",))
    assert all(math.isnan(x) for lo_hi in table["pass@1 ci95"] for x in lo_hi)
    assert math.isnan(analysis.paired_difference(one, "knexa_fl", "random_p2p")["ci95_low"])


def test_held_vs_lacking_averages_per_run_then_over_seeds() -> None:
    cats = pd.DataFrame({"method": ["local_only"] * 4, "seed": [0, 0, 1, 1], "client": ["C0"] * 4,
                         "category": ["math", "bits"] * 2, "train_share": [0.5, 0.0, 0.5, 0.0],
                         "base_pass1": [0.0] * 4, "final_pass1": [0.4, 0.0, 0.2, 0.1]})
    table = analysis.held_vs_lacking(cats).set_index("categories")
    assert table.loc["held", "final"] == pytest.approx(0.3) and table.loc["lacking", "final"] == pytest.approx(0.05)
    assert table.loc["held", "seeds"] == 2


def test_runs_of_different_settings_in_one_folder_are_refused(tmp_path: Path) -> None:
    for name, rounds in (("seed0_KNEXA_FL_s6", 6), ("seed1_KNEXA_FL_s6", 4)):
        write_json(tmp_path / "knexa_fl" / "logs" / f"{name}_parameters.json",
                   {"method": "knexa_fl", "seed": int(name[4]), "rounds": rounds})
    with pytest.raises(ArtifactError, match="2 different settings"):
        analysis.load_tables(tmp_path)


def test_batch_grid_axes_and_fixed_values() -> None:
    profile = {"profile": "cpu", "batches": {"02": {"seed": [0, 1], "method": ["a", "b"], "controlled_epochs": 0}}}
    combos, fixed = batch.grid(profile, "02")
    assert combos == [{"seed": 0, "method": "a"}, {"seed": 0, "method": "b"},
                      {"seed": 1, "method": "a"}, {"seed": 1, "method": "b"}]
    assert fixed == {"controlled_epochs": 0} and batch.label(combos[1]) == "seed-0_method-b"
    assert batch.grid(profile, "03") == ([], {})
    with pytest.raises(BuildError, match="non-empty lists"):
        batch.grid({"profile": "cpu", "batches": {"02": {"seed": []}}}, "02")


def test_batch_names_unknown_to_the_notebook_stop_before_any_execution(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parent.parent / "notebooks" / "02_federated_training.py"
    with pytest.raises(BuildError, match=r"\['epochs'\]"):
        batch.plan("02_federated_training", [{"seed": 0, "method": "local_only"}], {"epochs": 3}, source,
                        tmp_path, tmp_path / "nb", tmp_path)
    assert not (tmp_path / "nb").exists()
