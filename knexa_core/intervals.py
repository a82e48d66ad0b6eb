"""Means and 95 % confidence intervals over seeds (Student t, computed from the data), shared by the
simulation (``sim``) and federated training (``fl``) chapters.

The t quantile is computed here (numerical integration of the t density and bisection) because
SciPy is not a dependency of the book.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

CONFIDENCE = 0.95  # the paper's figures claim 95% intervals over 5 runs


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` (0.5 < p < 1) of Student's t distribution with ``df`` degrees of freedom."""
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def cdf(x: float) -> float:  # Simpson's rule on [0, x] of the density, plus 1/2
        grid = np.linspace(0.0, x, 2001)
        dens = np.exp(log_c - (df + 1) / 2 * np.log1p(grid * grid / df))
        w = np.ones(2001)
        w[1:-1:2], w[2:-1:2] = 4.0, 2.0
        return 0.5 + float((w * dens).sum() * (x / 2000) / 3)

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        hi *= 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return 0.5 * (lo + hi)


def mean_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float, float]:
    """``(mean, standard deviation, ci_low, ci_high)``; the interval is 0-wide for one value."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, 0.0, mean, mean
    sd = float(x.std(ddof=1))
    half = t_quantile(0.5 + confidence / 2, len(x) - 1) * sd / math.sqrt(len(x))
    return mean, sd, mean - half, mean + half
