"""Dirichlet non-IID federation splits that honour the roster (chapter "Data splits").

Given categorized problems, :func:`split_federation` draws a knowledge-transfer set, a global test
set, and each client's train/val data:

1. transfer set: ``n_transfer`` problems from ``transfer_pool`` (or, if none is given, from the
   pool itself first); test set: ``n_test`` problems of the pool; both uniformly at random;
2. per client, category proportions ``q_i ~ Dir(alpha * 1_12)`` from ``rng([seed, client.seed])``;
3. the clients take turns (roster order, one problem per turn until each quota is filled): a
   client draws a category from ``q_i`` renormalized over the categories that still have
   problems, then a problem of that category uniformly; taking turns means no client is left
   only the leftovers of the others;
4. each client's problems are shuffled and cut into ``train_samples`` / ``val_samples``.

``alpha = math.inf`` is the i.i.d. reference: categories are drawn in proportion to what is left,
i.e. problems uniformly. Every random source derives from ``seed`` and the client seeds, so the
same (seed, alpha, roster, problems) gives the same split. Problems of the pool that no client
draws (when the roster asks for fewer than the pool holds) are returned as ``unassigned``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from knexa_core.divergence import js_divergence as _js_rows
from knexa_core.data.categories import CATEGORIES, category_histogram
from knexa_core.data.roster import Client
from knexa_core.data.schema import Problem
from knexa_core.errors import DataError

TEST_STREAM, TRANSFER_STREAM = 0, 1  # sub-seeds of the run seed for the two pool-level draws


@dataclass(frozen=True)
class ClientSplit:
    """One client's private data."""

    client_id: str
    train: tuple[Problem, ...]
    val: tuple[Problem, ...]


@dataclass(frozen=True)
class FederationSplit:
    """All parts of a federation split; every problem appears in at most one part."""

    clients: tuple[ClientSplit, ...]
    global_test: tuple[Problem, ...]
    transfer: tuple[Problem, ...]
    unassigned: tuple[Problem, ...] = ()

    def parts(self) -> dict[str, tuple[Problem, ...]]:
        """Part name (the artifact file stem) to its problems, e.g. ``client_C0_train``."""
        named = {}
        for c in self.clients:
            named[f"client_{c.client_id}_train"] = c.train
            named[f"client_{c.client_id}_val"] = c.val
        return named | {"global_test": self.global_test, "transfer_set": self.transfer}

    def client_histograms(self) -> np.ndarray:
        """Row i: the 12-bin category histogram of client i's train + val problems."""
        return np.array([category_histogram(c.train + c.val) for c in self.clients])


def natural_key(task_id: str) -> tuple[str, int, str]:
    """Sort key putting ``"MBPP/9"`` before ``"MBPP/10"``."""
    m = re.fullmatch(r"(.*?)(\d+)", task_id)
    return (m.group(1), int(m.group(2)), "") if m else (task_id, -1, task_id)


def sort_problems(problems: Sequence[Problem]) -> tuple[Problem, ...]:
    return tuple(sorted(problems, key=lambda p: natural_key(p.task_id)))


def check_capacity(n_pool: int, n_transfer_pool: int | None, clients: Sequence[Client],
                   n_test: int, n_transfer: int) -> None:
    """Raise a DataError naming required vs available counts per part if the pool is too small.

    ``n_transfer_pool=None`` means the transfer set comes out of the pool first.
    """
    left = n_pool
    transfer_avail = left if n_transfer_pool is None else n_transfer_pool
    if n_transfer_pool is None:
        left -= min(n_transfer, left)
    parts = [("transfer", n_transfer, transfer_avail)]
    for name, need in (("test", n_test), ("train", sum(c.train_samples for c in clients)),
                       ("val", sum(c.val_samples for c in clients))):
        parts.append((name, need, left))
        left = max(0, left - need)
    short = [f"{name}: required {need}, available {avail}" for name, need, avail in parts if need > avail]
    if short:
        raise DataError("insufficient pool (" + "; ".join(short) + "); 'available' is what the parts "
                        "before it (transfer, test, train, val) leave: supply more problems (e.g. the "
                        "full MBPP) or smaller roster counts")


