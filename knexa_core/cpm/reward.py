"""Reward normalization: a running z-score with Welford's algorithm.

The raw reward of a transfer (Eq. 3: ``γ·(L_pre − L_post) − δ·KB``) has no fixed scale, so the
CPM feeds the bandit ``(r − μ) / (σ + ε)`` with the running mean ``μ`` and (population)
standard deviation ``σ`` of all rewards seen so far, including the current one, and ``ε = 1e-6``
(supplementary "Reward Normalization"). Chapter ``03_cpm_simulation``, section "Rewards".
"""
from __future__ import annotations

import math

from knexa_core.errors import ConfigError

EPS = 1e-6  # the paper's ε: keeps the first rewards (σ = 0) finite


class RewardNormalizer:
    """Running z-score of a reward stream (Welford's online mean and variance)."""

    def __init__(self, eps: float = EPS) -> None:
        self.eps = float(eps)
        self.count = 0
        self.mean = 0.0
        self._m2 = 0.0  # sum of squared deviations from the running mean

    @property
    def std(self) -> float:
        """Population standard deviation of the rewards seen so far (0 before two rewards)."""
        return math.sqrt(self._m2 / self.count) if self.count else 0.0

    def update(self, reward: float) -> None:
        """Add one raw reward to the running statistics."""
        if not math.isfinite(reward):
            raise ConfigError(f"reward {reward!r} is not finite; check the loss values it was computed from")
        self.count += 1
        delta = reward - self.mean
        self.mean += delta / self.count
        self._m2 += delta * (reward - self.mean)

    def normalize(self, reward: float) -> float:
        """``(reward − μ) / (σ + ε)`` with the current statistics."""
        return (reward - self.mean) / (self.std + self.eps)

    def __call__(self, reward: float) -> float:
        """Update the statistics with ``reward``, then return its z-score."""
        self.update(reward)
        return self.normalize(reward)
