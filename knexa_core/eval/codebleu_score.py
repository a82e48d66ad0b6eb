"""CodeBLEU of generated programs against the reference solution (appendix "Evaluation harness").

Each sample is scored on its own with ``codebleu.calc_codebleu`` (Ren et al., 2020; the
``codebleu`` package, pinned in ``constraints.txt``): the hypothesis is the complete program
``problem.solution(completion)``, the reference ``problem.solution(problem.reference)``; the four
components (n-gram, weighted n-gram, syntax, data-flow match) are weighted 0.25 each, and the
benchmark score is the mean over samples. Note that ``codebleu`` 0.7.0 replaces a data-flow
match of 0 by 1, so even an empty completion scores 0.25.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from knexa_core.data.schema import Problem
from knexa_core.errors import EvaluationError

LANG = "python"
WEIGHTS = (0.25, 0.25, 0.25, 0.25)  # n-gram, weighted n-gram, syntax, data-flow: the paper's equal weights


def codebleu_pair(reference: str, hypothesis: str, weights: Sequence[float] = WEIGHTS) -> float:
    """CodeBLEU of one hypothesis program against one reference program, in [0, 1]."""
    with _quiet():
        return _score(_calc(), reference, hypothesis, weights)


def codebleu_scores(problems: dict[str, Problem], samples: Iterable[tuple[str, str]]) -> list[float]:
    """Per-sample CodeBLEU of ``(task_id, completion)`` pairs against their problem's reference.

    Returns
    -------
    list of float
        One score per sample, in the order given.
    """
    calc, references = _calc(), {}
    with _quiet():  # once per call: setting a logger's level clears every logger's cache (~3 s a run)
        scores = []
        for task_id, completion in samples:
            problem = problems[task_id]
            if task_id not in references:
                references[task_id] = problem.solution(problem.reference)
            scores.append(_score(calc, references[task_id], problem.solution(completion), WEIGHTS))
        return scores


def _calc() -> Callable[..., dict]:
    try:
        from codebleu import calc_codebleu
    except ImportError as exc:
        raise EvaluationError(f"the 'codebleu' package cannot be imported ({exc}); install the pinned "
                              "codebleu, tree-sitter and tree-sitter-python from constraints.txt") from None
    return calc_codebleu


def _score(calc: Callable[..., dict], reference: str, hypothesis: str, weights: Sequence[float]) -> float:
    return float(calc([reference], [hypothesis], lang=LANG, weights=tuple(weights))["codebleu"])


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """codebleu warns on the root logger for every program without data flow: silence it meanwhile."""
    logging.getLogger("codebleu").setLevel(logging.ERROR)
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(previous)


def mean_codebleu(scores: Sequence[float]) -> float:
    """Mean CodeBLEU over samples (an empty list is an :class:`EvaluationError`)."""
    if len(scores) == 0:
        raise EvaluationError("no samples to average CodeBLEU over; pass at least one sample")
    return float(np.mean(scores))
