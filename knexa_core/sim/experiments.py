"""The three experiments of the simulation chapter and the files they write.

* :func:`learning_dynamics` (supplementary Figure 1): Pass@1 proxy and policy regret
  (:mod:`knexa_core.sim.metrics`) per round for every method of :data:`METHOD_LABELS` (the two
  non-learning controls included), 95% CIs across seeds.
* :func:`run_grid` (Figure 2): clients x heterogeneity x seeds; final Pass@1, JS divergence of
  the chosen pairs, LinUCB's paired gain over Random and over ``random_oriented``, CPM timings.
* :func:`separability`: LinUCB on ``concat`` against ``interaction`` contexts.
* :func:`linear_control`: Random and LinUCB where the reward is linear in the concat context.

Every CSV except ``cpm_timing.csv`` (wall-clock times) is byte-identical for identical
arguments. Chapter ``03_cpm_simulation``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from knexa_core.cpm.matchers import METHODS
from knexa_core.io import write_csv
from knexa_core.progress import progress as progress_bar
from knexa_core.sim.federation import make_federation
from knexa_core.sim.linear import make_linear_env
from knexa_core.sim.metrics import add_policy_regret, paired_difference
from knexa_core.sim.runner import run_methods
from knexa_core.sim.stats import summarize

METHOD_LABELS = METHODS  # the matchers of every comparison (controls included), in plotting order
BASELINES = ("random", "random_oriented")  # LinUCB's gain is reported over both
CI_COLUMNS = ["sd", "ci95_low", "ci95_high", "n_seeds"]
PER_SEED_COLUMNS = ["seed", "round", "method", "mean_pass1", "regret", "cumulative_regret", "gain_share",
                    "state_regret", "cumulative_state_regret", "mean_js", "n_pairs"]


def method_specs(context: str = "concat", methods: Sequence[str] = METHOD_LABELS) -> list[tuple[str, str, str]]:
    """``(label, matcher, context)`` of the methods compared in an experiment."""
    return [(m, m, context) for m in methods]


def _runs(configs: Sequence[tuple[int, str]], seeds: Sequence[int], rounds: int, specs, bandit: dict,
          progress: bool, desc: str, make_env=make_federation) -> tuple[pd.DataFrame, list[dict]]:
    """Run ``specs`` for every (clients, heterogeneity) config and seed; per-round rows and timings.

    With the oracle among the methods, the policy regret and gain share are added.
    """
    rows, timings = [], []
    jobs = [(n, h, s) for n, h in configs for s in seeds]
    for n, het, seed in progress_bar(jobs, desc=desc, unit="run", disable=not progress):
        records, timing = run_methods(lambda: make_env(n, het, seed), specs, rounds, seed, **bandit)
        rows += [{"n_clients": n, "heterogeneity": het, **r} for r in records]
        timings += [{"n_clients": n, "heterogeneity": het, "seed": seed, "method": m, **t}
                    for m, t in timing.items()]
    df = pd.DataFrame(rows)
    return (add_policy_regret(df) if "oracle" in set(df["method"]) else df), timings


def learning_dynamics(n_clients: int = 16, rounds: int = 100, seeds: Sequence[int] = range(5),
                      heterogeneity: str = "high", context: str = "concat", lam: float = 1.0,
                      beta0: float = 1.0, progress: bool = False, make_env=make_federation) -> pd.DataFrame:
    """Per-seed, per-round records of every method, with policy regret (long format)."""
    df, _ = _runs([(n_clients, heterogeneity)], list(seeds), rounds, method_specs(context),
                  {"lam": lam, "beta0": beta0}, progress, "learning dynamics", make_env)
    return df


def write_learning_outputs(out_dir: str | Path, df: pd.DataFrame, prefix: str = "") -> dict[str, pd.DataFrame]:
    """Write the learning/regret curves (means, as in the paper's release), CIs and per-seed rows.

    ``regret_curve.csv`` holds the cumulative *policy* regret (:mod:`knexa_core.sim.metrics`);
    the state regret is kept in ``per_seed.csv`` as a labelled diagnostic.
    """
    out = Path(out_dir)
    tables = {"pass1": summarize(df, ["round", "method"], "mean_pass1"),
              "regret": summarize(df, ["round", "method"], "cumulative_regret"),
              "difference": paired_difference(df, "random"),
              "share": summarize(df.dropna(subset=["gain_share"]), ["round", "method"], "gain_share")}
    write_csv(out / f"{prefix}learning_curve.csv", _records(tables["pass1"], ["round", "method", "mean_pass1"]),
              ["round", "method", "mean_pass1"])
    write_csv(out / f"{prefix}regret_curve.csv",
              _records(tables["regret"], ["round", "method", "cumulative_regret"]),
              ["round", "method", "cumulative_regret"])
    for key, value in (("pass1", "mean_pass1"), ("regret", "cumulative_regret")):
        cols = ["round", "method", value, *CI_COLUMNS]
        write_csv(out / f"{prefix}{key}_ci.csv", _records(tables[key], cols), cols)
    cols = ["round", "method", "difference", *CI_COLUMNS]
    write_csv(out / f"{prefix}difference_to_random_ci.csv", _records(tables["difference"], cols), cols)
    cols = ["round", "method", "gain_share", *CI_COLUMNS]
    write_csv(out / f"{prefix}gain_share_ci.csv", _records(tables["share"], cols), cols)
    cols = PER_SEED_COLUMNS
    write_csv(out / f"{prefix}per_seed.csv", _records(df.sort_values(["method", "seed", "round"]), cols), cols)
    return tables


def _records(df: pd.DataFrame, cols: Sequence[str]) -> list[list]:
    """Rows as plain Python values (so CSV floats are written by ``repr``)."""
    return [[v.item() if isinstance(v, np.generic) else v for v in row] for row in df[list(cols)].itertuples(index=False)]


def run_grid(ns: Sequence[int] = (8, 16, 32, 64), heterogeneities: Sequence[str] = ("low", "medium", "high"),
             seeds: Sequence[int] = range(5), rounds: int = 100, context: str = "concat", lam: float = 1.0,
             beta0: float = 1.0, progress: bool = False, make_env=make_federation) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Figure 2 grid: one row per (clients, heterogeneity, seed, method), and the timings."""
    df, timings = _runs([(n, h) for n in ns for h in heterogeneities], list(seeds), rounds,
                        method_specs(context), {"lam": lam, "beta0": beta0}, progress, "Figure 2 grid", make_env)
    keys = ["n_clients", "heterogeneity", "seed", "method"]
    final = df[df["round"] == rounds].set_index(keys)[["mean_pass1", "cumulative_regret"]]
    js = df.groupby(keys, sort=True)["mean_js"].mean()
    grid = final.rename(columns={"mean_pass1": "final_pass1"}).join(js).reset_index()
    return grid.sort_values(keys).reset_index(drop=True), _timing_table(timings)


def _timing_table(timings: list[dict]) -> pd.DataFrame:
    rows = []
    for t in timings:
        observe = float(np.sum(t["observe"]))
        rows.append({k: t[k] for k in ("n_clients", "heterogeneity", "seed", "method")} | {
            "select_ms_median": 1e3 * float(np.median(t["select"])),
            "rewards_per_s": t["rewards"] / observe if observe > 0 else float("nan")})
    return pd.DataFrame(rows)


def grid_gain(grid: pd.DataFrame, baselines: Sequence[str] = BASELINES, method: str = "linucb",
              by: Sequence[str] = ("n_clients", "heterogeneity")) -> pd.DataFrame:
    """Relative final Pass@1 gain (%) of ``method`` over each baseline, paired per seed, with CI."""
    wide = grid.pivot_table(index=[*by, "seed"], columns="method", values="final_pass1").reset_index()
    parts = []
    for base in baselines:
        part = wide[[*by, "seed"]].assign(baseline=base)
        part["gain_pct"] = 100.0 * (wide[method] - wide[base]) / wide[base]
        parts.append(summarize(part, [*by, "baseline"], "gain_pct"))
    return pd.concat(parts, ignore_index=True)


def write_grid_outputs(out_dir: str | Path, grid: pd.DataFrame, timing: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Write ``grid.csv`` (per seed), ``grid_summary.csv``, ``grid_gain.csv`` and ``cpm_timing.csv``."""
    out = Path(out_dir)
    cols = ["n_clients", "heterogeneity", "seed", "method", "final_pass1", "mean_js", "cumulative_regret"]
    write_csv(out / "grid.csv", _records(grid, cols), cols)
    by = ["n_clients", "heterogeneity", "method"]
    js = summarize(grid, by, "mean_js").rename(columns={"ci95_low": "js_ci95_low", "ci95_high": "js_ci95_high"})
    summary = summarize(grid, by, "final_pass1").merge(js[[*by, "mean_js", "js_ci95_low", "js_ci95_high"]], on=by)
    cols = [*by, "final_pass1", *CI_COLUMNS, "mean_js", "js_ci95_low", "js_ci95_high"]
    write_csv(out / "grid_summary.csv", _records(summary, cols), cols)
    gain = grid_gain(grid)
    cols = ["n_clients", "heterogeneity", "baseline", "gain_pct", *CI_COLUMNS]
    write_csv(out / "grid_gain.csv", _records(gain, cols), cols)
    tcols = ["n_clients", "heterogeneity", "seed", "method", "select_ms_median", "rewards_per_s"]
    write_csv(out / "cpm_timing.csv", _records(timing, tcols), tcols)  # wall-clock: not byte-stable
    return {"summary": summary, "gain": gain, "timing": timing}


def separability(n_clients: int = 16, rounds: int = 100, seeds: Sequence[int] = range(5),
                 heterogeneity: str = "high", lam: float = 1.0, beta0: float = 1.0,
                 progress: bool = False) -> pd.DataFrame:
    """Per-seed records of Random, LinUCB-concat, LinUCB-interaction and Oracle."""
    specs = [("random", "random", "concat"), ("linucb_concat", "linucb", "concat"),
             ("linucb_interaction", "linucb", "interaction"), ("oracle", "oracle", "concat")]
    df, _ = _runs([(n_clients, heterogeneity)], list(seeds), rounds, specs, {"lam": lam, "beta0": beta0},
                  progress, "separability")
    return df


def linear_control(n_clients: int = 16, rounds: int = 100, seeds: Sequence[int] = range(5),
                   lam: float = 1.0, beta0: float = 1.0) -> pd.DataFrame:
    """Per-round records of Random and LinUCB (concat) in the stationary linear environment.

    The environment does not change, so the state regret is the usual bandit regret.
    """
    rows = []
    for seed in seeds:
        records, _ = run_methods(lambda: make_linear_env(n_clients, seed), method_specs("concat", ("random", "linucb")),
                                 rounds, seed, lam=lam, beta0=beta0)
        rows += records
    return pd.DataFrame(rows)


def regret_halves(df: pd.DataFrame) -> pd.DataFrame:
    """Per method: the state regret summed over the first and the second half of the rounds, CI across seeds."""
    df = df.assign(half=np.where(df["round"] <= df["round"].max() // 2, "first half", "second half"))
    halves = df.groupby(["method", "seed", "half"], sort=True)["state_regret"].sum().reset_index()
    return summarize(halves, ["method", "half"], "state_regret")