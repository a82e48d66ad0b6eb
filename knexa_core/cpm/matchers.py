"""Matchers: one interface for every way of choosing (teacher, student) pairs in a round.

* :class:`LinUCBMatcher`: the CPM (LinUCB over pair contexts, rewards z-scored).
* :class:`RandomMatcher`: uniformly random disjoint pairs and roles (Random-P2P).
* :class:`HeteroGreedyMatcher`: supplementary Algorithm 3, greedily maximize the Jensen-Shannon
  divergence of the category histograms; the higher performer (Pass@1 feature) teaches.
* :class:`OracleMatcher`: greedy disjoint selection on the environment's true expected rewards.

A matcher's ``select(profiles, k_pairs, round)`` returns ordered pairs; ``observe(profiles,
pairs, rewards)`` gives it the raw rewards of that round. Chapter ``03_cpm_simulation``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from knexa_core.cpm.contexts import context_dim
from knexa_core.cpm.greedy import greedy_disjoint
from knexa_core.cpm.linucb import LinUCB
from knexa_core.cpm.profiles import D_P, HISTOGRAM_SLICE, PASS1_INDEX, js_divergence
from knexa_core.cpm.reward import RewardNormalizer
from knexa_core.errors import ConfigError

Pairs = list[tuple[int, int]]


class Matcher:
    """Base class: chooses disjoint ordered pairs each round and may learn from rewards."""

    name = "matcher"

    def select(self, profiles: np.ndarray, k_pairs: int, round: int) -> Pairs:
        raise NotImplementedError

    def observe(self, profiles: np.ndarray, pairs: Sequence[tuple[int, int]], rewards: Sequence[float]) -> None:
        """Receive the raw rewards of the pairs chosen this round (default: ignore them)."""


class LinUCBMatcher(Matcher):
    """The CPM: LinUCB on ``context`` features with z-scored rewards."""

    name = "linucb"

    def __init__(self, d_p: int = D_P, context: str = "concat", lam: float = 1.0, beta0: float = 1.0,
                 normalize: bool = True) -> None:
        self.bandit = LinUCB(context_dim(context, d_p), lam=lam, beta0=beta0, context=context)
        self.normalizer = RewardNormalizer() if normalize else None

    def select(self, profiles: np.ndarray, k_pairs: int, round: int) -> Pairs:
        return self.bandit.select_pairs(profiles, k_pairs, round)

    def observe(self, profiles, pairs, rewards) -> None:
        for x, r in zip(self.bandit.contexts(profiles, pairs), rewards):
            self.bandit.update(x, self.normalizer(r) if self.normalizer else float(r))


class RandomMatcher(Matcher):
    """Uniformly random disjoint pairs with random roles, from its own seeded generator."""

    name = "random"

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def select(self, profiles: np.ndarray, k_pairs: int, round: int) -> Pairs:
        perm = self.rng.permutation(len(profiles))
        n = min(k_pairs, len(perm) // 2)
        return [(int(perm[2 * i]), int(perm[2 * i + 1])) for i in range(n)]


def hetero_scores(profiles: np.ndarray) -> np.ndarray:
    """JS divergence of histograms for pairs where the teacher's Pass@1 is higher, else ``-inf``.

    Equal Pass@1: the lower index teaches. Supplementary Algorithm 3.
    """
    hist = profiles[:, HISTOGRAM_SLICE]
    js = js_divergence(hist[:, None, :], hist[None, :, :])
    perf = profiles[:, PASS1_INDEX]
    idx = np.arange(len(profiles))
    teaches = (perf[:, None] > perf[None, :]) | ((perf[:, None] == perf[None, :]) & (idx[:, None] < idx[None, :]))
    return np.where(teaches, js, -np.inf)


class HeteroGreedyMatcher(Matcher):
    """Supplementary Algorithm 3: maximize histogram divergence; the better agent teaches."""

    name = "hetero_greedy"

    def select(self, profiles: np.ndarray, k_pairs: int, round: int) -> Pairs:
        return greedy_disjoint(hetero_scores(np.asarray(profiles, float)), k_pairs)


class OracleMatcher(Matcher):
    """Greedy disjoint selection on the true expected rewards ``expected() -> N x N``."""

    name = "oracle"

    def __init__(self, expected: Callable[[], np.ndarray]) -> None:
        self.expected = expected

    def select(self, profiles: np.ndarray, k_pairs: int, round: int) -> Pairs:
        return greedy_disjoint(self.expected(), k_pairs)


METHODS = ("random", "hetero_greedy", "linucb", "oracle")


def make_matcher(name: str, seed: int, expected: Callable[[], np.ndarray] | None = None,
                 context: str = "concat", lam: float = 1.0, beta0: float = 1.0) -> Matcher:
    """Build the matcher called ``name`` (one of :data:`METHODS`)."""
    if name == "random":
        return RandomMatcher(seed)
    if name == "hetero_greedy":
        return HeteroGreedyMatcher()
    if name == "linucb":
        return LinUCBMatcher(context=context, lam=lam, beta0=beta0)
    if name == "oracle":
        if expected is None:
            raise ConfigError("the oracle matcher needs the environment's expected-reward function")
        return OracleMatcher(expected)
    raise ConfigError(f"unknown matcher {name!r}: choose one of {METHODS}")
