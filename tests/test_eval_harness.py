"""The harness API, the proof on the real benchmarks, and ``knexa evaluate``."""
from __future__ import annotations

import json

import pytest

from knexa_core import cli
from knexa_core.data import load_humaneval, load_mbpp
from knexa_core.data.schema import Problem
from knexa_core.errors import EvaluationError
from knexa_core.eval import evaluate_references, evaluate_samples, pass_at_k

PROMPT = "def double(x):\n    \"\"\"Twice x.\"\"\"\n"
DOUBLE = Problem(task_id="T/double", source="humaneval", prompt=PROMPT, entry_point="double",
                 test="assert double(2) == 4\nassert double(-1) == -2\n", reference="    return 2 * x\n",
                 prefix=PROMPT)
INC = Problem(task_id="T/inc", source="mbpp", prompt="Increment.", entry_point="inc",
              test="assert inc(1) == 2\n", reference="def inc(x):\n    return x + 1\n")
WRONG_BODIES = ["    return None\n", "    import sys\n    sys.exit(0)\n", "    import os\n    os._exit(0)\n"]


@pytest.fixture(scope="session")
def humaneval():
    return load_humaneval()


def test_per_sample_results_counts_and_metrics():
    samples = [("T/double", "    return 2 * x\n"), {"task_id": "T/double", "completion": "    return x + x\n"},
               ("T/double", "    return x\n"), ("T/inc", "def inc(x):\n    return x + 1\n"),
               ("T/inc", "def inc(x):\n    while True:\n        pass\n")]
    result = evaluate_samples([DOUBLE, INC], samples, k=(1, 2), workers=2, timeout=1.0, progress=False)
    assert [s.status for s in result.samples] == ["passed", "passed", "failed", "passed", "timeout"]
    assert [s.completion_id for s in result.samples] == [0, 1, 2, 0, 1]
    assert result.counts == {"T/double": (3, 2), "T/inc": (2, 1)}
    assert result.pass_at_k["pass@1"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert result.pass_at_k["pass@2"] == pytest.approx((pass_at_k(3, 2, 2) + pass_at_k(2, 1, 2)) / 2)
    assert result.samples[0].codebleu == pytest.approx(1.0)
    assert result.codebleu == pytest.approx(sum(s.codebleu for s in result.samples) / 5)
    assert result.status_counts() == {"passed": 3, "failed": 1, "timeout": 1, "error": 0}


def test_bad_requests_fail_before_running():
    with pytest.raises(EvaluationError, match="pass@5 needs at least 5"):
        evaluate_samples([DOUBLE], [("T/double", "    while True: pass\n")], k=(5,), progress=False)
    with pytest.raises(EvaluationError, match="not among the problems"):
        evaluate_samples([DOUBLE], [("HumanEval/0", "    return 1\n")], k=(1,), progress=False)
    with pytest.raises(EvaluationError, match="lacks"):
        evaluate_samples([DOUBLE], [{"task_id": "T/double"}], progress=False)


def test_postprocess_option_cleans_completions():
    raw = "return 2 * x\n\nprint(double(3))\ndef other():\n    pass\n"
    plain = evaluate_samples([DOUBLE], [("T/double", raw)], k=(1,), codebleu=False, progress=False)
    cleaned = evaluate_samples([DOUBLE], [("T/double", raw)], k=(1,), codebleu=False, postprocess=True,
                               progress=False)
    assert (plain.samples[0].status, cleaned.samples[0].status) == ("failed", "passed")


def test_all_humaneval_canonical_solutions_pass_the_real_check(humaneval):
    result = evaluate_references(humaneval, progress=False)
    assert len(result.samples) == 164
    assert [s.task_id for s in result.samples if s.status != "passed"] == []
    assert result.pass_at_k == {"pass@1": 1.0}


def test_wrong_and_early_exiting_solutions_fail(humaneval):
    chosen = humaneval[:5]
    samples = [(p.task_id, body) for p in chosen for body in WRONG_BODIES]
    result = evaluate_samples(chosen, samples, k=(1,), codebleu=False, progress=False)
    assert [s.status for s in result.samples] == ["failed"] * len(samples)
    assert result.pass_at_k == {"pass@1": 0.0}


def test_mbpp_reference_solutions(mbpp_path):
    problems = load_mbpp(mbpp_path)
    result = evaluate_references(problems, progress=False)
    assert len(result.samples) == 974
    not_passed = [s for s in result.samples if s.status != "passed"]
    assert len(not_passed) <= 20 and all(s.status == "timeout" for s in not_passed)  # slow, not wrong
    if not_passed:
        slow = [p for p in problems if p.task_id in {s.task_id for s in not_passed}]
        assert evaluate_references(slow, timeout=30.0, progress=False).pass_at_k == {"pass@1": 1.0}


def write_samples(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_cli_evaluate_writes_results_next_to_the_input(tmp_path, humaneval, capsys):
    samples = tmp_path / "gen.jsonl"
    rows = [{"task_id": p.task_id, "completion": c} for p in humaneval[:2] for c in (p.reference, "    pass\n")]
    write_samples(samples, rows)
    argv = ["evaluate", "--samples", str(samples), "--benchmark", "humaneval", "--k", "1", "2"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "pass@1: 50.00%" in out and "pass@2: 100.00%" in out and "CodeBLEU:" in out
    results = [json.loads(line) for line in (tmp_path / "gen_results.jsonl").read_text().splitlines()]
    assert [r["status"] for r in results] == ["passed", "failed", "passed", "failed"]
    summary = json.loads((tmp_path / "gen_summary.json").read_text())
    assert summary["pass@1"] == 0.5 and summary["benchmark"] == "humaneval"
    first = (tmp_path / "gen_results.jsonl").read_bytes()
    assert cli.main(argv) == 0 and (tmp_path / "gen_results.jsonl").read_bytes() == first  # byte-stable


def test_cli_errors_are_reported(tmp_path, capsys):
    samples = tmp_path / "few.jsonl"
    write_samples(samples, [{"task_id": "HumanEval/0", "completion": "    return True\n"}])
    assert cli.main(["evaluate", "--samples", str(samples), "--benchmark", "humaneval"]) == 1
    assert "pass@5 needs at least 5 samples" in capsys.readouterr().err
    assert cli.main(["evaluate", "--samples", str(tmp_path / "none.jsonl"), "--benchmark", "mbpp"]) == 1
    assert not (tmp_path / "few_results.jsonl").exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "need workers >= 1"), ({"workers": -1}, "need workers >= 1"),
    ({"timeout": 0}, "timeout must be a number of seconds in"),
    ({"timeout": float("nan")}, "timeout must be a number of seconds in"),
    ({"timeout": float("inf")}, "timeout must be a number of seconds in")])
