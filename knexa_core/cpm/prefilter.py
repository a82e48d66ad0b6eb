"""Top-k candidate pre-filter for very large federations (approximate matching).

Scoring all ``N(N−1)`` ordered pairs costs ``O(N² d)``; at N = 16,384 that is 268 million pairs.
The paper mentions approximate-nearest-neighbour pre-filtering; this module does it with
clustering: k-means groups the profiles into ``≈ sqrt(N)`` clusters, the bandit scores all pairs
of cluster *centroids*, each teacher scores exactly only the members of its ``probe`` best student
clusters and keeps its ``top_k`` best students, and the usual greedy disjoint selection runs on
those short lists; a teacher whose list runs out gets a new one from its best clusters that still
have available agents. Below ``EXACT_BELOW`` agents the selection is exact. :func:`exact_select` is the memory-light exact selection used to measure its quality.
Chapter ``03_cpm_simulation``, section "How fast is the CPM?".
"""
from __future__ import annotations

import numpy as np

from knexa_core.cpm.greedy import greedy_disjoint, greedy_from_lists, top_lists
from knexa_core.cpm.linucb import LinUCB

TOP_K = 256         # candidate students kept per teacher (64 was slower and no better at N = 16,384)
PROBE = 8           # student clusters scored exactly per teacher cluster
KMEANS_ITERS = 8    # Lloyd iterations; cluster quality matters little, only locality
EXACT_BELOW = 2048  # below this many agents the exact selection is cheap enough
BLOCK_ROWS = 512    # teacher rows scored at once by exact_select (memory: BLOCK_ROWS x N floats)


def kmeans(x: np.ndarray, n_clusters: int, seed: int, iters: int = KMEANS_ITERS) -> tuple[np.ndarray, np.ndarray]:
    """Plain Lloyd k-means from a seeded random choice of centres; returns (labels, centroids)."""
    rng = np.random.default_rng(seed)
    centres = x[rng.choice(len(x), size=n_clusters, replace=False)].copy()
    for _ in range(iters):
        dist = (x * x).sum(1)[:, None] - 2.0 * x @ centres.T + (centres * centres).sum(1)[None, :]
        labels = dist.argmin(axis=1)
        counts = np.bincount(labels, minlength=n_clusters)
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, x)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return labels, centres


def _cluster_refill(score, labels: np.ndarray, ranked: np.ndarray, top_k: int, probe: int):
    """A refill function: each row's ``top_k`` best alive students in its ``probe`` best alive clusters."""
    members = [np.flatnonzero(labels == c) for c in range(len(ranked))]

    def refill(rows: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cand = np.zeros((rows.size, top_k), dtype=np.int64)
        vals = np.full((rows.size, top_k), -np.inf)
        live = np.bincount(labels[alive], minlength=len(ranked)) > 0
        for c in np.unique(labels[rows]):  # loop over clusters (≈ sqrt(N)), not over pairs
            where = np.flatnonzero(labels[rows] == c)
            cols = np.concatenate([members[k] for k in ranked[c][live[ranked[c]]][:probe]])
            cols = cols[alive[cols]]
            s = score(rows[where], cols)
            s[rows[where][:, None] == cols[None, :]] = -np.inf
            k = min(top_k, cols.size)
            idx, v = top_lists(s, k)
            cand[where, :k], vals[where, :k] = cols[idx], v
        return cand, vals
    return refill


def prefilter_select(bandit: LinUCB, profiles: np.ndarray, k_pairs: int, round: int, top_k: int = TOP_K,
                     probe: int = PROBE, seed: int = 0) -> list[tuple[int, int]]:
    """Approximate greedy disjoint selection from clustered top-k candidate lists."""
    profiles = np.asarray(profiles, dtype=float)
    if len(profiles) < EXACT_BELOW:
        return greedy_disjoint(bandit.score_matrix(profiles, round), k_pairs)
    n_clusters = max(1, int(np.sqrt(len(profiles))))
    labels, centres = kmeans(profiles, n_clusters, seed)
    ranked = np.argsort(-bandit.score_block(centres, centres, round), axis=1, kind="stable")
    refill = _cluster_refill(bandit.scorer(profiles, round), labels, ranked, top_k, probe)
    alive = np.ones(len(profiles), dtype=bool)
    cand, vals = refill(np.arange(len(profiles)), alive)
    return greedy_from_lists(cand, vals, k_pairs, refill=refill)


def exact_select(bandit: LinUCB, profiles: np.ndarray, k_pairs: int, round: int, m: int = 1024) -> list[tuple[int, int]]:
    """Exact greedy selection without the ``N x N`` matrix: top-``m`` lists refilled on demand."""
    profiles = np.asarray(profiles, dtype=float)
    score = bandit.scorer(profiles, round)

    def lists(rows: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cols = np.flatnonzero(alive)  # only students still available are scored
        out_c, out_v = [], []
        for lo in range(0, rows.size, BLOCK_ROWS):
            r = rows[lo:lo + BLOCK_ROWS]
            s = score(r, cols)
            s[r[:, None] == cols[None, :]] = -np.inf
            c, v = top_lists(s, min(m, cols.size))
            pad = m - c.shape[1]  # fewer students than m: pad with non-candidates
            out_c.append(np.pad(cols[c], ((0, 0), (0, pad)), constant_values=cols[0]))
            out_v.append(np.pad(v, ((0, 0), (0, pad)), constant_values=-np.inf))
        return np.concatenate(out_c), np.concatenate(out_v)

    cand, vals = lists(np.arange(len(profiles)), np.ones(len(profiles), dtype=bool))
    return greedy_from_lists(cand, vals, k_pairs, refill=lists)
