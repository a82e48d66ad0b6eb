"""Reading finished runs back and comparing methods (chapter 02's page ``02_methods_compared``).

Runs are found in an artifact folder by their ``*_rounds.csv`` / ``*_clients.csv`` /
``*_categories.csv`` / ``*_parameters.json`` files (written by :mod:`knexa_core.fl.driver`), so
the comparison reads exactly what the runs wrote. Intervals are Student-t 95 % intervals over run
seeds; a difference between two methods is *paired* by seed (same seed = same split, same client
seeds and the same initial adapters), as the runs are.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from knexa_core.errors import ArtifactError
from knexa_core.io import read_json
from knexa_core.intervals import mean_ci

PARAMETERS = "_parameters.json"
REPORTED_T5 = {"Random-P2P": 33.33, "KNEXA-FL": 86.70}  # paper Table 5: peak student Pass@1 (%) on X_u


def _runs(artifacts_dir: str | Path) -> list[tuple[dict, Path]]:
    """The training runs in ``artifacts_dir``; runs of different settings (any parameter other than
    method and seed) are an error: they are not comparable, and seeds would not be paired."""
    root = Path(artifacts_dir)
    found, settings = [], {}
    for params_file in sorted(root.glob(f"*/*/*{PARAMETERS}")):
        params = read_json(params_file, ArtifactError)
        if isinstance(params, dict) and "method" in params and "seed" in params and "rounds" in params:
            found.append((params, params_file.with_name(params_file.name[: -len(PARAMETERS)])))
            setting = {k: v for k, v in params.items() if k not in ("method", "seed")}
            settings.setdefault(json.dumps(setting, sort_keys=True), params_file.name)
    if len(settings) > 1:
        raise ArtifactError(f"{root} holds runs of {len(settings)} different settings (e.g. "
                            f"{' and '.join(list(settings.values())[:2])}); compare runs of one setting: "
                            "give each setting its own folder")
    return found


def load_tables(artifacts_dir: str | Path) -> dict[str, pd.DataFrame]:
    """``rounds``, ``clients`` and ``categories`` of every run in ``artifacts_dir`` (method, seed columns added)."""
    tables: dict[str, list[pd.DataFrame]] = {"rounds": [], "clients": [], "categories": []}
    for params, stem in _runs(artifacts_dir):
        for name in tables:
            path = stem.with_name(stem.name + f"_{name}.csv")
            if path.is_file():
                df = pd.read_csv(path)
                df["method"], df["seed"] = params["method"], params["seed"]
                tables[name].append(df)
    return {k: pd.concat(v, ignore_index=True) if v else pd.DataFrame() for k, v in tables.items()}


def setting_text(artifacts_dir: str | Path) -> str:
    """The setting of the runs in ``artifacts_dir`` in words (backbones, data, rounds)."""
    found = _runs(artifacts_dir)
    if not found:
        return "no runs"
    params = found[0][0]
    what = ("tiny backbones on the synthetic CPU benchmark" if params.get("backbones") == "tiny"
            else "the paper's backbones on HumanEval + MBPP")
    return f"{what}, {params['rounds']} rounds"


def run_summary(clients: pd.DataFrame) -> pd.DataFrame:
    """One row per run (method, seed): client-averaged final metrics and peak transfer Pass@1."""
    cols = ["pass@1", "pass@5", "pass@10", "codebleu", "greedy_pass1", "base_pass1"]
    out = clients.groupby(["method", "seed"], sort=True)[cols].mean()
    out["peak_transfer_pass1"] = clients.groupby(["method", "seed"])["peak_transfer_pass1"].max()
    return out.reset_index()


def method_table(runs: pd.DataFrame, metrics: tuple[str, ...] = ("pass@1", "pass@5", "pass@10", "codebleu")) -> pd.DataFrame:
    """Mean and 95 % interval over seeds of each metric, one row per method."""
    rows = []
    for method, group in runs.groupby("method", sort=False):
        row = {"method": method, "seeds": len(group)}
        for m in metrics:
            mean, low, high = interval(group[m].to_numpy())
            row[m], row[f"{m} ci95"] = mean, (low, high)
        rows.append(row)
    return pd.DataFrame(rows)


def interval(values) -> tuple[float, float, float]:
    """Mean and 95 % interval; the interval is (nan, nan) for fewer than two values (no spread known)."""
    mean, _, low, high = mean_ci(values)
    return (mean, low, high) if len(values) > 1 else (mean, math.nan, math.nan)


def paired_difference(runs: pd.DataFrame, method: str, control: str, metric: str = "pass@1") -> dict:
    """Mean of ``method − control`` over the seeds both ran, with its paired 95 % interval."""
    a = runs[runs.method == method].set_index("seed")[metric]
    b = runs[runs.method == control].set_index("seed")[metric]
    seeds = sorted(set(a.index) & set(b.index))
    if not seeds:
        return {"method": method, "control": control, "seeds": 0}
    diff = (a.loc[seeds] - b.loc[seeds]).to_numpy()
    mean, low, high = interval(diff)
    return {"method": method, "control": control, "seeds": len(seeds), "difference": mean, "ci95_low": low,
            "ci95_high": high, "wins": int((diff > 0).sum()), "losses": int((diff < 0).sum())}


def held_vs_lacking(categories: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean base and final greedy Pass@1 on the test categories a client trains on
    (``train_share`` > 0) and on those it lacks, averaged per run, then mean and 95 % interval
    over the runs (seeds)."""
    df = categories.assign(holds=np.where(categories.train_share > 0, "held", "lacking"))
    per_run = df.groupby(["method", "seed", "holds"])[["base_pass1", "final_pass1"]].mean().reset_index()
    rows = []
    for (method, holds), g in per_run.groupby(["method", "holds"], sort=False):
        mean, low, high = interval(g.final_pass1.to_numpy())
        rows.append({"method": method, "categories": holds, "base": g.base_pass1.mean(), "final": mean,
                     "final ci95": (low, high), "seeds": len(g)})
    return pd.DataFrame(rows)


