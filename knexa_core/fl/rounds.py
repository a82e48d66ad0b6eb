"""One collaboration round: profiles → pairs → packages → guardrail → AKD → rewards → measurements.

The same function runs every method; only the matcher differs (:mod:`knexa_core.fl.methods`).
A round returns one row per client (the per-round CSV) and the details the chapter narrates.
Chapter ``02_federated_training``, section "One round, step by step".
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knexa_core.cpm.matchers import Matcher
from knexa_core.cpm.reward import RewardNormalizer
from knexa_core.eval import evaluate_samples
from knexa_core.fl.akd import eq3_reward, linear
from knexa_core.fl.evaluate import score
from knexa_core.fl.federation import Federation, derived_seed

GEN_PACKAGE, GEN_VAL, GEN_TEST, GEN_TRANSFER, GEN_FINAL = range(5)  # purposes of derived seeds


@dataclass
class Package:
    """A teacher's knowledge package after the guardrail."""

    teacher: int
    items: list[tuple[str, str]]     # (transfer prompt, teacher text) kept
    report: Any                      # GuardrailReport
    kbytes: float
    pass1: float                     # share of the raw package that passes the transfer tests


@dataclass
class RoundRecord:
    """What happened in a round (``rows``: one per client; the rest for the chapter's narration)."""

    round: int
    profiles: np.ndarray
    pairs: list[tuple[int, int]]
    packages: dict[int, Package] = field(default_factory=dict)   # student index -> package
    rewards: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)  # student -> pre, post, raw, z
    rows: list[dict[str, Any]] = field(default_factory=list)
    test_scores: dict[int, Any] = field(default_factory=dict)   # client -> greedy test Score (eval rounds)
    seconds: dict[str, float] = field(default_factory=dict)


def schedule(fed: Federation, t: int) -> tuple[float, float]:
    """(α_KD, T) of round ``t`` (T = 0: greedy packages)."""
    c = fed.config
    alpha = linear(c.kd_alpha_start, c.kd_alpha_end, t, c.rounds)
    temp = linear(c.kd_t_start, c.kd_t_end, t, c.rounds) if c.package_decoding == "schedule" else 0.0
    return alpha, temp


def make_package(fed: Federation, teacher: int, t: int, temperature: float) -> Package:
    """Teacher's completions on the transfer prompts (``package_size`` of them, drawn), through its guardrail."""
    transfer, size = fed.split.transfer, fed.config.package_size
    if 0 < size < len(transfer):
        pick = np.random.default_rng(derived_seed(fed.config.seed, t, teacher, GEN_PACKAGE)).choice(len(transfer), size, replace=False)
        transfer = tuple(transfer[i] for i in sorted(pick))
    texts = [c[0] for c in fed.agents[teacher].generate(transfer, fed.config.max_new_tokens, temperature, 1,
                                                        derived_seed(fed.config.seed, t, teacher, GEN_PACKAGE))]
    raw = evaluate_samples(transfer, list(zip([p.task_id for p in transfer], texts)), k=(1,), codebleu=False,
                           progress=False).pass_at_k["pass@1"]
    kept, report = fed.guardrails[teacher].check(texts)
    items = [(p.prompt, x) for p, x in zip(transfer, kept) if x is not None]
    return Package(teacher, items, report, sum(len(x.encode()) for _, x in items) / 1024.0, raw)


