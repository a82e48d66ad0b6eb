"""Figures of the simulation chapter (learning/regret curves, Figure 2 panels, separability).

Each function draws from the summary tables of :mod:`knexa_core.sim.experiments`, saves a PNG
and returns its path (the notebook shows the file inline). Chapter ``03_cpm_simulation``.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from knexa_core.io import save_png  # noqa: E402

COLORS = {"random": "tab:gray", "hetero_greedy": "tab:orange", "linucb": "tab:blue", "oracle": "tab:green",
          "linucb_concat": "tab:blue", "linucb_interaction": "tab:purple"}
LABELS = {"random": "Random", "hetero_greedy": "Hetero-Greedy", "linucb": "LinUCB (CPM)", "oracle": "Oracle",
          "linucb_concat": "LinUCB, concat", "linucb_interaction": "LinUCB, interaction"}


def _save(fig: plt.Figure, path: str | Path) -> Path:
    """Save ``fig`` as PNG, close it, return the path (the notebook shows the file)."""
    save_png(fig, path)
    plt.close(fig)
    return Path(path)


def _band(ax: plt.Axes, table: pd.DataFrame, value: str) -> None:
    """One line per method with its 95% CI band, against ``round``."""
    for method, g in table.groupby("method", sort=True):
        color = COLORS.get(method)
        ax.plot(g["round"], g[value], color=color, label=LABELS.get(method, method))
        ax.fill_between(g["round"], g["ci95_low"], g["ci95_high"], color=color, alpha=0.2, linewidth=0)
    ax.set_xlabel("round")
    ax.grid(alpha=0.3)


def plot_learning(pass1: pd.DataFrame, regret: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Mean Pass@1 proxy and cumulative regret per round with 95% CI bands (supplementary Figure 1)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    _band(a, pass1, "mean_pass1")
    a.set_ylabel("mean Pass@1 proxy")
    _band(b, regret, "cumulative_regret")
    b.set_ylabel("cumulative regret (expected Pass@1 gain)")
    a.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def plot_figure2(summary: pd.DataFrame, gain: pd.DataFrame, timing: pd.DataFrame, path: str | Path,
                 heterogeneity: str = "high") -> Path:
    """The four panels of Figure 2: gain, Pass@1 vs N, JS of chosen pairs, CPM cost vs N."""
    fig, ax = plt.subplots(2, 2, figsize=(11, 8))
    for het, g in gain.groupby("heterogeneity", sort=True):
        yerr = [g["gain_pct"] - g["ci95_low"], g["ci95_high"] - g["gain_pct"]]
        ax[0, 0].errorbar(g["n_clients"], g["gain_pct"], yerr=yerr, marker="o", capsize=3, label=het)
    ax[0, 0].axhline(0.0, color="black", linewidth=0.8)
    ax[0, 0].set(title="(a) gain of LinUCB over Random", xlabel="clients", ylabel="relative final Pass@1 gain (%)")
    ax[0, 0].legend(title="heterogeneity", fontsize=8)
    sel = summary[summary["heterogeneity"] == heterogeneity]
    for method in ("random", "linucb", "oracle"):
        g = sel[sel["method"] == method]
        yerr = [g["final_pass1"] - g["ci95_low"], g["ci95_high"] - g["final_pass1"]]
        ax[0, 1].errorbar(g["n_clients"], g["final_pass1"], yerr=yerr, marker="o", capsize=3,
                          color=COLORS[method], label=LABELS[method])
    ax[0, 1].set(title=f"(b) final Pass@1 proxy ({heterogeneity} heterogeneity)", xlabel="clients", ylabel="Pass@1")
    ax[0, 1].legend(fontsize=8)
    js = sel.groupby("method", sort=True)["mean_js"].mean()
    ax[1, 0].bar([LABELS[m] for m in js.index], js.to_numpy(), color=[COLORS[m] for m in js.index])
    ax[1, 0].set(title=f"(c) JS divergence of chosen pairs ({heterogeneity})", ylabel="mean JS (base 2)")
    ax[1, 0].tick_params(axis="x", labelsize=8)
    _cost_panel(ax[1, 1], timing)
    for a in (ax[0, 0], ax[0, 1], ax[1, 1]):
        _clients_axis(a, sorted(gain["n_clients"].unique()))
    fig.tight_layout()
    return _save(fig, path)


def _clients_axis(ax: plt.Axes, ns) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(ns), [str(n) for n in ns])
    ax.minorticks_off()


def _cost_panel(ax: plt.Axes, timing: pd.DataFrame) -> None:
    t = timing[timing["method"] == "linucb"].groupby("n_clients", sort=True)[["select_ms_median", "rewards_per_s"]].median()
    ax.plot(t.index, t["select_ms_median"], marker="o", color="tab:blue", label="selection latency (ms)")
    ax.set(title="(d) measured CPM cost", xlabel="clients", ylabel="selection latency (ms)")
    twin = ax.twinx()
    twin.plot(t.index, t["rewards_per_s"], marker="s", color="tab:red", label="rewards processed / s")
    twin.set_ylabel("rewards processed per second")
    lines = ax.get_lines() + twin.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], fontsize=8)


def plot_separability(regret: pd.DataFrame, path: str | Path) -> Path:
    """Cumulative regret of LinUCB on ``concat`` vs ``interaction`` contexts (with Random, Oracle)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    _band(ax, regret, "cumulative_regret")
    ax.set_ylabel("cumulative regret")
    ax.set_title("separability: concat vs interaction contexts")
    ax.legend(fontsize=8)
    return _save(fig, path)
