"""Evaluate generated completions: parallel sandboxed runs, Pass@k and CodeBLEU.

The entry point for a training loop is :func:`evaluate_samples`, which takes in-memory problems
and ``(task_id, completion)`` samples and returns per-sample outcomes, per-problem pass counts,
Pass@k and CodeBLEU (appendix "Evaluation harness"). Programs run in parallel, one sandboxed
process each, with a progress bar. By default the verdict is isolated
(:func:`knexa_core.eval.sandbox.run_isolated`): the tests run where no candidate code runs, so no
completion can forge a pass; :func:`evaluate_references` runs the (trusted) reference solutions
as whole programs (:func:`knexa_core.eval.sandbox.run_program`).
"""
from __future__ import annotations

import ast
import builtins
import functools
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from knexa_core.progress import progress as progress_bar

from knexa_core.data.schema import Problem
from knexa_core.errors import EvaluationError
from knexa_core.eval.codebleu_score import codebleu_scores, mean_codebleu
from knexa_core.eval.passk import check_sample_counts, mean_pass_at_k
from knexa_core.eval.postprocess import clean_completion, completion_kind
from knexa_core.eval.isolation import SANDBOX_UID_SLOTS, isolation
from knexa_core.eval.sandbox import (ExecResult, Limits, check_timeout, run_isolated, run_program,
                                     stop_all_servers)

DEFAULT_K = (1, 5, 10)  # the paper's Table 4 reports Pass@1/5/10
DEFAULT_TIMEOUT = 3.0  # seconds per program; every HumanEval/MBPP reference runs in well under 1 s


@dataclass(frozen=True)
class SampleResult:
    """Outcome of one sample: ``status`` is passed / failed / timeout / error."""

    task_id: str
    completion_id: int  # index of this sample among the samples of its task, in input order
    status: str
    reason: str
    duration: float
    codebleu: float | None = None


@dataclass
class EvaluationResult:
    """Everything :func:`evaluate_samples` computed."""

    samples: list[SampleResult]
    counts: dict[str, tuple[int, int]]  # task id -> (samples, passing)
    pass_at_k: dict[str, float]  # "pass@k" -> fraction in [0, 1]
    codebleu: float | None  # mean over samples; None if not computed
    isolation: dict = field(default_factory=dict)

    def status_counts(self) -> dict[str, int]:
        """Number of samples per status."""
        counts = Counter(s.status for s in self.samples)
        return {status: counts.get(status, 0) for status in ("passed", "failed", "timeout", "error")}

    def summary(self) -> dict[str, Any]:
        """Pass@k, CodeBLEU, sample and problem counts, per-status counts, isolation mode."""
        return {**self.pass_at_k, "codebleu": self.codebleu, "samples": len(self.samples),
                "problems": len(self.counts), "status": self.status_counts(), "isolation": self.isolation}

    def rows(self) -> list[dict[str, Any]]:
        """One dict per sample (JSON-ready), in input order."""
        return [asdict(s) for s in self.samples]


def _completion(i: int, completion: Any) -> str:
    """``completion`` if it is text that can be run; otherwise an EvaluationError naming sample ``i``."""
    if not isinstance(completion, str):
        raise EvaluationError(f"sample {i}: completion must be a string, not {type(completion).__name__} "
                              f"{str(completion)[:40]!r}; write the generated text (\"\" for an empty answer)")
    try:
        completion.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EvaluationError(f"sample {i}: completion holds a lone surrogate at character {exc.start} "
                              "(not valid Unicode text); fix the generator's decoding") from None
    return completion


def _normalize(samples: Iterable[Any]) -> list[tuple[str, str]]:
    pairs = []
    for i, s in enumerate(samples):
        if isinstance(s, Mapping):
            if "task_id" not in s or "completion" not in s:
                raise EvaluationError(f"sample {i} lacks 'task_id' or 'completion': {sorted(s)}")
            pairs.append((str(s["task_id"]), _completion(i, s["completion"])))
        elif isinstance(s, (tuple, list)) and len(s) == 2:
            pairs.append((str(s[0]), _completion(i, s[1])))
        else:
            raise EvaluationError(f"sample {i} must be (task_id, completion) or a dict with those keys")
    return pairs


def _index(problems: Mapping[str, Problem] | Sequence[Problem]) -> dict[str, Problem]:
    return dict(problems) if isinstance(problems, Mapping) else {p.task_id: p for p in problems}


def called_names(problem: Problem) -> list[str]:
    """Names the trusted tests call that the candidate defines: the entry point, and any other
    name the tests load but neither the prefix nor the tests define (nor the builtins)."""
    return list(_called_names(problem.entry_point, problem.prefix, problem.test))


@functools.lru_cache(maxsize=4096)
def _called_names(entry_point: str, prefix: str, test: str) -> tuple[str, ...]:
    # cached: a final evaluation asks once per sample (10 per problem), and parsing the tests
    # each time cost ~5 s of a 200 s training run
    defined, loaded = set(dir(builtins)), {entry_point}
    for text, is_test in ((prefix, False), (test, True)):
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Name):
                (loaded if isinstance(node.ctx, ast.Load) and is_test else defined).add(node.id)
            elif isinstance(node, ast.alias):
                defined.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.arg):
                defined.add(node.arg)
    return tuple(sorted(n for n in loaded if n == entry_point or n not in defined))


def _isolated_job(problem: Problem, completion: str) -> tuple[str, str, str, list[str]]:
    return problem.solution(completion), problem.prefix, problem.test, called_names(problem)


