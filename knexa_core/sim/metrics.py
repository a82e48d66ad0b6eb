"""Metrics that can rank methods on a non-stationary federation: policy regret, gain share, paired gaps.

* **Policy regret** of method ``m`` after ``T`` rounds: ``Σ_{t≤T} [P̄_oracle(t) − P̄_m(t)]``, where
  ``P̄(t)`` is the mean Pass@1 proxy after round ``t`` and the oracle's curve comes from the
  oracle's *own* run on the same seed. Every method is measured against the same reference, so a
  method whose clients end lower accumulates more regret (unlike the state regret of
  :mod:`knexa_core.sim.runner`, which compares each method with the oracle on its own state).
* **Share of the available gain** captured in round ``t``:
  ``(P̄_m(t) − P̄(0)) / (P̄_oracle(t) − P̄(0))``, 1 for the oracle (NaN while the oracle has not
  gained anything).
* **Paired difference** to a baseline: per seed and round ``P̄_m(t) − P̄_baseline(t)``, then mean
  and 95% interval across seeds (the seeds share the federation, so the pairing removes its
  variance).

Chapter ``03_cpm_simulation``, section "Which metric ranks the methods?".
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from knexa_core.errors import ConfigError
from knexa_core.sim.stats import summarize

RUN_KEYS = ("n_clients", "heterogeneity", "seed")  # one federation; present columns only


def _keys(df: pd.DataFrame) -> list[str]:
    return [k for k in RUN_KEYS if k in df.columns]


def add_policy_regret(df: pd.DataFrame, reference: str = "oracle") -> pd.DataFrame:
    """Add ``regret`` (per round), ``cumulative_regret`` (policy regret) and ``gain_share`` columns.

    ``df`` holds per-round records (``round``, ``method``, ``mean_pass1``, ``start_pass1`` and the
    run keys); it must contain the ``reference`` method's run for every federation.
    """
    keys = _keys(df)
    ref = df[df["method"] == reference][[*keys, "round", "mean_pass1"]].rename(columns={"mean_pass1": "_ref"})
    if ref.empty:
        raise ConfigError(f"policy regret needs the {reference!r} run of every federation; add it to the methods")
    out = df.merge(ref, on=[*keys, "round"], how="left", validate="many_to_one")
    if out["_ref"].isna().any():
        raise ConfigError(f"some federations lack the {reference!r} run needed for the policy regret")
    out["regret"] = out["_ref"] - out["mean_pass1"]
    out = out.sort_values([*keys, "method", "round"]).reset_index(drop=True)
    out["cumulative_regret"] = out.groupby([*keys, "method"], sort=False)["regret"].cumsum()
    available = out["_ref"] - out["start_pass1"]
    out["gain_share"] = np.where(available > 0, (out["mean_pass1"] - out["start_pass1"]) / available.where(available > 0),
                                 np.nan)
    return out.drop(columns="_ref")


def paired_difference(df: pd.DataFrame, baseline: str = "random", value: str = "mean_pass1",
                      by: Sequence[str] = ("round",)) -> pd.DataFrame:
    """Mean and 95% CI across seeds of ``value(method) − value(baseline)`` per ``by`` and method."""
    keys = _keys(df)
    base = df[df["method"] == baseline][[*keys, *by, value]].rename(columns={value: "_base"})
    if base.empty:
        raise ConfigError(f"no {baseline!r} rows to pair with")
    diff = df[df["method"] != baseline].merge(base, on=[*keys, *by], validate="many_to_one")
    diff["difference"] = diff[value] - diff["_base"]
    return summarize(diff, [*[k for k in keys if k != "seed"], *by, "method"], "difference")


def final_ranking(df: pd.DataFrame) -> pd.DataFrame:
    """Per method at the last round: mean final Pass@1, policy regret, and the two rank orders.

    ``rank_pass1`` is 1 for the highest Pass@1; ``rank_regret`` is 1 for the *lowest* policy
    regret. A sound regret gives the same ranks.
    """
    last = df[df["round"] == df["round"].max()]
    table = last.groupby("method", sort=True)[["mean_pass1", "cumulative_regret"]].mean()
    table["rank_pass1"] = table["mean_pass1"].rank(ascending=False, method="min").astype(int)
    table["rank_regret"] = table["cumulative_regret"].rank(ascending=True, method="min").astype(int)
    return table.sort_values("rank_pass1")


def orders_agree(ranking: pd.DataFrame) -> bool:
    """True when ascending policy regret lists the methods in the order of descending Pass@1."""
    by_pass1 = list(ranking.sort_values("mean_pass1", ascending=False).index)
    by_regret = list(ranking.sort_values("cumulative_regret", ascending=True).index)
    return by_pass1 == by_regret
