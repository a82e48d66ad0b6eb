"""Greedy disjoint selection of ordered pairs: the matching step of Algorithm 1.

Rule (supplementary Algorithm 1): take ordered pairs ``(teacher, student)`` by descending score,
skipping any pair that involves an agent already chosen, until ``k_pairs`` pairs are chosen or no
candidate is left. Ties are broken by ascending ``(teacher, student)``. Pairs whose score is
``-inf`` (and self-pairs) are not candidates.

The straightforward implementation sorts all ``N(N−1)`` pairs and scans them in Python, which
costs ~0.2 s at N = 1024. Here every teacher row keeps its candidates sorted (``-score``, student)
and a pointer to its best still-available student (its *head*). Each step picks the best head
(``argmax`` over the N heads: the first maximum is the smallest teacher, and a row's head is its
smallest student among equal scores, so ties follow the rule), then advances, in one vectorized
step, every row whose head was just taken. Taken students are periodically compacted out of the
lists so pointers never wade through them. Cost: one ``O(N)`` vectorized step per pick, exact
greedy result. Very large federations use truncated lists refilled on demand
(:func:`greedy_from_lists` with ``refill``). Chapter ``03_cpm_simulation``, section
"Greedy disjoint matching".
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from knexa_core.errors import ConfigError

Refill = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def sorted_rows(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row order by (descending score, ascending column) and the sorted values."""
    order = np.argsort(-scores, axis=1)  # fast unstable sort; rows holding ties are redone below
    values = np.take_along_axis(scores, order, axis=1)
    tied = np.flatnonzero(((values[:, 1:] == values[:, :-1]) & np.isfinite(values[:, 1:])).any(axis=1))
    if tied.size:
        order[tied] = np.argsort(-scores[tied], axis=1, kind="stable")
        values[tied] = np.take_along_axis(scores[tied], order[tied], axis=1)
    return order, values


def greedy_disjoint(scores: np.ndarray, k_pairs: int) -> list[tuple[int, int]]:
    """Exact greedy disjoint selection on a full ``N x N`` score matrix (row = teacher).

    Returns
    -------
    list of ``(teacher, student)`` in selection order (descending score).
    """
    scores = np.array(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise ConfigError(f"scores must be a square N x N matrix, got shape {scores.shape}")
    if np.isnan(scores).any():
        raise ConfigError("scores contain NaN; check the profiles and the bandit state for non-finite values")
    np.fill_diagonal(scores, -np.inf)
    order, values = sorted_rows(scores)
    return greedy_from_lists(order, values, k_pairs)


def greedy_from_lists(cand: np.ndarray, vals: np.ndarray, k_pairs: int,
                      refill: Optional[Refill] = None) -> list[tuple[int, int]]:
    """Greedy disjoint selection from per-teacher candidate lists sorted by (−score, student).

    Parameters
    ----------
    cand, vals : ``(N, m)`` student indices and scores of each teacher row's candidates.
    k_pairs : maximum number of pairs.
    refill : called as ``refill(rows, alive)`` when rows run out of candidates; returns new
        sorted lists for those rows over the alive students. Without it a row that runs out
        simply has no candidate left (the top-k pre-filter).
    """
    n, m = cand.shape
    full = m == n and refill is None  # every row lists every agent: dead ones can be compacted away
    if refill is not None:
        cand, vals = cand.copy(), vals.copy()  # refills write into the lists
    alive = np.ones(n, dtype=bool)
    ptr = np.zeros(n, dtype=np.int64)
    head_s, head_v = cand[:, 0].copy(), vals[:, 0].copy()
    picks: list[tuple[int, int]] = []
    dead_since = 0
    while len(picks) < k_pairs:
        if full and dead_since > cand.shape[1] // 2:
            cand, vals, ptr, head_s, head_v = _compact(cand, vals, alive)
            dead_since = 0
        _refresh(cand, vals, ptr, head_s, head_v, alive, refill)
        t = int(np.argmax(head_v))  # first maximum: smallest teacher among equal scores
        if head_v[t] == -np.inf:
            break
        s = int(head_s[t])
        picks.append((t, s))
        alive[t] = alive[s] = False
        head_v[t] = head_v[s] = -np.inf
        dead_since += 2
    return picks


def _refresh(cand, vals, ptr, head_s, head_v, alive, refill) -> None:
    """Advance every live row whose head student is taken to its next available candidate.

    With ``refill``, a row that runs out of its list, or reaches the ``-inf`` padding of a short
    list, gets a fresh list over the alive students; a row whose fresh list is empty is done.
    """
    m = cand.shape[1]
    rows = np.flatnonzero(alive & ~alive[head_s] & (head_v > -np.inf))
    while rows.size:
        ptr[rows] += 1
        over = ptr[rows] >= m
        if refill is None:
            head_v[rows[over]] = -np.inf
            rows = rows[~over]
        else:
            out = rows[over | (vals[rows, np.minimum(ptr[rows], m - 1)] == -np.inf)]
            if out.size:
                cand[out], vals[out] = refill(out, alive)
                ptr[out] = 0
        head_s[rows], head_v[rows] = cand[rows, ptr[rows]], vals[rows, ptr[rows]]
        rows = rows[~alive[head_s[rows]] & (head_v[rows] > -np.inf)]


def _compact(cand, vals, alive):
    """Drop taken students from full lists (each live row keeps the live agents, in order)."""
    keep = alive[cand]
    keep[~alive] = False
    live = np.flatnonzero(alive)
    width = max(len(live), 1)
    new_c = np.zeros((len(alive), width), dtype=cand.dtype)
    new_v = np.full((len(alive), width), -np.inf)
    if live.size:
        new_c[live] = cand[keep].reshape(len(live), width)
        new_v[live] = vals[keep].reshape(len(live), width)
    head_v = new_v[:, 0].copy()
    return new_c, new_v, np.zeros(len(alive), dtype=np.int64), new_c[:, 0].copy(), head_v


def top_lists(scores: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` best candidates of each row, sorted by (−score, column); ``-inf`` pads short rows."""
    m = min(m, scores.shape[1])
    if m < scores.shape[1]:
        part = np.argpartition(-scores, m - 1, axis=1)[:, :m]
        cut = np.take_along_axis(scores, part, axis=1).min(axis=1)
        # argpartition picks arbitrarily among scores equal to the cut-off value; where such ties
        # straddle the cut, redo the row with a stable sort so the smallest columns win
        tied = np.flatnonzero((scores >= cut[:, None]).sum(axis=1) > m)
        if tied.size:
            part[tied] = np.argsort(-scores[tied], axis=1, kind="stable")[:, :m]
    else:
        part = np.broadcast_to(np.arange(scores.shape[1]), scores.shape).copy()
    pv = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -pv), axis=1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(pv, order, axis=1)
