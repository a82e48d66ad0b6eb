"""The unbiased Pass@k estimator (appendix "Evaluation harness").

With ``n`` samples of a problem of which ``c`` pass, the probability that at least one of ``k``
samples drawn without replacement passes is ``1 - C(n-c, k) / C(n, k)``. The ratio of binomials
equals ``prod_{i=n-c+1}^{n} (1 - k/i)``, a product of numbers in [0, 1] that neither overflows nor
loses precision for large ``n`` (Chen et al., 2021, "Evaluating Large Language Models Trained on
Code"). Pass@k of a benchmark is the mean of the per-problem estimates.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from knexa_core.errors import EvaluationError


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of Pass@k for one problem with ``c`` correct out of ``n`` samples.

    Raises
    ------
    EvaluationError
        If ``k > n`` (the estimator is undefined: draw at least ``k`` samples per problem) or the
        counts are inconsistent.
    """
    if not 0 <= c <= n:
        raise EvaluationError(f"need 0 <= correct <= samples, got correct={c}, samples={n}")
    if k < 1:
        raise EvaluationError(f"k must be at least 1, got {k}")
    if k > n:
        raise EvaluationError(f"pass@{k} needs at least {k} samples per problem, got {n}; "
                              f"generate more samples or ask for a smaller k")
    if n - c < k:  # every draw of k samples contains a correct one
        return 1.0
    i = np.arange(n - c + 1, n + 1, dtype=np.float64)
    return float(1.0 - np.prod(1.0 - k / i))


def mean_pass_at_k(counts: Mapping[str, tuple[int, int]], ks: Iterable[int]) -> dict[str, float]:
    """Pass@k averaged over problems.

    Parameters
    ----------
    counts : task id -> (number of samples, number passing).
    ks : the k values, e.g. ``(1, 5, 10)``.

    Returns
    -------
    dict
        ``{"pass@1": 0.25, ...}`` as fractions in [0, 1].
    """
    check_sample_counts({t: n for t, (n, _) in counts.items()}, ks)
    return {f"pass@{k}": float(np.mean([pass_at_k(n, c, k) for n, c in counts.values()])) for k in ks}


def check_sample_counts(samples_per_task: Mapping[str, int], ks: Iterable[int]) -> None:
    """Raise :class:`EvaluationError` unless every task has at least ``max(ks)`` samples.

    Called before anything runs, so that a bad ``k`` fails fast.
    """
    if not samples_per_task:
        raise EvaluationError("no problems to average Pass@k over; pass at least one sample")
    for k in ks:
        if k < 1:
            raise EvaluationError(f"k must be at least 1, got {k}")
        short = sorted(t for t, n in samples_per_task.items() if n < k)
        if short:
            raise EvaluationError(f"pass@{k} needs at least {k} samples per problem; {short[0]} has "
                                  f"{samples_per_task[short[0]]} ({len(short)} problem(s) short): "
                                  "generate more samples or ask for a smaller k")
