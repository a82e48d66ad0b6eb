"""Benchmark of the CPM's pair selection (chapter 03_cpm_simulation, "How fast is the CPM?").

Prints, for N in 16 ... 4096 agents, the latency of one LinUCB selection (score all N(N-1)
ordered pairs on the concat context, then greedy disjoint matching of N/2 pairs) and the
ordered pairs scored per second; the speedup over the straightforward implementation (a Python
loop over pairs with a fresh inverse, :mod:`knexa_core.cpm.reference`) at N = 256 on the same
inputs, with a check that both select the same pairs; and, at N = 16,384, the top-k
pre-filter against the exact selection: latency and expected reward of the chosen pairs under
the hidden linear reward the bandit was trained on.

Run: ``.venv/bin/python benchmarks/bench_cpm.py`` (about two minutes on 2 cores). BLAS runs on
one thread unless ``OPENBLAS_NUM_THREADS`` is set (see below).
"""
from __future__ import annotations

import os

# One selection is a handful of small matrix products: on a busy shared machine BLAS threads add
# contention, not speed (compare with OPENBLAS_NUM_THREADS=2 in the environment). Set before numpy
# is imported; an explicit OPENBLAS_NUM_THREADS in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402 (after the thread setting)
import statistics
import time

import numpy as np

from knexa_core.cpm import LinUCB
from knexa_core.cpm.prefilter import exact_select, prefilter_select
from knexa_core.cpm.reference import reference_select
from knexa_core.sim.linear import trained_bandit

ROUND = 50          # a mid-run round: β_t = β₀/sqrt(50)
TRAIN_UPDATES = 1000  # rewards the bandit has seen before the timed selections


def setup(n: int, seed: int = 0) -> tuple[LinUCB, np.ndarray, np.ndarray]:
    """Random profiles, and a LinUCB trained on noisy rewards of a hidden linear model over them."""
    bandit, env = trained_bandit(n, seed, TRAIN_UPDATES)
    return bandit, env.profiles(), env.theta


def timed(fn, repeats: int, best: bool = False) -> tuple[float, object]:
    """Median (or, with ``best``, minimum) wall time (s) over ``repeats`` calls and the last result.

    The minimum is the least load-sensitive estimate on a shared machine; it is used for the
    speedup, where both sides are timed the same way.
    """
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return (min(times) if best else statistics.median(times)), out


def latency_table(ns) -> dict[int, float]:
    print(f"{'N':>6} {'ordered pairs':>14} {'median latency (ms)':>20} {'pairs/s':>12}")
    latency = {}
    for n in ns:
        bandit, profiles, _ = setup(n)
        repeats = 20 if n <= 256 else 7 if n <= 1024 else 3
        bandit.select_pairs(profiles, n // 2, ROUND)  # warm-up
        t, _ = timed(lambda: bandit.select_pairs(profiles, n // 2, ROUND), repeats)
        latency[n] = t
        print(f"{n:>6} {n * (n - 1):>14,} {1e3 * t:>20.1f} {n * (n - 1) / t:>12,.0f}")
    return latency


def speedup(n: int = 256, loop_repeats: int = 2) -> None:
    bandit, profiles, _ = setup(n)
    fast, picks = timed(lambda: bandit.select_pairs(profiles, n // 2, ROUND), 20, best=True)
    slow, ref = timed(lambda: reference_select(bandit.A, bandit.b, profiles, n // 2, ROUND, bandit.beta0),
                      loop_repeats, best=True)
    print(f"\nN = {n}, best of 20 / {loop_repeats} runs: straightforward loop {1e3 * slow:.0f} ms, "
          f"vectorized {1e3 * fast:.2f} ms, speedup {slow / fast:.0f}x; identical selection: {picks == ref}")


def expected(theta: np.ndarray, profiles: np.ndarray, pairs) -> float:
    idx = np.asarray(pairs)
    return float((profiles[idx[:, 0]] @ theta[:32] + profiles[idx[:, 1]] @ theta[32:]).sum())


def prefilter_table(n: int, top_ks=(64, 256)) -> None:
    bandit, profiles, theta = setup(n)
    t_exact, exact = timed(lambda: exact_select(bandit, profiles, n // 2, ROUND), 1)
    e_exact = expected(theta, profiles, exact)
    print(f"\nN = {n:,} ({n * (n - 1):,} ordered pairs), {n // 2:,} pairs selected, one run each")
    print(f"{'selection':>26} {'latency (s)':>12} {'pairs':>7} {'expected reward':>16} {'vs exact':>9}")
    print(f"{'exact (top-m lists)':>26} {t_exact:>12.2f} {len(exact):>7} {e_exact:>16.1f} {100.0:>8.1f}%")
    for k in top_ks:
        t_pre, pre = timed(lambda: prefilter_select(bandit, profiles, n // 2, ROUND, top_k=k), 1)
        e_pre = expected(theta, profiles, pre)
        print(f"{f'top-{k} pre-filter':>26} {t_pre:>12.2f} {len(pre):>7} {e_pre:>16.1f} {100 * e_pre / e_exact:>8.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 64, 256, 1024, 4096])
    parser.add_argument("--large", type=int, default=16384, help="N of the pre-filter comparison (0: skip)")
    args = parser.parse_args()
    latency_table(args.sizes)
    speedup()
    if args.large:
        prefilter_table(args.large)


if __name__ == "__main__":
    main()
