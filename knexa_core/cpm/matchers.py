"""Matchers: one interface for every way of choosing (teacher, student) pairs in a round.

* :class:`LinUCBMatcher`: the CPM (LinUCB over pair contexts, rewards z-scored).
* :class:`RandomMatcher`: uniformly random disjoint pairs and roles (Random-P2P).
* :class:`RandomOrientedMatcher`: a non-learning control, uniformly random partners but the
  higher performer (Pass@1 feature) teaches.
* :class:`FamilyGapMatcher`: a non-learning control, same-family pairs first, then by the largest
  Pass@1 gap; the higher performer teaches.
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
from knexa_core.cpm.profiles import D_P, HISTOGRAM_SLICE, N_FAMILIES, PASS1_INDEX, js_divergence
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
                 normalize: bool = True, beta_schedule: str = "decay") -> None:
        self.bandit = LinUCB(context_dim(context, d_p), lam=lam, beta0=beta0, context=context,
                             beta_schedule=beta_schedule)
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


def teaches(profiles: np.ndarray) -> np.ndarray:
    """``N x N`` booleans: row agent teaches column agent (higher Pass@1; equal: lower index)."""
    perf = np.asarray(profiles, float)[:, PASS1_INDEX]
    idx = np.arange(len(perf))
    return (perf[:, None] > perf[None, :]) | ((perf[:, None] == perf[None, :]) & (idx[:, None] < idx[None, :]))


def hetero_scores(profiles: np.ndarray) -> np.ndarray:
    """JS divergence of histograms for pairs where the teacher's Pass@1 is higher, else ``-inf``.

    Equal Pass@1: the lower index teaches. Supplementary Algorithm 3.
    """
    hist = profiles[:, HISTOGRAM_SLICE]
    js = js_divergence(hist[:, None, :], hist[None, :, :])
    return np.where(teaches(profiles), js, -np.inf)


def family_gap_scores(profiles: np.ndarray) -> np.ndarray:
    """Scores that rank same-family pairs above all cross-family pairs, then by Pass@1 gap.

    ``score = gap + (span + 1)·[same family]`` where ``gap`` is the teacher's Pass@1 minus the
    student's and ``span`` the spread of Pass@1, so every same-family pair outranks every other;
    pairs in which the row agent would not teach are ``-inf``.
    """
    profiles = np.asarray(profiles, float)
    perf, family = profiles[:, PASS1_INDEX], profiles[:, :N_FAMILIES].argmax(axis=1)
    gap = perf[:, None] - perf[None, :]
    same = family[:, None] == family[None, :]
    return np.where(teaches(profiles), gap + (np.ptp(perf) + 1.0) * same, -np.inf)


class RandomOrientedMatcher(RandomMatcher):
    """Control: uniformly random partners (as :class:`RandomMatcher`), the higher performer teaches.

    It learns nothing; it isolates how much of a gain over Random comes from orienting transfers
    from the better agent to the worse one.
    """

    name = "random_oriented"

    def select(self, profiles: np.ndarray, k_pairs: int, round: int) -> Pairs:
        order = teaches(profiles)
        return [(a, b) if order[a, b] else (b, a) for a, b in super().select(profiles, k_pairs, round)]


class FamilyGapMatcher(Matcher):
    """Control: same-family pairs first, largest Pass@1 gap first; the higher performer teaches."""

    name = "family_gap"

    def select(self, profiles: np.ndarray, k_pairs: int, round: int) -> Pairs:
        return greedy_disjoint(family_gap_scores(profiles), k_pairs)


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


METHODS = ("random", "random_oriented", "family_gap", "hetero_greedy", "linucb", "oracle")


def make_matcher(name: str, seed: int, expected: Callable[[], np.ndarray] | None = None,
                 context: str = "concat", lam: float = 1.0, beta0: float = 1.0, normalize: bool = True,
                 beta_schedule: str = "decay") -> Matcher:
    """Build the matcher called ``name`` (one of :data:`METHODS`).

    ``seed`` drives the random matchers; ``expected`` (the environment's expected rewards) is
    needed by the oracle only; the other keywords configure LinUCB.
    """
    simple = {"random": lambda: RandomMatcher(seed), "random_oriented": lambda: RandomOrientedMatcher(seed),
              "family_gap": FamilyGapMatcher, "hetero_greedy": HeteroGreedyMatcher}
    if name in simple:
        return simple[name]()
    if name == "linucb":
        return LinUCBMatcher(context=context, lam=lam, beta0=beta0, normalize=normalize,
                             beta_schedule=beta_schedule)
    if name == "oracle":
        if expected is None:
            raise ConfigError("the oracle matcher needs the environment's expected-reward function")
        return OracleMatcher(expected)
    raise ConfigError(f"unknown matcher {name!r}: choose one of {METHODS}")
