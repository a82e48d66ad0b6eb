"""The synthetic federation: N clients whose Pass@1 proxy grows from the knowledge they receive.

Each client ``i`` has a backbone family ``f_i`` (one of the paper's four), a category histogram
``h_i ~ Dirichlet(α·1₁₂)`` whose concentration ``α`` sets the heterogeneity level
(:data:`HETEROGENEITY`), a skill ``s_i`` and a competence ``c_ik ∈ [0, 1]`` per category, which
starts at ``c_ik = s_i·(1 − exp(−12·h_ik))`` (more data in a category, more competence; a
uniform histogram gives 63% of the skill). The **Pass@1 proxy** of a client is its mean
competence over the 12 categories (a category-balanced test set).

When teacher ``t`` teaches student ``u``, the student's competence changes by

    Δc_uk = η · (κ_tu · max(0, c_tk − c_uk) − φ · (1 − κ_tu) · c_uk)

where ``κ_tu = K[f_t, f_u]`` is the compatibility of the two backbone families (1 for the same
family, drawn once per federation from U(0.1, 0.9) across families): complementary knowledge
(``c_tk > c_uk``) helps, incompatible teachers make the student forget. The **expected reward**
of the ordered pair is the student's expected Pass@1 gain ``mean_k Δc_uk``; the observed reward
adds Gaussian noise. Diversity alone (high JS divergence) is therefore not optimal: a divergent
but incompatible teacher hurts. The dynamics are the same for every method. Chapter
``03_cpm_simulation``, section "The synthetic federation".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from knexa_core.cpm.profiles import N_CATEGORIES, build_profile
from knexa_core.errors import ConfigError

# Dirichlet concentration of the category histograms per heterogeneity level: 10 gives nearly
# uniform histograms, 1 the uniform distribution over histograms, 0.1 the paper's α = 0.1 split
# (each client concentrated on one or two categories).
HETEROGENEITY: dict[str, float] = {"low": 10.0, "medium": 1.0, "high": 0.1}
N_FAMILIES_USED = 4      # the paper's roster has four architecture families
ETA = 0.3                # distillation rate: share of the competence gap closed in one transfer
FORGET = 0.1             # φ: forgetting caused by an incompatible teacher
COMPAT_RANGE = (0.1, 0.9)  # compatibility of two different families
SKILL_RANGE = (0.3, 0.7)   # client skill, the ceiling of its initial competence
NOISE = 0.01             # standard deviation of the observed reward (Pass@1 fraction)
REWARD_SCALE = 10.0      # raw rewards are ~0.01-0.05: scaled for the reward profile features


@dataclass(frozen=True)
class Dynamics:
    """The simulator's constants (defaults above); the sensitivity study varies them one at a time."""

    eta: float = ETA
    forget: float = FORGET
    compat_range: tuple[float, float] = COMPAT_RANGE
    skill_range: tuple[float, float] = SKILL_RANGE
    noise: float = NOISE

    def __post_init__(self) -> None:
        lo, hi = self.compat_range
        s_lo, s_hi = self.skill_range
        if not (self.eta > 0 and self.forget >= 0 and self.noise >= 0 and 0 <= lo <= hi <= 1 and 0 <= s_lo <= s_hi <= 1):
            raise ConfigError(f"invalid simulator constants {self}: need eta > 0, forget >= 0, noise >= 0 "
                              "and ranges ordered within [0, 1]")


def transfer(teacher: np.ndarray, student: np.ndarray, kappa: np.ndarray, eta: float = ETA,
             forget: float = FORGET) -> np.ndarray:
    """The student's competence change ``Δc = η(κ·max(0, c_t − c_u) − φ(1 − κ)·c_u)`` (broadcasts)."""
    return eta * (kappa * np.maximum(teacher - student, 0.0) - forget * (1.0 - kappa) * student)


