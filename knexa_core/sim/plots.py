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
          "random_oriented": "tab:brown", "family_gap": "tab:pink",
          "linucb_concat": "tab:blue", "linucb_interaction": "tab:purple"}
LABELS = {"random": "Random", "hetero_greedy": "Hetero-Greedy", "linucb": "LinUCB (CPM)", "oracle": "Oracle",
          "random_oriented": "Random, better teaches", "family_gap": "Same family, largest gap",
          "linucb_concat": "LinUCB, concat", "linucb_interaction": "LinUCB, interaction"}
HET_ORDER = ("low", "medium", "high")


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


def plot_learning(pass1: pd.DataFrame, regret: pd.DataFrame, path: str | Path, title: str = "",
                  difference: pd.DataFrame | None = None, share: pd.DataFrame | None = None) -> Path:
    """Mean Pass@1 proxy, the cumulative policy regret and (optionally) the paired difference to
    Random and the share of the oracle's gain, per round, with 95% CI bands (supplementary Figure 1)."""
    panels = [(pass1, "mean_pass1", "mean Pass@1 proxy"),
              (regret, "cumulative_regret", "policy regret: Σ (oracle's Pass@1 − method's)")]
    if difference is not None:
        panels.append((difference, "difference", "Pass@1 minus Random's (paired per seed)"))
    if share is not None:
        panels.append((share, "gain_share", "share of the oracle's gain since round 0"))
    fig, axes = plt.subplots(1 if len(panels) == 2 else 2, 2, figsize=(11, 4 if len(panels) == 2 else 8), squeeze=False)
    for ax, (table, value, label) in zip(axes.flat, panels):
        _band(ax, table, value)
        ax.set_ylabel(label)
        if value == "difference":
            ax.axhline(0.0, color="black", linewidth=0.8)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_figure2(summary: pd.DataFrame, gain: pd.DataFrame, timing: pd.DataFrame, path: str | Path,
                 heterogeneity: str = "high") -> Path:
    """The four panels of Figure 2: gain, Pass@1 vs N, JS of chosen pairs, CPM cost vs N."""
    fig, ax = plt.subplots(2, 2, figsize=(11, 8))
    styles = {"random": "-", "random_oriented": "--"}
    for i, het in enumerate(h for h in HET_ORDER if h in set(gain["heterogeneity"])):
        for base, style in styles.items():
            g = gain[(gain["heterogeneity"] == het) & (gain["baseline"] == base)]
            yerr = [g["gain_pct"] - g["ci95_low"], g["ci95_high"] - g["gain_pct"]]
            ax[0, 0].errorbar(g["n_clients"], g["gain_pct"], yerr=yerr, marker="o", capsize=3, linestyle=style,
                              color=f"C{i}", label=f"{het}, over {LABELS[base]}")
    ax[0, 0].axhline(0.0, color="black", linewidth=0.8)
    ax[0, 0].set(title="(a) gain of LinUCB (solid: over Random; dashed: over\nRandom, better teaches)",
                 xlabel="clients", ylabel="relative final Pass@1 gain (%)")
    ax[0, 0].legend(fontsize=7)
    sel = summary[summary["heterogeneity"] == heterogeneity]
    for method in ("random", "linucb", "oracle"):
        g = sel[sel["method"] == method]
        yerr = [g["final_pass1"] - g["ci95_low"], g["ci95_high"] - g["final_pass1"]]
        ax[0, 1].errorbar(g["n_clients"], g["final_pass1"], yerr=yerr, marker="o", capsize=3,
                          color=COLORS[method], label=LABELS[method])
    ax[0, 1].set(title=f"(b) final Pass@1 proxy ({heterogeneity} heterogeneity)", xlabel="clients", ylabel="Pass@1")
    ax[0, 1].legend(fontsize=8)
    js = sel.groupby("method", sort=True)[["mean_js", "js_ci95_low", "js_ci95_high"]].mean()
    ax[1, 0].bar([LABELS[m] for m in js.index], js["mean_js"].to_numpy(), color=[COLORS[m] for m in js.index],
                 yerr=[js["mean_js"] - js["js_ci95_low"], js["js_ci95_high"] - js["mean_js"]], capsize=3)
    ax[1, 0].set(title=f"(c) JS divergence of chosen pairs ({heterogeneity})", ylabel="mean JS (base 2)")
    ax[1, 0].tick_params(axis="x", labelsize=7, rotation=30)
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


def plot_separability(pass1: pd.DataFrame, path: str | Path) -> Path:
    """Mean Pass@1 of LinUCB on ``concat`` vs ``interaction`` contexts (with Random, Oracle)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    _band(ax, pass1, "mean_pass1")
    ax.set_ylabel("mean Pass@1 proxy")
    ax.set_title("separability: concat vs interaction contexts")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_sensitivity(sens: pd.DataFrame, path: str | Path) -> Path:
    """LinUCB's paired gain over Random and over ``random_oriented`` per sensitivity setting."""
    settings = sens.drop_duplicates("order").sort_values("order")["setting"].tolist()
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(settings) + 1.5))
    for k, (base, color) in enumerate((("random", "tab:gray"), ("random_oriented", "tab:brown"))):
        g = sens[sens["baseline"] == base].sort_values("order")
        y = [settings.index(s) + 0.15 * (1 - 2 * k) for s in g["setting"]]
        ax.errorbar(g["gain_pct"], y, xerr=[g["gain_pct"] - g["ci95_low"], g["ci95_high"] - g["gain_pct"]],
                    fmt="o", color=color, capsize=3, label=f"over {LABELS[base]}")
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(settings)), settings, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("LinUCB's relative final Pass@1 gain (%), 95% CI across seeds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