def test_bad_workers_or_timeout_is_a_clear_error(kwargs, message):
    from knexa_core.eval import run_programs

    with pytest.raises(EvaluationError, match=message):
        run_programs(["pass"], progress=False, **kwargs)


@pytest.mark.parametrize("completion", [None, 5, ["return 1"], "\ud800"])
def test_non_text_completions_are_an_error_not_the_text_none(completion):
    with pytest.raises(EvaluationError, match="sample 0: completion"):
        evaluate_samples([DOUBLE], [("T/double", completion)], k=(1,), progress=False)


def test_isolated_verdict_is_the_default():
    import inspect

    assert inspect.signature(evaluate_samples).parameters["isolated_verdict"].default is True


def test_isolated_verdict_passes_canonical_solutions_and_fails_wrong_ones(humaneval):
    chosen = humaneval[:8]
    samples = [(p.task_id, p.reference) for p in chosen] + [(p.task_id, b) for p in chosen for b in WRONG_BODIES]
    result = evaluate_samples(chosen, samples, k=(1,), codebleu=False, progress=False)  # isolated: the default
    statuses = [s.status for s in result.samples]
    assert statuses == ["passed"] * len(chosen) + ["failed"] * (len(samples) - len(chosen))


def test_isolated_verdict_cannot_be_forged_in_process_one_can(humaneval):
    forge = ("    import sys\n    g = sys._getframe()\n    while g is not None and '_finish' not in g.f_globals:\n"
             "        g = g.f_back\n    g.f_globals['_finish']('passed')\n")
    equal = "    class Anything:\n        def __eq__(self, other):\n            return True\n    return Anything()\n"
    chosen = humaneval[:3]
    samples = [(p.task_id, body) for p in chosen for body in (forge, equal)]
    inside = evaluate_samples(chosen, samples, k=(1,), codebleu=False, progress=False, isolated_verdict=False)
    isolated = evaluate_samples(chosen, samples, k=(1,), codebleu=False, progress=False)  # the default
    inside_status = [s.status for s in inside.samples]
    assert inside_status[::2] == ["passed"] * len(chosen) and "passed" in inside_status[1::2]  # the weakness
    assert [s.status for s in isolated.samples] == ["failed"] * len(samples)


def test_called_names_are_the_entry_point_and_names_the_tests_borrow():
    from knexa_core.eval.harness import called_names

    assert called_names(DOUBLE) == ["double"]
    problem = Problem(task_id="T/x", source="mbpp", prompt="", entry_point="f", prefix="",
                      test="import math\nassert f(g(1)) == math.pi and helper(2)\n", reference="")
    assert called_names(problem) == ["f", "g", "helper"]


def test_identical_samples_run_once_and_share_their_result(monkeypatch):
    from knexa_core.eval import harness

    ran = []
    real = harness.run_programs
    monkeypatch.setattr(harness, "run_programs", lambda jobs, *a, **kw: ran.append(len(jobs)) or real(jobs, *a, **kw))
    samples = [("T/double", "    return 2 * x\n")] * 3 + [("T/double", "    return x\n")] * 2 + [("T/inc", "def inc(x):\n    return x + 1\n")] * 5
    result = evaluate_samples([DOUBLE, INC], samples, k=(1, 5), timeout=2.0, progress=False)
    assert ran == [3]  # three distinct programs
    assert result.counts == {"T/double": (5, 3), "T/inc": (5, 5)}
    assert [s.status for s in result.samples[:5]] == ["passed"] * 3 + ["failed"] * 2
    assert [s.completion_id for s in result.samples[5:]] == [0, 1, 2, 3, 4]
    assert result.samples[0].codebleu == result.samples[2].codebleu == pytest.approx(1.0)