def _check_categories(problems: Sequence[Problem]) -> None:
    bad = [p.task_id for p in problems if p.category not in CATEGORIES]
    if bad:
        raise DataError(f"problems without a known category: {bad[:5]}{' ...' if len(bad) > 5 else ''}; "
                        "classify them first (knexa_core.data.categories.classify)")


def draw(problems: Sequence[Problem], n: int, rng: np.random.Generator) -> tuple[tuple, tuple]:
    """``n`` problems uniformly without replacement, and the rest (both in input order)."""
    chosen = set(rng.permutation(len(problems))[:n].tolist())
    picked = tuple(p for i, p in enumerate(problems) if i in chosen)
    return picked, tuple(p for i, p in enumerate(problems) if i not in chosen)


def _category_weights(q: np.ndarray | None, remaining: list[list[Problem]]) -> np.ndarray:
    """Draw weights over categories: q_i masked to non-empty categories (i.i.d.: the counts)."""
    counts = np.array([len(r) for r in remaining], dtype=float)
    if q is None:
        return counts / counts.sum()
    w = q * (counts > 0)
    if w.sum() <= 0:  # q_i underflowed to 0 on every non-empty category (tiny alpha): uniform
        w = (counts > 0).astype(float)
    return w / w.sum()


def allocate(problems: Sequence[Problem], clients: Sequence[Client], alpha: float,
             seed: int) -> tuple[dict[str, tuple[Problem, ...]], tuple[Problem, ...]]:
    """Give each client ``quota`` problems by Dirichlet(alpha) category draws (module docstring).

    Returns
    -------
    (dict, tuple)
        Client id to its problems in draw order, and the problems left over.
    """
    if not (alpha > 0):
        raise DataError(f"alpha must be > 0 (inf for i.i.d.), got {alpha!r}")
    if sum(c.quota for c in clients) > len(problems):
        raise DataError(f"clients need {sum(c.quota for c in clients)} problems, only {len(problems)} given")
    remaining = [[p for p in sort_problems(problems) if p.category == cat] for cat in CATEGORIES]
    rngs = {c.id: np.random.default_rng([seed, c.seed]) for c in clients}
    qs = {c.id: _draw_mix(rngs[c.id], alpha) for c in clients}
    taken: dict[str, list[Problem]] = {c.id: [] for c in clients}
    while any(len(taken[c.id]) < c.quota for c in clients):
        for c in clients:
            if len(taken[c.id]) < c.quota:
                rng = rngs[c.id]
                cat = int(rng.choice(len(CATEGORIES), p=_category_weights(qs[c.id], remaining)))
                taken[c.id].append(remaining[cat].pop(int(rng.integers(len(remaining[cat])))))
    leftover = sort_problems([p for r in remaining for p in r])
    return {cid: tuple(ps) for cid, ps in taken.items()}, leftover


def _draw_mix(rng: np.random.Generator, alpha: float) -> np.ndarray | None:
    """A client's category proportions ``q_i ~ Dir(alpha·1₁₂)`` (``None`` for i.i.d.)."""
    return None if math.isinf(alpha) else rng.dirichlet(np.full(len(CATEGORIES), alpha))


def drawn_mixes(clients: Sequence[Client], alpha: float, seed: int) -> np.ndarray:
    """Row i: the mix ``q_i`` client i draws in :func:`allocate` (the same random stream).

    The realized histogram differs from it: categories run out and clients take turns.
    """
    if math.isinf(alpha):
        raise DataError("an i.i.d. split (alpha = inf) draws no category mix")
    return np.array([_draw_mix(np.random.default_rng([seed, c.seed]), alpha) for c in clients])


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Total-variation distance ``½ Σ_k |p_k − q_k|`` between histograms (last axis)."""
    return 0.5 * np.abs(np.asarray(p, float) - np.asarray(q, float)).sum(axis=-1)


def split_train_val(problems: Sequence[Problem], client: Client, seed: int) -> ClientSplit:
    """Shuffle a client's problems (seeded by run and client seed) and cut train / val."""
    rng = np.random.default_rng([seed, client.seed, 1])
    order = rng.permutation(len(problems))
    shuffled = [problems[i] for i in order]
    return ClientSplit(client.id, sort_problems(shuffled[: client.train_samples]),
                       sort_problems(shuffled[client.train_samples:]))


