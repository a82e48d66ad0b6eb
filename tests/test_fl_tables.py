"""Per-client tables (supplementary Tables 4 and 5, paper Table 5) on hand-made rows."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from knexa_core.fl import tables


def _clients() -> pd.DataFrame:
    rows = []
    for method, seed, c0, c1, t0, t1 in (("local_only", 0, 0.10, 0.00, None, None),
                                         ("local_only", 1, 0.20, 0.00, None, None),
                                         ("knexa_fl", 0, 0.30, 0.10, 0.50, 0.25),
                                         ("knexa_fl", 1, 0.40, 0.05, 0.75, None),
                                         ("random_p2p", 0, 0.20, 0.20, 0.125, 0.25)):
        rows += [{"method": method, "seed": seed, "client": "C0", "pass@1": c0, "peak_transfer_pass1": t0},
                 {"method": method, "seed": seed, "client": "C1", "pass@1": c1, "peak_transfer_pass1": t1}]
    return pd.DataFrame(rows)


def test_local_vs_knexa_by_hand() -> None:
    t = tables.local_vs_knexa(_clients()).set_index("client")
    # C0: LocalOnly (0.10 + 0.20) / 2 = 15 %, KNEXA-FL (0.30 + 0.40) / 2 = 35 %, Δ = 20
    assert (t.loc["C0", "LocalOnly"], t.loc["C0", "KNEXA-FL"], t.loc["C0", "Δ"]) == (15.0, 35.0, 20.0)
    assert (t.loc["C1", "KNEXA-FL"], t.loc["C1", "Δ"], t.loc["C1", "seeds"]) == (7.5, 7.5, "2 / 2")
    assert (t.loc["C1", "reported LocalOnly"], t.loc["C1", "reported KNEXA-FL"], t.loc["C1", "reported Δ"]) == (0.0, 6.67, 6.67)
    assert (t.loc["average", "Δ"], t.loc["average", "LocalOnly"]) == (13.75, 7.5)


def test_local_vs_knexa_without_knexa_runs_shows_no_number() -> None:
    only_local = _clients().query("method == 'local_only'")
    t = tables.local_vs_knexa(only_local).set_index("client")
    assert math.isnan(t.loc["C0", "KNEXA-FL"]) and math.isnan(t.loc["C0", "Δ"]) and t.loc["C0", "seeds"] == "2 / 0"


def test_peak_vs_final_by_hand() -> None:
    rounds = pd.DataFrame({
        "method": ["central_kd"] * 8 + ["knexa_fl"],
        "seed": [0, 0, 0, 0, 1, 1, 1, 1, 0],
        "client": ["C0", "C0", "C0", "C0", "C0", "C0", "C0", "C0", "C0"],
        "round": [0, 1, 2, 3, 0, 1, 2, 3, 1],
        "pass@1": [0.9, 0.2, None, 0.0, 0.0, 0.1, 0.3, 0.1, 1.0],   # round 0 (untrained) and blanks do not count
    })
    t = tables.peak_vs_final(rounds).set_index("client")
    # seed 0: peak 0.2 (round 1), final 0.0; seed 1: peak 0.3 (round 2), final 0.1 -> 25 % and 5 %
    assert (t.loc["C0", "peak"], t.loc["C0", "final"], t.loc["C0", "peak round"], t.loc["C0", "seeds"]) == (25.0, 5.0, "1, 2", 2)
    assert (t.loc["C0", "reported peak"], t.loc["C0", "reported final"]) == (13.33, 0.0)
    assert (t.loc["average", "peak"], t.loc["average", "reported peak"], t.loc["average", "reported final"]) == (25.0, 18.33, 2.0)
    assert tables.peak_vs_final(rounds, "fedid_central_kd").empty
    c4 = pd.DataFrame({"method": ["central_kd"] * 2, "seed": [0, 0], "client": ["C4", "C4"], "round": [1, 2],
                       "pass@1": [0.9, 0.9]})
    with_c4 = tables.peak_vs_final(pd.concat([rounds, c4])).set_index("client")
    assert with_c4.loc["C4", "peak"] == 90.0 and with_c4.loc["average", "peak"] == 25.0  # the paper's C0–C3 only


def test_transfer_peaks_by_hand() -> None:
    t = tables.transfer_peaks(_clients()).set_index("method")
    # KNEXA-FL: seed 0 max(0.50, 0.25) = 0.50, seed 1 0.75 -> mean 62.5 %; Random-P2P 25 %; LocalOnly has none
    assert (t.loc["KNEXA-FL", "peak student Pass@1"], t.loc["KNEXA-FL", "lowest seed"], t.loc["KNEXA-FL", "seeds"]) == (62.5, 50.0, 2)
    assert (t.loc["Random-P2P", "peak student Pass@1"], t.loc["Random-P2P", "reported"]) == (25.0, 33.33)
    assert t.loc["KNEXA-FL", "reported"] == pytest.approx(86.70) and "LocalOnly" not in t.index
