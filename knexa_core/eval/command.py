"""``knexa evaluate``: score a JSONL file of generated completions on HumanEval or MBPP.

Usage (appendix "Evaluation harness")::

    knexa evaluate --samples samples.jsonl --benchmark humaneval --k 1 5 10

Each input row holds ``task_id`` and ``completion``. The tests run where the candidate never runs
(``isolated_verdict``, the default of ``evaluate_samples``), so no completion can forge a pass;
``--in-process-verdict`` runs each program whole in one process instead. The command prints Pass@k and CodeBLEU and
writes, next to the input, ``<name>_results.jsonl`` (one row per sample: task id, completion index,
status, reason, CodeBLEU) and ``<name>_summary.json``, both atomically.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from knexa_core.data import load_humaneval, load_mbpp
from knexa_core.data.loaders import read_jsonl
from knexa_core.errors import ConfigError
from knexa_core.eval.harness import DEFAULT_K, DEFAULT_TIMEOUT, evaluate_samples
from knexa_core.eval.sandbox import check_timeout
from knexa_core.io import check_writable, dumps_json, staged_files

BENCHMARKS = ("humaneval", "mbpp")
RESULT_FIELDS = ("task_id", "completion_id", "status", "reason", "codebleu")  # no timings: byte-stable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--samples", required=True, type=Path, help="JSONL file with task_id and completion")
    parser.add_argument("--benchmark", required=True, choices=BENCHMARKS, help="problems the samples answer")
    parser.add_argument("--k", type=int, nargs="+", default=list(DEFAULT_K), help="Pass@k values (default 1 5 10)")
    parser.add_argument("--mbpp", type=Path, default=None, help="MBPP JSONL file (default: $KNEXA_MBPP)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per program (default 3)")
    parser.add_argument("--workers", type=int, default=None, help="parallel sandboxes (default: one per core)")
    parser.add_argument("--postprocess", action="store_true", help="cut completions at stop lines first")
    parser.add_argument("--no-codebleu", action="store_true", help="skip CodeBLEU")
    parser.add_argument("--in-process-verdict", action="store_true",
                        help="run the tests inside the candidate's process (little or no faster since the tests moved into "
                             "the sandbox server, and a program written against the harness can forge a pass); "
                             "default: isolated")


def output_paths(samples: Path) -> tuple[Path, Path]:
    """``<dir>/<stem>_results.jsonl`` and ``<dir>/<stem>_summary.json`` beside the samples file."""
    stem = samples.name[: -len(".jsonl")] if samples.name.endswith(".jsonl") else samples.stem
    return samples.with_name(f"{stem}_results.jsonl"), samples.with_name(f"{stem}_summary.json")


def run(args: argparse.Namespace) -> int:
    if not args.samples.is_file():
        raise ConfigError(f"samples file not found: {args.samples}; pass a JSONL file with task_id and completion")
    check_timeout(args.timeout)
    results_path, summary_path = output_paths(args.samples)
    for path in (results_path, summary_path):  # before a long evaluation, not after it
        check_writable(path)
    text = ((str,), "a string")
    samples = list(read_jsonl(args.samples, ("task_id", "completion"), {"task_id": text, "completion": text}))
    problems = load_humaneval() if args.benchmark == "humaneval" else load_mbpp(args.mbpp)
    result = evaluate_samples(problems, samples, k=args.k, workers=args.workers, timeout=args.timeout,
                              codebleu=not args.no_codebleu, postprocess=args.postprocess,
                              isolated_verdict=not args.in_process_verdict)
    rows = [{f: row[f] for f in RESULT_FIELDS} | {"completion": s["completion"]}
            for row, s in zip(result.rows(), samples)]
    summary = result.summary() | {"benchmark": args.benchmark, "samples_file": args.samples.name,
                                  "verdict": "in-process" if args.in_process_verdict else "isolated"}
    # both files are staged first and renamed together, the summary last (it marks a complete set)
    with staged_files(results_path, summary_path) as (results_tmp, summary_tmp):
        results_tmp.write_text("".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows),
                               encoding="utf-8")
        summary_tmp.write_text(dumps_json(summary), encoding="utf-8")
    print(f"{len(samples)} samples on {len(result.counts)} {args.benchmark} problems "
          f"({', '.join(f'{n} {s}' for s, n in result.status_counts().items())})")
    for key, value in result.pass_at_k.items():
        print(f"{key}: {100 * value:.2f}%")
    if result.codebleu is not None:
        print(f"CodeBLEU: {result.codebleu:.4f}")
    print(f"per-sample results: {results_path}\nsummary: {summary_path}")
    return 0
