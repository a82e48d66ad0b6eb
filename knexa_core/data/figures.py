"""Figures and the α sweep of the data chapter (chapter "Data splits").

Plotting helpers only draw what they are given; :func:`alpha_sweep` computes the heterogeneity
numbers the sweep figure shows, using :mod:`knexa_core.data.splits`.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from knexa_core.data.categories import category_histogram
from knexa_core.data.roster import Client
from knexa_core.data.schema import Problem
from knexa_core.data.splits import argmax_dirichlet_assign, mean_pairwise_js, split_federation
from knexa_core.io import save_png


def alpha_label(alpha: float) -> str:
    return "i.i.d." if math.isinf(alpha) else f"α = {alpha:g}"


def alpha_sweep(pool: Sequence[Problem], clients: Sequence[Client], alphas: Sequence[float], seeds: Sequence[int],
                *, n_test: int, n_transfer: int, transfer_pool: Sequence[Problem] | None = None) -> dict[str, list]:
    """Mean pairwise JS divergence between clients for each alpha (one value per seed).

    Returns
    -------
    dict
        ``alpha label -> [mean pairwise JS for each seed]``, plus the release-style assignment
        (per-problem Dirichlet draw, argmax client) at the first alpha for comparison, applied to
        the same problems the clients hold (so all settings compare equal sample sizes).
    """
    def split(alpha: float, seed: int):
        return split_federation(pool, clients, n_test=n_test, n_transfer=n_transfer, alpha=alpha,
                                seed=seed, transfer_pool=transfer_pool)

    out: dict[str, list] = {alpha_label(a): [mean_pairwise_js(split(a, s).client_histograms()) for s in seeds]
                            for a in alphas}
    release = []
    for s in seeds:
        held = [p for c in split(math.inf, s).clients for p in c.train + c.val]
        groups = argmax_dirichlet_assign(held, clients, alphas[0], s)
        release.append(mean_pairwise_js(np.array([category_histogram(g) for g in groups if g])))
    out[f"release-style argmax, {alpha_label(alphas[0])}"] = release
    return out


def plot_matrix(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], title: str,
                path: str | Path, cmap: str = "viridis", vmax: float | None = None) -> plt.Figure:
    """A labelled heatmap with each cell's value written in it, saved as PNG to ``path``."""
    fig, ax = plt.subplots(figsize=(max(4.0, 0.75 * len(cols) + 1.5), 0.5 * len(rows) + 1.8))
    im = ax.imshow(matrix, cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    top = vmax if vmax is not None else float(np.max(matrix)) or 1.0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.6 * top else "black")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    return _save(fig, path)


def plot_sweep(sweep: dict[str, list], path: str | Path) -> plt.Figure:
    """Bar chart of the mean pairwise JS per setting (mean over seeds, min-max as error bars)."""
    labels = list(sweep)
    means = np.array([np.mean(sweep[k]) for k in labels])
    lo = means - np.array([np.min(sweep[k]) for k in labels])
    hi = np.array([np.max(sweep[k]) for k in labels]) - means
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(range(len(labels)), means, yerr=[lo, hi], capsize=4,
           color=["tab:blue"] * (len(labels) - 1) + ["tab:gray"])
    ax.set_xticks(range(len(labels)), labels, rotation=15, ha="right")
    ax.set_ylabel("mean pairwise JS (bits)")
    ax.set_ylim(0, 1)
    ax.set_title("Client heterogeneity vs Dirichlet α")
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: plt.Figure, path: str | Path) -> plt.Figure:
    """Save ``fig`` as PNG (the inline display is left to the notebook)."""
    save_png(fig, Path(path).with_suffix(".png"), dpi=120)
    return fig