def run_programs(programs: Sequence[str | tuple], workers: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 limits: Limits | None = None, progress: bool = True, desc: str = "programs") -> list[ExecResult]:
    """Run ``programs`` in parallel sandboxes (``workers`` threads, default: one per core).

    A program is its complete text (:func:`~knexa_core.eval.sandbox.run_program`), or a tuple
    ``(candidate, prefix, tests, names)`` for the isolated verdict
    (:func:`~knexa_core.eval.sandbox.run_isolated`).

    Returns
    -------
    list of ExecResult
        In the order of ``programs``.
    """
    workers = workers if workers is not None else (os.cpu_count() or 1)
    check_timeout(timeout)
    if workers < 1:
        raise EvaluationError(f"need workers >= 1; got workers={workers}")
    if isolation()["drop_uid"]:
        workers = min(workers, SANDBOX_UID_SLOTS)  # one sandbox uid per concurrent server
    results: list[ExecResult | None] = [None] * len(programs)
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        with progress_bar(total=len(programs), desc=desc, unit="prog", disable=not progress) as bar:
            futures = {pool.submit(_run_one, code, timeout, limits): i for i, code in enumerate(programs)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update(1)
    except BaseException:  # Ctrl-C (KeyboardInterrupt) or an error: stop at once, not after the queue
        pool.shutdown(wait=False, cancel_futures=True)
        stop_all_servers()  # the running requests see their server die and return
        raise
    finally:
        pool.shutdown(wait=True)
    return results  # type: ignore[return-value]


def _run_one(program: str | tuple, timeout: float, limits: Limits | None) -> ExecResult:
    if isinstance(program, tuple):
        return run_isolated(*program, timeout=timeout, limits=limits)
    return run_program(program, timeout, limits)


def evaluate_samples(
    problems: Mapping[str, Problem] | Sequence[Problem],
    samples: Iterable[tuple[str, str] | Mapping[str, Any]],
    k: Sequence[int] = DEFAULT_K,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    limits: Limits | None = None,
    codebleu: bool = True,
    postprocess: bool = False,
    progress: bool = True,
    isolated_verdict: bool = True,
) -> EvaluationResult:
    """Execute every sample against its problem's tests and score it.

    Parameters
    ----------
    problems : the problems, as a list or a dict keyed by task id.
    samples : ``(task_id, completion)`` pairs or dicts with those keys; several per task for k > 1.
        Identical pairs are executed (and scored) once and share the result.
    k : the Pass@k values; each needs at least k samples for every evaluated problem.
    workers, timeout, limits : parallelism and sandbox limits (see :class:`Limits`).
    codebleu : also compute CodeBLEU against the reference solutions.
    postprocess : first clean each completion (:func:`knexa_core.eval.postprocess.clean_completion`).
    progress : show a tqdm progress bar.
    isolated_verdict : run the tests where the candidate never runs (in the sandbox server; its
        functions are called across processes with plain data), so no candidate can forge a pass;
        results that are not plain data (objects of the candidate's classes, generators) then
        fail. ``False`` runs each program whole in one process (tests included): a program
        written against this harness can then forge a pass.

    Returns
    -------
    EvaluationResult
        Per-sample results, per-problem counts, Pass@k (over the problems that have samples) and
        mean CodeBLEU.
    """
    index = _index(problems)
    pairs = _normalize(samples)
    unknown = sorted({t for t, _ in pairs if t not in index})
    if unknown:
        raise EvaluationError(f"{len(unknown)} sample task id(s) are not among the problems, e.g. "
                              f"{unknown[0]!r}: evaluate against the benchmark the samples come from")
    if k:
        check_sample_counts(Counter(t for t, _ in pairs), k)
    if postprocess:
        pairs = [(t, clean_completion(c, completion_kind(index[t].source))) for t, c in pairs]
    unique = list(dict.fromkeys(pairs))  # identical samples run once (sampled completions often repeat)
    jobs = [_isolated_job(index[t], c) if isolated_verdict else index[t].program(c) for t, c in unique]
    done = dict(zip(unique, run_programs(jobs, workers, timeout, limits, progress, "evaluate")))
    execs = [done[pair] for pair in pairs]
    scored = dict(zip(unique, codebleu_scores(index, unique))) if codebleu and pairs else {}
    scores = [scored.get(pair) for pair in pairs]
    results, counts = _tally(pairs, execs, scores)
    return EvaluationResult(results, counts, mean_pass_at_k(counts, k) if k else {},
                            mean_codebleu(scores) if codebleu and pairs else None, dict(isolation()))


def _tally(pairs: list[tuple[str, str]], execs: list[ExecResult],
           scores: list[float | None]) -> tuple[list[SampleResult], dict[str, tuple[int, int]]]:
    """Per-sample results (numbered within their task) and per-task (samples, passing) counts."""
    seen: Counter[str] = Counter()
    passing: Counter[str] = Counter()
    results = []
    for (task_id, _), res, score in zip(pairs, execs, scores):
        results.append(SampleResult(task_id, seen[task_id], res.status, res.reason, round(res.duration, 4), score))
        seen[task_id] += 1
        passing[task_id] += res.passed
    return results, {t: (seen[t], passing[t]) for t in seen}


def evaluate_references(problems: Sequence[Problem], workers: int | None = None,
                        timeout: float = DEFAULT_TIMEOUT, progress: bool = True) -> EvaluationResult:
    """Run every problem's own reference solution against its tests (Pass@1 should be 1).

    References are trusted, so each runs as one whole program (``isolated_verdict=False``): the
    few tests that build objects of the solution's own classes can be checked as well.
    """
    return evaluate_samples(problems, [(p.task_id, p.reference) for p in problems], k=(1,),
                            workers=workers, timeout=timeout, codebleu=False, progress=progress,
                            isolated_verdict=False)