def split_federation(pool: Sequence[Problem], clients: Sequence[Client], *, n_test: int, n_transfer: int,
                     alpha: float, seed: int,
                     transfer_pool: Sequence[Problem] | None = None) -> FederationSplit:
    """Draw transfer, test and per-client train/val sets (see the module docstring).

    Parameters
    ----------
    pool : categorized problems for test and client data (any source, e.g. the synthetic benchmark).
    clients : the roster; quotas are honoured exactly.
    n_test, n_transfer : sizes of the global test and transfer sets.
    alpha : Dirichlet concentration (small = skewed); ``math.inf`` for i.i.d.
    seed : run seed.
    transfer_pool : where the transfer set comes from; None: from ``pool`` (removed from it first).

    Raises
    ------
    DataError
        If a part cannot be filled (required vs available per part) or a category is missing.
    """
    pool = sort_problems(pool)
    extra = None if transfer_pool is None else sort_problems(transfer_pool)
    check_capacity(len(pool), None if extra is None else len(extra), clients, n_test, n_transfer)
    _check_categories(pool)
    overlap = {p.task_id for p in pool} & {p.task_id for p in extra or ()}
    if overlap:
        raise DataError(f"transfer pool overlaps the study pool: {sorted(overlap)[:5]}")
    seeds = np.random.SeedSequence(seed).spawn(2)
    transfer_rng, test_rng = (np.random.default_rng(seeds[i]) for i in (TRANSFER_STREAM, TEST_STREAM))
    transfer, rest = draw(pool if extra is None else extra, n_transfer, transfer_rng)
    if extra is not None:
        rest = pool
    test, train_pool = draw(rest, n_test, test_rng)
    taken, leftover = allocate(train_pool, clients, alpha, seed)
    splits = tuple(split_train_val(taken[c.id], c, seed) for c in clients)
    return FederationSplit(splits, sort_problems(test), sort_problems(transfer), leftover)


def argmax_dirichlet_assign(problems: Sequence[Problem], clients: Sequence[Client], alpha: float,
                            seed: int) -> tuple[tuple[Problem, ...], ...]:
    """The assignment the paper's release uses, for comparison (DESIGN.md, "What the release does").

    Each problem draws its own ``Dir(alpha * 1_K)`` over the K clients and goes to the argmax
    client. Every problem's draw is independent and identically distributed, so this is i.i.d.
    assignment whatever alpha is, and it ignores the roster's counts.
    """
    rng = np.random.default_rng(seed)
    owner = rng.dirichlet(np.full(len(clients), alpha), size=len(problems)).argmax(axis=1)
    ordered = sort_problems(problems)
    return tuple(tuple(p for p, o in zip(ordered, owner) if o == k) for k in range(len(clients)))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits (0 = identical, 1 = disjoint support) of two count or
    frequency histograms (normalized here); the CPM's vectorized form does the arithmetic."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    if p.sum() <= 0 or q.sum() <= 0:
        raise DataError("JS divergence needs two non-empty histograms (a client without problems?)")
    return float(_js_rows(p / p.sum(), q / q.sum()))


def pairwise_js(histograms: np.ndarray) -> np.ndarray:
    """Symmetric matrix of JS divergences between the rows of ``histograms``."""
    h = np.asarray(histograms, float)
    if (h.sum(axis=1) <= 0).any():
        empty = np.flatnonzero(h.sum(axis=1) <= 0).tolist()
        raise DataError(f"JS divergence needs non-empty histograms; rows {empty} are empty (clients without problems?)")
    h = h / h.sum(axis=1, keepdims=True)
    out = _js_rows(h[:, None, :], h[None, :, :])
    np.fill_diagonal(out, 0.0)
    return out


def mean_pairwise_js(histograms: np.ndarray) -> float:
    """Mean JS divergence over the distinct pairs of rows."""
    matrix = pairwise_js(histograms)
    upper = matrix[np.triu_indices(len(histograms), k=1)]
    return float(upper.mean()) if upper.size else 0.0
