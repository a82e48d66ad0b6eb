"""CodeBLEU: our per-sample scores equal calling the codebleu package directly."""
from __future__ import annotations

import pytest
from codebleu import calc_codebleu

from knexa_core.data.schema import Problem
from knexa_core.errors import EvaluationError
from knexa_core.eval.codebleu_score import codebleu_pair, codebleu_scores, mean_codebleu

PROMPT = "def add(a, b):\n    \"\"\"Sum of a and b.\"\"\"\n"
PROBLEM = Problem(task_id="T/0", source="humaneval", prompt=PROMPT, entry_point="add",
                  test="assert add(1, 2) == 3\n", reference="    return a + b\n", prefix=PROMPT)


def test_pair_equals_package_with_equal_weights():
    ref, hyp = PROMPT + "    return a + b\n", PROMPT + "    return a - b\n"
    direct = calc_codebleu([ref], [hyp], lang="python", weights=(0.25, 0.25, 0.25, 0.25))["codebleu"]
    assert codebleu_pair(ref, hyp) == pytest.approx(direct)
    assert 0.0 < direct < 1.0


def test_samples_are_scored_as_complete_programs_and_averaged():
    completions = ["    return a + b\n", "    total = a\n    total += b\n    return total\n"]
    scores = codebleu_scores({"T/0": PROBLEM}, [("T/0", c) for c in completions])
    expected = [calc_codebleu([PROBLEM.solution(PROBLEM.reference)], [PROBLEM.solution(c)],
                              lang="python")["codebleu"] for c in completions]
    assert scores == pytest.approx(expected)
    assert scores[0] == pytest.approx(1.0)  # the reference itself
    assert mean_codebleu(scores) == pytest.approx(sum(expected) / 2)


def test_empty_mean_is_an_error():
    with pytest.raises(EvaluationError, match="no samples"):
        mean_codebleu([])


def test_interleaved_tasks_are_scored_against_their_own_reference_and_logging_is_restored():
    import logging

    other_prompt = "def neg(a):\n    \"\"\"Minus a.\"\"\"\n"
    other = Problem(task_id="T/1", source="humaneval", prompt=other_prompt, entry_point="neg",
                    test="assert neg(1) == -1\n", reference="    return -a\n", prefix=other_prompt)
    problems = {"T/0": PROBLEM, "T/1": other}
    samples = [("T/0", "    return a + b\n"), ("T/1", "    return -a\n"), ("T/0", "    return b\n"), ("T/1", "    return a\n")]
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.INFO)
    try:
        scores = codebleu_scores(problems, samples)
        assert root.level == logging.INFO
    finally:
        root.setLevel(before)
    expected = [calc_codebleu([problems[t].solution(problems[t].reference)], [problems[t].solution(c)],
                              lang="python")["codebleu"] for t, c in samples]
    assert scores == pytest.approx(expected)
    assert scores[0] == pytest.approx(1.0) and scores[1] == pytest.approx(1.0)