def pairing_counts(rounds: pd.DataFrame, clients: list[str]) -> np.ndarray:
    """``M[t, s]``: how often client t taught client s (over all rounds and seeds given); a teacher
    that is not a client (the server of the centralized baselines) is not counted."""
    idx = {c: i for i, c in enumerate(clients)}
    m = np.zeros((len(clients), len(clients)), dtype=int)
    students = rounds[(rounds.role == "student") & rounds.partner.isin(idx)]
    for teacher, student in zip(students.partner, students.client):
        m[idx[teacher], idx[student]] += 1
    return m


def comparison_rows(table: pd.DataFrame, runs: pd.DataFrame, setting: str) -> list[dict[str, str]]:
    """Reported-vs-obtained rows of chapter 02's comparison page (Table 4 per method, Table 5, the relative gain)."""
    from knexa_core.artifacts.table4 import REPORTED, reported_gain
    from knexa_core.fl.methods import table_name

    rows, source = [], "02_methods_compared"
    scope = f"{len(table)} of the 6 methods; {setting}"
    for _, r in table.iterrows():
        name = table_name(r["method"])
        for key in ("pass@1", "pass@5", "pass@10"):
            low, high = r[f"{key} ci95"]
            spread = f" [{100 * low:.2f}, {100 * high:.2f}]" if not math.isnan(low) else " (one seed: no interval)"
            rows.append({"quantity": f"Table 4, {name} {key.replace('pass', 'Pass')}", "reported": f"{REPORTED[name][key]:.2f}%",
                         "obtained": f"{100 * r[key]:.2f}%{spread}", "source": source,
                         "note": f"{setting}; mean and 95 % interval over {r['seeds']} seeds", "scope": scope})
    means = runs.groupby("method")["pass@1"].mean()
    if {"knexa_fl", "random_p2p"} <= set(means.index) and means["random_p2p"] > 0:
        rows.append({"quantity": "Table 4, relative Pass@1 gain of KNEXA-FL over Random-P2P",
                     "reported": f"{100 * reported_gain():.0f}%", "source": source, "note": setting,
                     "obtained": f"{100 * (means['knexa_fl'] / means['random_p2p'] - 1):.1f}%"})
    peak = runs.groupby("method")["peak_transfer_pass1"].mean()
    for method, reported in (("random_p2p", f"{REPORTED_T5['Random-P2P']:.2f}%"),
                             ("knexa_fl", f"{REPORTED_T5['KNEXA-FL']:.2f}%")):
        if method in peak.index and not np.isnan(peak[method]):
            rows.append({"quantity": f"Table 5, peak student Pass@1 on the transfer set, {table_name(method)}",
                         "reported": reported, "obtained": f"{100 * peak[method]:.2f}%", "source": source,
                         "note": f"{setting}; per run the best transfer-set Pass@1 of any student at any "
                                 "evaluated round, mean over seeds", "scope": setting})
    return rows
