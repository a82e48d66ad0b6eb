"""A second synthetic environment: the ground-truth reward described in the authors' release.

The release's validation study (``simulations/linucb_cpm_validation/`` at commit 5ac3127)
describes a ground-truth pair reward that weights *data heterogeneity* (the JS divergence of the
two clients' data) 0.5, *performance complementarity* 0.2, *trust compatibility* 0.2 and
*communication efficiency* 0.1, turns it into an expected improvement, and rewards
``γ·improvement − δ·KB`` with γ = 10, δ = 1e-5, Gaussian noise σ = 0.02, clipped to [0, 1].
This module implements that description (not the release's code) in our runner's interface:

* base score ``b_tu = 0.5·JS(h_t, h_u) + 0.2·max(0, p_t − p_u) + 0.2·min(τ_t, τ_u) + 0.1·min(e_t, e_u)``
  with Pass@1 ``p``, trust ``τ`` and link efficiency ``e`` per client;
* expected improvement of the student ``Δ_tu = RATE·b_tu·(1 − p_u)`` (diminishing returns), which
  is added to its Pass@1;
* observed reward ``clip(γ·Δ_tu − δ·KB_t + N(0, σ²), 0, 1)``, with ``KB_t`` the size of the
  teacher's knowledge package; the oracle ranks pairs by the noise-free ``clip(γ·Δ − δ·KB, 0, 1)``.

The assumption it encodes is the opposite of :mod:`knexa_core.sim.federation`'s: here diversity
is always rewarded and nothing is forgotten, there a divergent but incompatible teacher hurts.
Chapter ``03_cpm_simulation``, section "The release's environment".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from knexa_core.cpm.profiles import N_CATEGORIES
from knexa_core.divergence import js_divergence
from knexa_core.errors import ConfigError
from knexa_core.sim.federation import HETEROGENEITY, N_FAMILIES_USED, Dynamics, FederationEnv

WEIGHTS = {"data_heterogeneity": 0.5, "performance_complementarity": 0.2,
           "trust_compatibility": 0.2, "communication_efficiency": 0.1}  # as described in the release
GAMMA = 10.0          # weight of the performance improvement (release: γ = 10)
DELTA = 1e-5          # cost per KB of the knowledge package (release: δ = 1e-5)
RELEASE_NOISE = 0.02  # reward noise (release: σ = 0.02)
RATE = 0.02           # our choice: share of the remaining headroom a perfect pair closes per transfer
START_PASS1 = (0.1, 0.4)   # our choice: initial Pass@1 range
PACKAGE_KB = (200.0, 2000.0)  # our choice: range of knowledge-package sizes (KB)


def base_scores(hist: np.ndarray, pass1: np.ndarray, trust: np.ndarray, efficiency: np.ndarray) -> np.ndarray:
    """The weighted component score ``b_tu`` for every ordered pair (row = teacher)."""
    js = js_divergence(hist[:, None, :], hist[None, :, :])
    complement = np.maximum(pass1[:, None] - pass1[None, :], 0.0)
    return (WEIGHTS["data_heterogeneity"] * js + WEIGHTS["performance_complementarity"] * complement
            + WEIGHTS["trust_compatibility"] * np.minimum(trust[:, None], trust[None, :])
            + WEIGHTS["communication_efficiency"] * np.minimum(efficiency[:, None], efficiency[None, :]))


@dataclass
class ReleaseEnv(FederationEnv):
    """The release's described reward in the federation's interface (profiles, step, pass1).

    ``competence`` holds each client's Pass@1 in all 12 columns, so the inherited ``pass1`` and
    ``profiles`` apply unchanged; ``compat`` is unused.
    """

    trust: np.ndarray | None = None
    efficiency: np.ndarray | None = None
    package_kb: np.ndarray | None = None

    def improvements(self) -> np.ndarray:
        """Expected Pass@1 improvement ``Δ_tu`` of the student for every ordered pair."""
        p = self.pass1()
        return RATE * base_scores(self.histograms, p, self.trust, self.efficiency) * (1.0 - p)[None, :]

    def expected_rewards(self) -> np.ndarray:
        """Noise-free reward ``clip(γ·Δ − δ·KB_teacher, 0, 1)`` of every ordered pair."""
        return np.clip(GAMMA * self.improvements() - DELTA * self.package_kb[:, None], 0.0, 1.0)

    def step(self, pairs: list[tuple[int, int]]) -> np.ndarray:
        """Apply one round of transfers; return the observed (noisy, clipped) rewards."""
        idx = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if len(np.unique(idx)) != idx.size:
            raise ConfigError(f"pairs {pairs} are not disjoint: an agent appears twice in one round")
        gain = self.improvements()[idx[:, 0], idx[:, 1]]
        noise = self.dynamics.noise * self.rng.standard_normal(len(idx))
        observed = np.clip(GAMMA * gain - DELTA * self.package_kb[idx[:, 0]] + noise, 0.0, 1.0)
        self.competence[idx[:, 1]] = np.minimum(self.competence[idx[:, 1]] + gain[:, None], 1.0)
        self._record(idx, observed)
        return observed


def make_release_env(n_clients: int, heterogeneity: str, seed: int) -> ReleaseEnv:
    """A fresh release-style environment from ``seed`` (identical for identical arguments)."""
    if heterogeneity not in HETEROGENEITY or n_clients < 2:
        raise ConfigError(f"need a heterogeneity in {list(HETEROGENEITY)} and at least 2 clients; "
                          f"got {heterogeneity!r}, {n_clients}")
    rng = np.random.default_rng([seed, 7])
    families = rng.integers(0, N_FAMILIES_USED, size=n_clients)
    hist = rng.dirichlet(np.full(N_CATEGORIES, HETEROGENEITY[heterogeneity]), size=n_clients)
    hist = np.maximum(hist, 1e-12)
    hist /= hist.sum(axis=1, keepdims=True)
    pass1 = rng.uniform(*START_PASS1, size=n_clients)
    trust, efficiency = rng.uniform(0.5, 1.0, size=n_clients), rng.uniform(0.5, 1.0, size=n_clients)
    package_kb = rng.uniform(*PACKAGE_KB, size=n_clients)
    return ReleaseEnv(families, hist, np.eye(N_FAMILIES_USED), np.repeat(pass1[:, None], N_CATEGORIES, axis=1),
                      np.random.default_rng([seed, 8]), Dynamics(noise=RELEASE_NOISE), trust=trust,
                      efficiency=efficiency, package_kb=package_kb)
