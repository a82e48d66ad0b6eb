"""A static environment whose expected reward is linear in the ``concat`` context.

``E[r_tu] = θ*ᵀ[p_t, p_u]`` with a hidden ``θ* ~ N(0, I₆₄)`` and fixed random profiles: the
setting where LinUCB's assumptions hold exactly (like the one real bandit simulation of the
authors' release, ``knexa_fl_release/simulate_cpm.py``). It is the sanity check that LinUCB's
regret flattens while random pairing's grows linearly. Chapter ``03_cpm_simulation``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from knexa_core.cpm.linucb import LinUCB
from knexa_core.cpm.profiles import D_P, N_CATEGORIES, PERFORMANCE_FEATURES, build_profile

LINEAR_NOISE = 0.1  # observation noise; θ*ᵀx has a spread of several units, so rewards are informative


@dataclass
class LinearEnv:
    """Fixed profiles, hidden linear reward; ``pass1`` is the expected reward received as student."""

    static_profiles: np.ndarray
    theta: np.ndarray
    rng: np.random.Generator
    noise: float = LINEAR_NOISE
    received: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.received = np.zeros(len(self.static_profiles))

    @property
    def n_clients(self) -> int:
        return len(self.static_profiles)

    def profiles(self) -> np.ndarray:
        return self.static_profiles.copy()

    def expected_rewards(self) -> np.ndarray:
        p = self.static_profiles
        return (p @ self.theta[:D_P])[:, None] + (p @ self.theta[D_P:])[None, :]

    def pass1(self) -> np.ndarray:
        return self.received.copy()

    def step(self, pairs: list[tuple[int, int]]) -> np.ndarray:
        idx = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        mean = self.expected_rewards()[idx[:, 0], idx[:, 1]]
        np.add.at(self.received, idx[:, 1], mean)
        return mean + self.noise * self.rng.standard_normal(len(idx))


def make_linear_env(n_clients: int, seed: int, noise: float = LINEAR_NOISE) -> LinearEnv:
    """A fresh linear environment from ``seed`` (identical for identical seeds)."""
    rng = np.random.default_rng(seed)
    profiles = np.stack([
        build_profile(int(rng.integers(0, 8)), dict(zip(PERFORMANCE_FEATURES, rng.uniform(size=12))),
                      rng.dirichlet(np.ones(N_CATEGORIES)))
        for _ in range(n_clients)])
    theta = rng.standard_normal(2 * D_P)
    return LinearEnv(profiles, theta, np.random.default_rng([seed, 1]), noise)


def trained_bandit(n_clients: int, seed: int = 0, updates: int = 1000) -> tuple[LinUCB, LinearEnv]:
    """A ``concat`` LinUCB that has seen ``updates`` noisy rewards of random ordered pairs of a
    linear environment: the state in which the CPM's selection speed is measured (chapter 03,
    "How fast is the CPM?", and ``benchmarks/bench_cpm.py``)."""
    env, rng = make_linear_env(n_clients, seed), np.random.default_rng([seed, 2])
    bandit, profiles = LinUCB(2 * D_P), env.profiles()
    for _ in range(updates):
        i, j = rng.choice(n_clients, 2, replace=False)
        x = bandit.contexts(profiles, [(i, j)])[0]
        bandit.update(x, float(env.theta @ x + env.noise * rng.standard_normal()))
    return bandit, env
