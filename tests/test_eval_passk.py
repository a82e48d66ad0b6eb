"""Pass@k: the unbiased estimator against hand-computed values and brute-force enumeration."""
from __future__ import annotations

import itertools
import math

import pytest

from knexa_core.errors import EvaluationError
from knexa_core.eval.passk import check_sample_counts, mean_pass_at_k, pass_at_k


def brute_force(n: int, c: int, k: int) -> float:
    """Fraction of the k-subsets of n samples (c correct) that contain a correct one."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_matches_enumeration_over_subsets(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_force(n, c, k), abs=1e-12), (n, c, k)


def test_hand_computed_values():
    # Prepare / Execute / Assert: 1 - C(3,2)/C(5,2) = 1 - 3/10 ; pass@1 is c/n
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(4, 0, 2) == 0.0
    assert pass_at_k(4, 3, 2) == 1.0  # n - c < k: every pair holds a correct sample


def test_stable_for_large_n():
    n, c, k = 2000, 7, 100
    exact = 1 - math.comb(n - c, k) / math.comb(n, k)  # exact integers, then one division
    assert pass_at_k(n, c, k) == pytest.approx(exact, rel=1e-9)


def test_k_larger_than_n_is_a_clear_error():
    with pytest.raises(EvaluationError, match="pass@10 needs at least 10 samples"):
        pass_at_k(5, 1, 10)
    with pytest.raises(EvaluationError, match="correct"):
        pass_at_k(3, 4, 1)


def test_mean_over_problems_and_per_task_check():
    counts = {"a": (5, 2), "b": (5, 0), "c": (5, 5)}
    assert mean_pass_at_k(counts, (1, 2)) == pytest.approx({"pass@1": (0.4 + 0 + 1) / 3,
                                                            "pass@2": (0.7 + 0 + 1) / 3})
    with pytest.raises(EvaluationError, match="'?b'? has 1"):
        check_sample_counts({"a": 5, "b": 1}, (1, 5))
    with pytest.raises(EvaluationError, match="no problems"):
        mean_pass_at_k({}, (1,))
