"""Run matchers on independent copies of an environment and record what happens each round.

For every method the environment is built afresh from the same seed (no shared mutable state),
so all methods face identical dynamics and identical observation noise draws. Per round we
record the mean Pass@1 proxy, the *state* regret (the oracle's expected reward on the method's
*current* state minus the expected reward of the method's pairs) and its running sum, and the
mean JS divergence of the chosen pairs. The state regret is a diagnostic: in a non-stationary
federation each method is measured on its own state, so it cannot rank methods (the policy
regret of :mod:`knexa_core.sim.metrics` does). In a stationary environment
(:mod:`knexa_core.sim.linear`) it is the usual bandit regret. The oracle is greedy disjoint
selection on the true expected rewards (the matching rule of Algorithm 1 with perfect
knowledge); greedy matching is not always the best matching, so a round's regret can be
slightly negative.
Chapter ``03_cpm_simulation``.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Protocol

import numpy as np

from knexa_core.cpm.greedy import greedy_disjoint
from knexa_core.cpm.matchers import Matcher, make_matcher
from knexa_core.cpm.profiles import HISTOGRAM_SLICE, js_divergence


class Environment(Protocol):
    n_clients: int

    def profiles(self) -> np.ndarray: ...
    def expected_rewards(self) -> np.ndarray: ...
    def pass1(self) -> np.ndarray: ...
    def step(self, pairs: list[tuple[int, int]]) -> np.ndarray: ...


def mean_js(profiles: np.ndarray, pairs: list[tuple[int, int]]) -> float:
    """Mean JS divergence of the category histograms of the chosen pairs."""
    if not pairs:
        return 0.0
    idx = np.asarray(pairs)
    hist = profiles[:, HISTOGRAM_SLICE]
    return float(js_divergence(hist[idx[:, 0]], hist[idx[:, 1]]).mean())


def run_method(env: Environment, matcher: Matcher, rounds: int, k_pairs: int) -> tuple[list[dict], dict]:
    """Run ``rounds`` rounds; return per-round records and the wall times (seconds) of the matcher.

    The times (``select``: one selection per round; ``observe``: the round's reward updates) vary
    from run to run, so they are kept apart from the records, which are deterministic.
    """
    records, times, cumulative = [], {"select": [], "observe": [], "rewards": 0}, 0.0
    start_pass1 = float(env.pass1().mean())
    for t in range(1, rounds + 1):
        profiles, expected = env.profiles(), env.expected_rewards()
        best = sum(expected[i, j] for i, j in greedy_disjoint(expected, k_pairs))
        start = time.perf_counter()
        pairs = matcher.select(profiles, k_pairs, t)
        times["select"].append(time.perf_counter() - start)
        regret = float(best - sum(expected[i, j] for i, j in pairs))
        cumulative += regret
        rewards = env.step(pairs)
        start = time.perf_counter()
        matcher.observe(profiles, pairs, rewards)
        times["observe"].append(time.perf_counter() - start)
        times["rewards"] += len(pairs)
        records.append({"round": t, "mean_pass1": float(env.pass1().mean()), "start_pass1": start_pass1,
                        "state_regret": regret, "cumulative_state_regret": cumulative,
                        "mean_js": mean_js(profiles, pairs), "n_pairs": len(pairs)})
    return records, times


def run_methods(make_env: Callable[[], Environment], methods: Iterable[tuple[str, str, str]], rounds: int,
                seed: int, k_pairs: int | None = None, **bandit: Any) -> tuple[list[dict[str, Any]], dict[str, dict]]:
    """Run each ``(label, matcher name, context)`` on its own environment copy from ``make_env``.

    ``bandit`` holds LinUCB's settings (``lam``, ``beta0``, ``normalize``, ``beta_schedule``).
    """
    rows, timing = [], {}
    for label, name, context in methods:
        env = make_env()
        matcher = make_matcher(name, seed, env.expected_rewards, context=context, **bandit)
        records, times = run_method(env, matcher, rounds, k_pairs or env.n_clients // 2)
        rows += [{"seed": seed, "method": label, **r} for r in records]
        timing[label] = times
    return rows, timing
