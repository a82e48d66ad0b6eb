"""Per-group summaries with 95% confidence intervals across seeds (:mod:`knexa_core.intervals`).

Chapter ``03_cpm_simulation``, section "Learning dynamics".
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from knexa_core.intervals import CONFIDENCE, mean_ci, t_quantile  # noqa: F401  (re-exported for sim)


def summarize(df: pd.DataFrame, by: Sequence[str], value: str) -> pd.DataFrame:
    """Per group of ``by``: mean, sd, 95% CI and number of seeds of column ``value``."""
    rows = []
    for key, group in df.groupby(list(by), sort=True):
        mean, sd, low, high = mean_ci(group[value].to_numpy())
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), value: mean, "sd": sd, "ci95_low": low, "ci95_high": high,
                     "n_seeds": len(group)})
    return pd.DataFrame(rows)
