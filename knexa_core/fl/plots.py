"""Figures of chapter ``02_federated_training`` (learning curves, categories, pairings, methods)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from knexa_core.io import save_png  # noqa: E402


def save(fig: plt.Figure, path: str | Path) -> plt.Figure:
    """Save ``fig`` as PNG (atomically) and return it, so the notebook shows it too."""
    save_png(fig, path)
    return fig


def learning_curves(rows: pd.DataFrame) -> plt.Figure:
    """Greedy test Pass@1 per client over the evaluated rounds."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    tested = rows[rows["pass@1"].astype(str) != ""]
    for client, g in tested.groupby("client", sort=True):
        ax.plot(g["round"], g["pass@1"].astype(float), marker="o", label=client)
    ax.set(xlabel="round", ylabel="test Pass@1 (greedy)", ylim=(-0.02, 1.02), title="Learning curves per client")
    ax.legend(ncol=3, fontsize=8)
    return fig


def category_heatmap(cats: pd.DataFrame) -> plt.Figure:
    """Final greedy Pass@1 per client (rows) and category (columns); dots mark categories it trains on."""
    final = cats.pivot(index="client", columns="category", values="final_pass1")
    held = cats.pivot(index="client", columns="category", values="train_share")
    fig, ax = plt.subplots(figsize=(8, 3.4))
    im = ax.imshow(final.to_numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ys, xs = np.nonzero(held.to_numpy() > 0)
    ax.scatter(xs, ys, s=14, c="white", edgecolors="black", linewidths=0.5, label="in the client's training data")
    ax.set_xticks(range(len(final.columns)), final.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(final.index)), final.index)
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 1.25), fontsize=8)
    fig.colorbar(im, ax=ax, label="final Pass@1")
    return fig


def pairing_graph(counts: np.ndarray, clients: list[str]) -> plt.Figure:
    """How often each client taught each other client (rows: teacher, columns: student)."""
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    im = ax.imshow(counts, cmap="Blues")
    for (i, j), v in np.ndenumerate(counts):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(clients)), clients)
    ax.set_yticks(range(len(clients)), clients)
    ax.set(xlabel="student", ylabel="teacher", title="Pairings over the rounds")
    fig.colorbar(im, ax=ax, label="rounds")
    return fig


def method_bars(table: pd.DataFrame, metric: str = "pass@1") -> plt.Figure:
    """Mean ``metric`` per method with its 95 % interval over seeds."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    means = table[metric].to_numpy()
    low = means - np.array([lo for lo, _ in table[f"{metric} ci95"]])
    high = np.array([hi for _, hi in table[f"{metric} ci95"]]) - means
    ax.bar(table["method"], means, yerr=[low, high], capsize=4, color="tab:blue")
    ax.set(ylabel=f"{metric} (client mean)", title=f"Final {metric}, mean and 95 % interval over seeds")
    return fig
