"""The grouped bar chart of chapter ``04_recompute_artifacts``: reported vs recomputed Table 4.

One panel per metric (Pass@1, Pass@5, Pass@10 in %, CodeBLEU), one pair of bars per method; a
method without artifacts keeps its reported bar and is marked "missing".
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from knexa_core.artifacts import layout
from knexa_core.artifacts.table4 import COLUMNS, REPORTED, Table4, display_value
from knexa_core.io import save_png

BAR_WIDTH = 0.38  # two bars per method fill most of the slot


def plot_reported_vs_recomputed(table: Table4) -> Figure:
    """Draw the chart (2 × 2 panels) and return the figure (not registered with pyplot)."""
    fig = Figure(figsize=(9, 6.5), layout="constrained")
    axes = fig.subplots(2, 2)
    x = np.arange(len(layout.METHODS))
    for ax, (label, key) in zip(axes.flat, COLUMNS):
        reported = [REPORTED[m][key] for m in layout.METHODS]
        got = [display_value(table.chosen[m], key) if m in table.chosen else np.nan for m in layout.METHODS]
        ax.bar(x - BAR_WIDTH / 2, reported, BAR_WIDTH, label="reported (paper)", color="#9e9e9e")
        ax.bar(x + BAR_WIDTH / 2, got, BAR_WIDTH, label="recomputed (artifacts)", color="#1f77b4")
        for i, value in enumerate(got):
            if np.isnan(value):
                ax.text(x[i] + BAR_WIDTH / 2, 0, "missing", rotation=90, ha="center", va="bottom", fontsize=8)
        ax.set_title(label if key == "codebleu" else f"{label} (%)")
        ax.set_xticks(x, layout.METHODS, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"Table 4: reported vs recomputed ({len(table.chosen)} of {len(layout.METHODS)} methods found)")
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` as PNG (see :func:`knexa_core.io.save_png`)."""
    return save_png(fig, path)
