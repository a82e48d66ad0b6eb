"""Sensitivity of LinUCB's gain to the simulator's constants and to LinUCB's own settings.

One setting at a time is changed from the defaults (:class:`~knexa_core.sim.federation.Dynamics`
and LinUCB's ``beta0 = 1``, ``lam = 1``, decaying β, z-scored rewards); for each, Random,
``random_oriented`` and LinUCB run on the same federations and the paired relative gain of LinUCB
over both baselines is summarized across seeds. Chapter ``03_cpm_simulation``, section
"How robust is the gain?".
"""
from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import pandas as pd

from knexa_core.sim.experiments import _runs, grid_gain, method_specs
from knexa_core.sim.federation import Dynamics, make_federation

# (group, label, simulator changes, LinUCB changes): the default first, then one change each
SETTINGS: tuple[tuple[str, str, dict[str, Any], dict[str, Any]], ...] = (
    ("default", "default", {}, {}),
    ("simulator", "η = 0.15", {"eta": 0.15}, {}),
    ("simulator", "η = 0.6", {"eta": 0.6}, {}),
    ("simulator", "φ = 0", {"forget": 0.0}, {}),
    ("simulator", "φ = 0.3", {"forget": 0.3}, {}),
    ("simulator", "κ ∈ [0.5, 1]", {"compat_range": (0.5, 1.0)}, {}),
    ("simulator", "κ ∈ [0, 0.5]", {"compat_range": (0.0, 0.5)}, {}),
    ("simulator", "skill ∈ [0.45, 0.55]", {"skill_range": (0.45, 0.55)}, {}),
    ("simulator", "skill ∈ [0.1, 0.9]", {"skill_range": (0.1, 0.9)}, {}),
    ("simulator", "noise 0", {"noise": 0.0}, {}),
    ("simulator", "noise 0.05", {"noise": 0.05}, {}),
    ("LinUCB", "β₀ = 0.1", {}, {"beta0": 0.1}),
    ("LinUCB", "β₀ = 3", {}, {"beta0": 3.0}),
    ("LinUCB", "λ = 0.1", {}, {"lam": 0.1}),
    ("LinUCB", "λ = 10", {}, {"lam": 10.0}),
    ("LinUCB", "constant β (Algorithm 1)", {}, {"beta_schedule": "constant"}),
    ("LinUCB", "no z-scoring", {}, {"normalize": False}),
)
METHODS = ("random", "random_oriented", "linucb")


def _make_env(dynamics: Dynamics, n: int, het: str, seed: int):
    return make_federation(n, het, seed, dynamics)


def sensitivity(n_clients: int = 16, rounds: int = 100, seeds: Sequence[int] = range(5),
                heterogeneity: str = "high", settings: Sequence[tuple] = SETTINGS,
                context: str = "concat") -> pd.DataFrame:
    """LinUCB's paired relative gain (%) over Random and ``random_oriented`` per setting, with CI."""
    parts = []
    for order, (group, label, sim, bandit) in enumerate(settings):
        df, _ = _runs([(n_clients, heterogeneity)], list(seeds), rounds, method_specs(context, METHODS),
                      bandit, False, "sensitivity", partial(_make_env, Dynamics(**sim)))
        final = df[df["round"] == rounds].rename(columns={"mean_pass1": "final_pass1"})
        gain = grid_gain(final, by=("n_clients", "heterogeneity"))
        parts.append(gain.assign(order=order, group=group, setting=label))
    return pd.concat(parts, ignore_index=True)
