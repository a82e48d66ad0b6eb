"""AKD schedules, the Eq. 3 reward, and the measured state behind an agent's CPM profile.

* Schedules (supplementary Table 1): α_KD rises linearly 0.2 → 0.5 and the temperature T
  1.5 → 2.5 over the rounds (:func:`linear`). α_KD weighs the distillation term of Eq. 2; T is the
  sampling temperature of the teacher's knowledge package (0 means greedy decoding).
* Reward (Eq. 3): ``r = γ·(L_pre − L_post) − δ·KB`` with ``L`` the student's validation loss
  before and after the round in which it integrated the package and ``KB`` the package size in
  kilobytes (UTF-8). We use γ = 1 and δ = 0.001 per KB (the paper gives no values): a 10 KB
  package costs 0.01, the size of a small validation-loss gain. The CPM z-scores the rewards
  (:class:`knexa_core.cpm.RewardNormalizer`), so only the ratio δ/γ matters.
* :class:`ProfileState`: every entry of :data:`knexa_core.cpm.PERFORMANCE_FEATURES` from measured
  values (validation Pass@1, CodeBLEU and log-perplexity, the local training loss, z-scored
  rewards per role, teach/learn rates), turned into the 32-d profile by :func:`build_profile`.
Chapter ``02_federated_training``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from knexa_core.cpm import build_profile
from knexa_core.errors import ConfigError

GAMMA = 1.0    # weight of the validation-loss improvement in Eq. 3
DELTA = 0.001  # cost per kilobyte of package in Eq. 3


def linear(start: float, end: float, round: int, rounds: int) -> float:
    """``start`` at round 1, ``end`` at round ``rounds``, linear in between."""
    if rounds < 1 or not 1 <= round <= rounds:
        raise ConfigError(f"round {round} is outside 1..{rounds}")
    return start + (end - start) * (round - 1) / max(1, rounds - 1)


def eq3_reward(loss_pre: float, loss_post: float, package_bytes: int, gamma: float = GAMMA,
               delta: float = DELTA) -> float:
    """Eq. 3: ``γ·(L_pre − L_post) − δ·KB`` (KB = bytes / 1024)."""
    return gamma * (loss_pre - loss_post) - delta * package_bytes / 1024.0


@dataclass
class ProfileState:
    """What the CPM may know of an agent: its family, data histogram and measured performance."""

    family: str
    histogram: Sequence[float]
    pass1: list[float] = field(default_factory=list)
    codebleu: list[float] = field(default_factory=list)
    log_perplexity: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    rewards: dict[str, list[float]] = field(default_factory=lambda: {"teacher": [], "student": []})
    rounds: int = 0

    def record(self, pass1: float, codebleu: float, log_perplexity: float, train_loss: float,
               count_round: bool = True) -> None:
        """Add one round's measurements (after its training; round 0: before any, not counted)."""
        self.pass1.append(pass1), self.codebleu.append(codebleu)
        self.log_perplexity.append(log_perplexity), self.train_loss.append(train_loss)
        self.rounds += int(count_round)

    def add_reward(self, role: str, z: float) -> None:
        self.rewards[role].append(z)

    def features(self) -> dict[str, float]:
        def last(xs):
            return xs[-1] if xs else 0.0

        def delta(xs):
            return xs[-1] - xs[-2] if len(xs) > 1 else 0.0

        out = {}
        for name in ("pass1", "codebleu", "log_perplexity", "train_loss"):
            xs = getattr(self, name)
            out[name], out[f"{name}_delta"] = last(xs), delta(xs)
        for role in ("teacher", "student"):
            xs = self.rewards[role]
            out[f"reward_as_{role}"] = float(np.mean(xs)) if xs else 0.0
        out["teach_rate"] = len(self.rewards["teacher"]) / max(1, self.rounds)
        out["learn_rate"] = len(self.rewards["student"]) / max(1, self.rounds)
        return out

    def profile(self) -> np.ndarray:
        """The 32-d profile (:func:`knexa_core.cpm.build_profile`)."""
        return build_profile(self.family, self.features(), self.histogram)
