"""Jensen-Shannon divergence of category histograms, shared by ``data`` (split diagnostics) and
``cpm`` (the interaction context and the Hetero-Greedy matcher), which know nothing of each other.
"""
from __future__ import annotations

import numpy as np


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (base 2, in [0, 1]) between histograms along the last axis.

    Broadcasts: ``js_divergence(H[:, None], H[None, :])`` gives the N x N matrix of all pairs.
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    m = 0.5 * (p + q)
    return 0.5 * (_kl(p, m) + _kl(q, m))


def _kl(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0) / np.where(m > 0, m, 1.0)), 0.0)
    return np.clip(terms.sum(axis=-1), 0.0, 1.0)