@dataclass
class FederationEnv:
    """One independent copy of the synthetic federation (see the module docstring)."""

    families: np.ndarray      # (N,) family index
    histograms: np.ndarray    # (N, 12)
    compat: np.ndarray        # (N_FAMILIES_USED, N_FAMILIES_USED)
    competence: np.ndarray    # (N, 12), mutated by step()
    rng: np.random.Generator  # observation noise
    dynamics: Dynamics = field(default_factory=Dynamics)
    round: int = 0

    def __post_init__(self) -> None:
        n = len(self.families)
        self.last_pass1 = self.pass1()
        self.pass1_delta = np.zeros(n)
        self.reward_sum = np.zeros((n, 2))  # raw observed rewards as teacher, as student
        self.role_count = np.zeros((n, 2))

    @property
    def n_clients(self) -> int:
        return len(self.families)

    def pass1(self) -> np.ndarray:
        """Pass@1 proxy of every client: its mean competence over the 12 categories."""
        return self.competence.mean(axis=1)

    def pair_compat(self) -> np.ndarray:
        """``κ_tu`` for every ordered pair (N x N)."""
        return self.compat[self.families[:, None], self.families[None, :]]

    def expected_rewards(self) -> np.ndarray:
        """Expected Pass@1 gain of the student for every ordered pair (row = teacher)."""
        return self.gains().mean(axis=2)

    def gains(self) -> np.ndarray:
        """``Δc_uk`` for every ordered pair, shape (N, N, 12)."""
        c = self.competence
        return transfer(c[:, None, :], c[None, :, :], self.pair_compat()[:, :, None],
                        self.dynamics.eta, self.dynamics.forget)

    def profiles(self) -> np.ndarray:
        """The ``d_p = 32`` profiles the matchmaker sees (family, observable performance, histogram)."""
        rates = self.role_count / max(1, self.round)
        means = REWARD_SCALE * self.reward_sum / np.maximum(self.role_count, 1)
        return np.stack([build_profile(int(f), {
            "pass1": p, "pass1_delta": d, "reward_as_teacher": mt, "reward_as_student": ms,
            "teach_rate": rt, "learn_rate": rl}, h)
            for f, p, d, mt, ms, rt, rl, h in zip(self.families, self.last_pass1, self.pass1_delta,
                                                  means[:, 0], means[:, 1], rates[:, 0], rates[:, 1],
                                                  self.histograms)])

    def step(self, pairs: list[tuple[int, int]]) -> np.ndarray:
        """Apply one round of transfers; return the observed (noisy) rewards of ``pairs``."""
        idx = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if len(np.unique(idx)) != idx.size:
            raise ConfigError(f"pairs {pairs} are not disjoint: an agent appears twice in one round")
        u = self.competence[idx[:, 1]]
        delta = transfer(self.competence[idx[:, 0]], u, self.pair_compat()[idx[:, 0], idx[:, 1]][:, None],
                         self.dynamics.eta, self.dynamics.forget)
        observed = delta.mean(axis=1) + self.dynamics.noise * self.rng.standard_normal(len(idx))
        self.competence[idx[:, 1]] = np.clip(u + delta, 0.0, 1.0)
        self._record(idx, observed)
        return observed

    def _record(self, idx: np.ndarray, observed: np.ndarray) -> None:
        self.round += 1
        now = self.pass1()
        self.pass1_delta, self.last_pass1 = now - self.last_pass1, now
        for role in (0, 1):
            np.add.at(self.reward_sum[:, role], idx[:, role], observed)
            np.add.at(self.role_count[:, role], idx[:, role], 1.0)


def make_federation(n_clients: int, heterogeneity: str, seed: int,
                    dynamics: Dynamics | None = None) -> FederationEnv:
    """A fresh federation from ``seed``: calling it twice gives two identical, independent copies."""
    dynamics = dynamics or Dynamics()
    if heterogeneity not in HETEROGENEITY:
        raise ConfigError(f"unknown heterogeneity {heterogeneity!r}: choose one of {list(HETEROGENEITY)}")
    if n_clients < 2:
        raise ConfigError(f"a federation needs at least 2 clients, got {n_clients}")
    rng = np.random.default_rng(seed)
    families = rng.integers(0, N_FAMILIES_USED, size=n_clients)
    hist = rng.dirichlet(np.full(N_CATEGORIES, HETEROGENEITY[heterogeneity]), size=n_clients)
    hist = np.maximum(hist, 1e-12)
    hist /= hist.sum(axis=1, keepdims=True)
    upper = rng.uniform(*dynamics.compat_range, size=(N_FAMILIES_USED, N_FAMILIES_USED))
    compat = np.triu(upper, 1) + np.triu(upper, 1).T + np.eye(N_FAMILIES_USED)
    skill = rng.uniform(*dynamics.skill_range, size=n_clients)
    competence = skill[:, None] * (1.0 - np.exp(-N_CATEGORIES * hist))
    return FederationEnv(families, hist, compat, competence, np.random.default_rng([seed, 1]), dynamics)
