"""LinUCB over ordered pair contexts: the bandit of the Central Profiler/Matchmaker.

For an ordered pair (teacher i, student j) with context ``x_ij`` the score is
``θᵀx + β_t·sqrt(xᵀA⁻¹x)`` with ``θ = A⁻¹b`` and ``β_t = beta0 / sqrt(max(1, t))`` (the
authors' release; the paper's Algorithm 1 uses a constant ``β``, ``beta_schedule="constant"``); the pairs
are chosen by greedy disjoint selection (:mod:`knexa_core.cpm.greedy`). After the round,
``update(x, r)`` does ``A += x xᵀ``, ``b += r x`` and keeps ``A⁻¹`` by Sherman–Morrison, with a
fresh inverse every ``refresh_every`` updates so rounding errors cannot accumulate.

All ordered pairs are scored at once. For ``concat`` the block structure of
``A⁻¹ = [[M₁₁, M₁₂], [M₂₁, M₂₂]]`` gives ``xᵀA⁻¹x = p_iᵀM₁₁p_i + p_jᵀM₂₂p_j + 2 p_iᵀM₁₂p_j``:
two N-vectors and one ``N x N`` matrix product, no loop over pairs. Other contexts are scored in
blocks of teacher rows. Chapter ``03_cpm_simulation``, section "Algorithm 1".
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from knexa_core.cpm.contexts import context_dim, get_context, pair_contexts
from knexa_core.cpm.greedy import greedy_disjoint
from knexa_core.errors import ConfigError

REFRESH_EVERY = 256   # updates between fresh inverses: cheap (one d x d inverse) and keeps A⁻¹ exact
BETA_SCHEDULES = ("decay", "constant")  # β_t = beta0/sqrt(t) (release) or beta0 (paper, Algorithm 1)
BLOCK_ELEMENTS = 2**22  # context entries materialized at once by the generic (non-concat) scorer


class LinUCB:
    """Linear UCB bandit over pair contexts.

    Parameters
    ----------
    dim : context dimension (``2 d_p = 64`` for ``concat``, ``4 d_p + 1`` for ``interaction``).
    lam : ridge regularization, ``A₀ = lam·I`` (1.0 as in the paper).
    beta0 : exploration scale; ``β_t = beta0 / sqrt(max(1, round))``.
    beta_schedule : ``"decay"`` (``beta0 / sqrt(t)``, the release's) or ``"constant"`` (``beta0``,
        the paper's Algorithm 1).
    context : name of the pair context map (:mod:`knexa_core.cpm.contexts`).
    refresh_every : updates between fresh inverses of ``A``.
    """

    def __init__(self, dim: int, lam: float = 1.0, beta0: float = 1.0, context: str = "concat",
                 refresh_every: int = REFRESH_EVERY, beta_schedule: str = "decay") -> None:
        if beta_schedule not in BETA_SCHEDULES:
            raise ConfigError(f"unknown beta_schedule {beta_schedule!r}: choose one of {BETA_SCHEDULES}")
        self.beta_schedule = beta_schedule
        if dim < 1 or lam <= 0 or beta0 < 0 or refresh_every < 1:
            raise ConfigError(f"LinUCB needs dim >= 1, lam > 0, beta0 >= 0, refresh_every >= 1; got "
                              f"dim={dim}, lam={lam}, beta0={beta0}, refresh_every={refresh_every}")
        get_context(context)
        self.dim, self.lam, self.beta0, self.context = int(dim), float(lam), float(beta0), context
        self.refresh_every = int(refresh_every)
        self.A = lam * np.eye(dim)
        self.A_inv = np.eye(dim) / lam
        self.b = np.zeros(dim)
        self.n_updates = 0

    @property
    def theta(self) -> np.ndarray:
        """Current ridge estimate ``θ = A⁻¹ b``."""
        return self.A_inv @ self.b

    def beta(self, round: int) -> float:
        """Exploration weight ``β_t = beta0 / sqrt(max(1, round))`` (``beta0`` if constant)."""
        return self.beta0 if self.beta_schedule == "constant" else self.beta0 / math.sqrt(max(1, round))

    def _check(self, profiles: np.ndarray) -> np.ndarray:
        profiles = np.asarray(profiles, dtype=float)
        if profiles.ndim != 2 or context_dim(self.context, profiles.shape[1]) != self.dim:
            raise ConfigError(f"profiles of shape {profiles.shape} do not give {self.context!r} contexts of "
                              f"dimension {self.dim}; pass an N x d_p matrix with matching d_p")
        return profiles

    def score_block(self, teachers: np.ndarray, students: np.ndarray, round: int) -> np.ndarray:
        """UCB scores of every (teacher row, student row) combination, shape ``(T, S)``."""
        teachers, students = self._check(teachers), self._check(students)
        if self.context == "concat":
            both, t = np.vstack([teachers, students]), len(teachers)
            return self.scorer(both, round)(np.arange(t), np.arange(t, len(both)))
        return self._score_generic(teachers, students, self.theta, self.beta(round))

    def scorer(self, profiles: np.ndarray, round: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """A function ``(teacher indices, student indices) -> scores`` over fixed ``profiles``.

        For ``concat`` the per-agent terms are computed once, so many small blocks (the top-k
        pre-filter, refills) cost only their cross products.
        """
        profiles = self._check(profiles)
        if self.context != "concat":
            return lambda rows, cols: self.score_block(profiles[rows], profiles[cols], round)
        d, theta, beta, a_inv = profiles.shape[1], self.theta, self.beta(round), self.A_inv
        u, v = profiles @ theta[:d], profiles @ theta[d:]
        q1 = ((profiles @ a_inv[:d, :d]) * profiles).sum(axis=1)
        q2 = ((profiles @ a_inv[d:, d:]) * profiles).sum(axis=1)
        cross = profiles @ (2.0 * a_inv[:d, d:])

        def score(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
            out = cross[rows] @ profiles[cols].T  # cross term; then in place (no N x N temporaries)
            out += q1[rows][:, None]
            out += q2[cols][None, :]
            np.sqrt(np.maximum(out, 0.0, out=out), out=out)
            out *= beta
            out += u[rows][:, None]
            out += v[cols][None, :]
            return out
        return score

    def _score_generic(self, teachers, students, theta, beta) -> np.ndarray:
        fn, out = get_context(self.context), np.empty((len(teachers), len(students)))
        step = max(1, BLOCK_ELEMENTS // max(1, len(students) * self.dim))
        for lo in range(0, len(teachers), step):  # loop over blocks of teacher rows, not over pairs
            x = fn(teachers[lo:lo + step, None, :], students[None, :, :])
            var = np.einsum("tsd,tsd->ts", x @ self.A_inv, x)
            out[lo:lo + step] = x @ theta + beta * np.sqrt(np.maximum(var, 0.0))
        return out

    def score_matrix(self, profiles: np.ndarray, round: int) -> np.ndarray:
        """Scores of all ordered pairs, ``N x N`` (row = teacher); self-pairs are ``-inf``."""
        everyone = np.arange(len(profiles))
        scores = self.scorer(profiles, round)(everyone, everyone)
        np.fill_diagonal(scores, -np.inf)
        return scores

    def select_pairs(self, profiles: np.ndarray, k_pairs: int, round: int) -> list[tuple[int, int]]:
        """Greedy disjoint ``(teacher, student)`` pairs by descending UCB score (Algorithm 1)."""
        return greedy_disjoint(self.score_matrix(profiles, round), k_pairs)

    def contexts(self, profiles: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
        """Context vectors of ``pairs`` (what :meth:`update` expects)."""
        return pair_contexts(self._check(profiles), pairs, self.context)

    def update(self, context: np.ndarray, reward: float) -> None:
        """Add one observation: ``A += x xᵀ``, ``b += r x``; ``A⁻¹`` by Sherman–Morrison."""
        x = np.asarray(context, dtype=float).reshape(-1)
        if x.shape != (self.dim,) or not np.all(np.isfinite(x)) or not math.isfinite(reward):
            raise ConfigError(f"update needs a finite context of dimension {self.dim} and a finite reward; "
                              f"got shape {x.shape}, reward {reward!r}")
        self.A += np.outer(x, x)
        self.b += float(reward) * x
        self.n_updates += 1
        if self.n_updates % self.refresh_every == 0:
            self.A_inv = np.linalg.inv(self.A)
        else:
            u = self.A_inv @ x
            self.A_inv -= np.outer(u, u) / (1.0 + x @ u)
        self.A_inv = 0.5 * (self.A_inv + self.A_inv.T)
