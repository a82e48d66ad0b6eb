"""Scoring an agent: generate completions and run them in the sandbox (:func:`evaluate_samples`).

* :func:`score`: Pass@k (unbiased estimator over ``samples`` completions per problem), CodeBLEU
  and Pass@1 per category.
* Pass@1 of a round is greedy (one completion per problem, temperature 0): deterministic, so the
  same run gives the same curve. The final Pass@1/5/10 uses ``n`` sampled completions per problem
  (paper: n = 10) at a fixed temperature. Chapter ``02_federated_training``, section "Evaluation".
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from knexa_core.data.schema import Problem
from knexa_core.eval import evaluate_samples
from knexa_core.fl.agent import Agent


@dataclass(frozen=True)
class Score:
    """What :func:`score` measured for one agent on one problem set."""

    pass_at_k: dict[str, float]
    codebleu: float
    by_category: dict[str, float]   # category -> Pass@1 (mean over its problems)
    passed: dict[str, float]        # task id -> fraction of samples that passed
    completions: dict[str, list[str]]


def score(agent: Agent, problems: Sequence[Problem], max_new_tokens: int, samples: int = 1,
          temperature: float = 0.0, seed: int = 0, codebleu: bool = True) -> Score:
    """Generate ``samples`` completions per problem and evaluate them (Pass@k for k <= samples)."""
    outs = agent.generate(problems, max_new_tokens, temperature, samples, seed)
    pairs = [(p.task_id, c) for p, cs in zip(problems, outs) for c in cs]
    ks = [k for k in (1, 5, 10) if k <= samples]
    result = evaluate_samples(problems, pairs, k=ks, codebleu=codebleu, progress=False)
    passed = {t: c / n for t, (n, c) in result.counts.items()}
    cats: dict[str, list[float]] = defaultdict(list)
    for p in problems:
        cats[p.category].append(passed[p.task_id])
    return Score(result.pass_at_k, float(result.codebleu or 0.0),
                 {c: sum(v) / len(v) for c, v in sorted(cats.items())}, passed,
                 {p.task_id: cs for p, cs in zip(problems, outs)})