def run_round(fed: Federation, matcher: Matcher | None, normalizer: RewardNormalizer, t: int,
              evaluate_test: bool) -> RoundRecord:
    """Run round ``t`` (1-based) of ``fed`` with ``matcher`` (None: LocalOnly)."""
    c, agents, clock = fed.config, fed.agents, time.perf_counter()
    profiles = np.stack([s.profile() for s in fed.states])
    pairs = matcher.select(profiles, min(c.k_pairs, len(agents) // 2), t) if matcher else []
    rec = RoundRecord(t, profiles, [(int(a), int(b)) for a, b in pairs])
    alpha, temp = schedule(fed, t)
    for teacher, student in rec.pairs:
        rec.packages[student] = make_package(fed, teacher, t, temp)
    rec.seconds["packages"] = time.perf_counter() - clock
    pre = {s: agents[s].loss(agents[s].val_set) for s in rec.packages}
    losses = [a.train_round(rec.packages[i].items if i in rec.packages else (), alpha) for i, a in enumerate(agents)]
    rec.seconds["training"] = time.perf_counter() - clock - rec.seconds["packages"]
    _rewards(fed, matcher, normalizer, rec, pre)
    _measure(fed, rec, losses, alpha, temp, evaluate_test)
    rec.seconds["total"] = time.perf_counter() - clock
    return rec


def _rewards(fed, matcher, normalizer, rec: RoundRecord, pre: dict[int, float]) -> None:
    raw = []
    for teacher, student in rec.pairs:
        post = fed.agents[student].loss(fed.agents[student].val_set)
        r = eq3_reward(pre[student], post, int(rec.packages[student].kbytes * 1024), fed.config.gamma, fed.config.delta)
        z = normalizer(r)
        rec.rewards[student] = (pre[student], post, r, z)
        fed.states[teacher].add_reward("teacher", z)
        fed.states[student].add_reward("student", z)
        raw.append(r)
    if matcher is not None and rec.pairs:
        matcher.observe(rec.profiles, rec.pairs, raw)


def _measure(fed, rec: RoundRecord, losses, alpha: float, temp: float, evaluate_test: bool) -> None:
    c, t = fed.config, rec.round
    teacher_of = {s: te for te, s in rec.pairs}
    partner = teacher_of | {te: s for te, s in rec.pairs}
    for i, (agent, state) in enumerate(zip(fed.agents, fed.states)):
        val = score(agent, agent.val_set, c.max_new_tokens, seed=derived_seed(c.seed, t, i, GEN_VAL))
        val_loss = agent.loss(agent.val_set)
        state.record(val.pass_at_k["pass@1"], val.codebleu, val_loss, losses[i])
        row = base_row(fed, t, i)
        row |= {"role": "student" if i in teacher_of else "teacher" if i in partner else "local",
                "partner": fed.agents[partner[i]].id if i in partner else "",
                "alpha_kd": round(alpha, 4), "temperature": round(temp, 4), "local_loss": round(losses[i], 6),
                "val_loss": round(val_loss, 6), "val_pass1": round(val.pass_at_k["pass@1"], 6),
                "val_codebleu": round(val.codebleu, 6)}
        row |= test_columns(fed, rec, i, evaluate_test, student=i in teacher_of)
        row |= package_columns(rec, i)
        rec.rows.append(row)


def base_row(fed: Federation, t: int, i: int) -> dict[str, Any]:
    return {"round": t, "method": fed.config.method, "seed": fed.config.seed, "client": fed.agents[i].id}


def test_columns(fed: Federation, rec: RoundRecord, i: int, evaluate_test: bool, student: bool) -> dict[str, Any]:
    """Greedy test Pass@1 (eval rounds) and, for a student, Pass@1 on the transfer set (Table 5)."""
    if not evaluate_test:
        return {"pass@1": "", "transfer_pass1": ""}
    agent, c, t = fed.agents[i], fed.config, rec.round
    test = score(agent, fed.test_set, c.max_new_tokens, seed=derived_seed(c.seed, t, i, GEN_TEST), codebleu=False)
    rec.test_scores[i] = test
    transfer = ""
    if student:
        transfer = round(score(agent, fed.split.transfer[: c.eval_problems or None], c.max_new_tokens, codebleu=False,
                               seed=derived_seed(c.seed, t, i, GEN_TRANSFER)).pass_at_k["pass@1"], 6)
    return {"pass@1": round(test.pass_at_k["pass@1"], 6), "transfer_pass1": transfer}


def package_columns(rec: RoundRecord, i: int) -> dict[str, Any]:
    """The package a student received and the Eq. 3 reward it produced (blank for others)."""
    if i not in rec.packages:
        return dict.fromkeys(("package_items", "package_flagged", "package_dropped", "sier", "package_kb",
                              "package_pass1", "loss_pre", "loss_post", "reward", "reward_z"), "")
    p, (pre, post, r, z) = rec.packages[i], rec.rewards[i]
    return {"package_items": p.report.total, "package_flagged": p.report.flagged, "package_dropped": p.report.dropped,
            "sier": round(p.report.sier, 6), "package_kb": round(p.kbytes, 4), "package_pass1": round(p.pass1, 6),
            "loss_pre": round(pre, 6), "loss_post": round(post, 6), "reward": round(r, 6), "reward_z": round(z, 6)}
