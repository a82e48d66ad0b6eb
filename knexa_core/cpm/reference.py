"""The straightforward CPM selection: a Python loop over every ordered pair with a fresh inverse.

This is the textbook reading of Algorithm 1, kept as the reference that the vectorized
:class:`~knexa_core.cpm.linucb.LinUCB` must agree with (tests) and as the baseline of
``benchmarks/bench_cpm.py``. It is deliberately simple and slow; do not use it for real runs.
Chapter ``03_cpm_simulation``, section "How fast is the CPM?".
"""
from __future__ import annotations

import math

import numpy as np

from knexa_core.cpm.contexts import get_context


def reference_scores(A: np.ndarray, b: np.ndarray, profiles: np.ndarray, round: int, beta0: float,
                     context: str = "concat") -> dict[tuple[int, int], float]:
    """UCB score of every ordered pair, one pair at a time, with ``A⁻¹`` inverted afresh."""
    A_inv = np.linalg.inv(A)
    theta = A_inv @ b
    beta = beta0 / math.sqrt(max(1, round))
    fn = get_context(context)
    scores = {}
    for i in range(len(profiles)):
        for j in range(len(profiles)):
            if i != j:
                x = fn(profiles[i], profiles[j])
                scores[(i, j)] = float(theta @ x + beta * math.sqrt(max(float(x @ A_inv @ x), 0.0)))
    return scores


def reference_greedy(scores: dict[tuple[int, int], float], k_pairs: int) -> list[tuple[int, int]]:
    """Sort all pairs by (−score, teacher, student) and scan them, skipping used agents."""
    order = sorted((-s, t, u) for (t, u), s in scores.items() if s != -math.inf)
    used: set[int] = set()
    picks = []
    for _, t, u in order:
        if len(picks) >= k_pairs:
            break
        if t not in used and u not in used:
            used.update((t, u))
            picks.append((t, u))
    return picks


def reference_select(A: np.ndarray, b: np.ndarray, profiles: np.ndarray, k_pairs: int, round: int,
                     beta0: float, context: str = "concat") -> list[tuple[int, int]]:
    """The straightforward selection: loop scoring, then a sorted scan."""
    return reference_greedy(reference_scores(A, b, np.asarray(profiles, float), round, beta0, context), k_pairs)
