"""One collaboration round: profiles → pairs → packages → guardrail → AKD → rewards → measurements.

The same function runs every method; only the matcher differs (:mod:`knexa_core.fl.methods`).
The clients' work runs on the federation's executor (:mod:`knexa_core.fl.executor`): the driver
keeps the profiles and the CPM, and learns of a package only its summary. A client whose
operation fails (an exception, a dead actor) is logged, its pair is dissolved (no reward reaches
the CPM for it) and it is measured no further this round; the run goes on.
A round returns one row per client (the per-round CSV) and the details the chapter narrates.
Chapter ``02_federated_training``, section "One round, step by step".
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knexa_core.cpm.matchers import Matcher
from knexa_core.cpm.reward import RewardNormalizer
from knexa_core.errors import KnexaError
from knexa_core.fl.akd import eq3_reward, linear
from knexa_core.fl.executor import Failure
from knexa_core.fl.federation import Federation
from knexa_core.fl.worker import GEN_FINAL, GEN_PACKAGE, GEN_TEST, GEN_TRANSFER, GEN_VAL, Package  # noqa: F401 (re-exported)


@dataclass
class RoundRecord:
    """What happened in a round (``rows``: one per client; the rest for the chapter's narration)."""

    round: int
    profiles: np.ndarray
    pairs: list[tuple[int, int]]     # pairs that ran and were rewarded
    packages: dict[int, Any] = field(default_factory=dict)   # student index -> PackageSummary
    rewards: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)  # student -> pre, post, raw, z
    rows: list[dict[str, Any]] = field(default_factory=list)
    test_scores: dict[int, Any] = field(default_factory=dict)   # client -> greedy test Score (eval rounds)
    seconds: dict[str, float] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)       # client -> one-line error
    dissolved: list[tuple[int, int]] = field(default_factory=list)  # pairs dropped because a client failed
    handles: dict[int, Any] = field(default_factory=dict)      # student -> package (local) or object ref (Ray)

    def __getstate__(self) -> dict[str, Any]:  # checkpoints keep no object refs (a centralized
        # round's broadcast package, texts included, stays in ``packages``: chapter 02 reads it)
        return self.__dict__ | {"handles": {}}


def schedule(fed: Federation, t: int) -> tuple[float, float]:
    """(α_KD, T) of round ``t`` (T = 0: greedy packages)."""
    c = fed.config
    alpha = linear(c.kd_alpha_start, c.kd_alpha_end, t, c.rounds)
    temp = linear(c.kd_t_start, c.kd_t_end, t, c.rounds) if c.package_decoding == "schedule" else 0.0
    return alpha, temp


def select_pairs(matcher: Matcher | None, profiles: np.ndarray, live: list[int], k: int, t: int) -> list[tuple[int, int]]:
    """The matcher's pairs among the ``live`` clients (indices of ``profiles``)."""
    if matcher is None or len(live) < 2:
        return []
    pairs = matcher.select(profiles[live], min(k, len(live) // 2), t)
    return [(live[int(a)], live[int(b)]) for a, b in pairs]


def run_round(fed: Federation, matcher: Matcher | None, normalizer: RewardNormalizer, t: int,
              evaluate_test: bool) -> RoundRecord:
    """Run round ``t`` (1-based) of ``fed`` with ``matcher`` (None: LocalOnly)."""
    ex, n, clock = fed.executor, len(fed.agents), time.perf_counter()
    profiles = np.stack([s.profile() for s in fed.states])
    live = [i for i in range(n) if i not in ex.dead]
    rec = RoundRecord(t, profiles, select_pairs(matcher, profiles, live, fed.config.k_pairs, t))
    rec.failed |= {i: "the client's worker is dead" for i in range(n) if i not in live}
    alpha, temp = schedule(fed, t)
    rec.handles, summaries = ex.packages({te: (t, temp) for te, _ in rec.pairs})
    rec.handles = {s: rec.handles[te] for te, s in rec.pairs if te in rec.handles}
    rec.packages = {s: summaries[te] for te, s in rec.pairs if not _failed(fed, rec, {te: summaries[te]})}
    rec.seconds["packages"] = time.perf_counter() - clock
    pre = successes(fed, rec, ex.run("val_loss", {s: () for s in rec.packages}))
    jobs = {i: (rec.handles.get(i), alpha, t) for i in range(n) if i not in rec.failed}
    losses = successes(fed, rec, ex.run("train", jobs))
    rec.seconds["training"] = time.perf_counter() - clock - rec.seconds["packages"]
    students = {s for _, s in rec.pairs}
    measured = successes(fed, rec, ex.run("measure", {i: (t, evaluate_test, evaluate_test and i in students)
                                                      for i in losses if i not in rec.failed}))
    every_client_failed(rec, n)
    _rewards(fed, matcher, normalizer, rec, pre, measured)
    _measure(fed, rec, losses, measured, alpha, temp)
    rec.seconds["total"] = time.perf_counter() - clock
    return rec


def every_client_failed(rec: RoundRecord, n: int) -> None:
    """A one-line error when all ``n`` clients have failed in round ``rec.round``."""
    if len(rec.failed) == n:
        raise KnexaError(f"every client failed in round {rec.round} (first: {rec.failed[0]}); see the lines above")


def _failed(fed: Federation, rec: RoundRecord, results: dict[int, Any]) -> bool:
    """Record the failures among ``results`` (one line each on stderr); True if there was one."""
    bad = {i: v for i, v in results.items() if isinstance(v, Failure)}
    for i, f in bad.items():
        rec.failed[i] = f.error
        sys.stderr.write(f"warning: client {fed.agents[i].id} failed in round {rec.round} ({f.error}); "
                         "excluded from the rest of this round, no reward reported\n")
    return bool(bad)


def successes(fed: Federation, rec: RoundRecord, results: dict[int, Any]) -> dict[int, Any]:
    """The successful results; failures are recorded and their pairs dissolved."""
    _failed(fed, rec, results)
    for pair in [p for p in rec.pairs if set(p) & set(rec.failed)]:
        rec.pairs.remove(pair)
        rec.dissolved.append(pair)
    return {i: v for i, v in results.items() if not isinstance(v, Failure)}


def _rewards(fed, matcher, normalizer, rec: RoundRecord, pre: dict[int, float], measured: dict[int, Any]) -> None:
    raw = []
    for teacher, student in rec.pairs:
        post = measured[student]["val_loss"]
        r = eq3_reward(pre[student], post, int(rec.packages[student].kbytes * 1024), fed.config.gamma, fed.config.delta)
        z = normalizer(r)
        rec.rewards[student] = (pre[student], post, r, z)
        fed.states[teacher].add_reward("teacher", z)
        fed.states[student].add_reward("student", z)
        raw.append(r)
    if matcher is not None and rec.pairs:
        matcher.observe(rec.profiles, rec.pairs, raw)


def _measure(fed, rec: RoundRecord, losses, measured, alpha: float, temp: float) -> None:
    teacher_of = {s: te for te, s in rec.pairs + rec.dissolved}
    partner = teacher_of | {te: s for te, s in rec.pairs + rec.dissolved}
    for i in range(len(fed.agents)):
        row = base_row(fed, rec.round, i)
        row |= {"role": "student" if i in teacher_of else "teacher" if i in partner else "local",
                "partner": fed.agents[partner[i]].id if i in partner else ""}
        rec.rows.append(client_row(fed, rec, i, row, losses, measured, alpha, temp))


def client_row(fed: Federation, rec: RoundRecord, i: int, row: dict[str, Any], losses: dict[int, float],
               measured: dict[int, Any], alpha: float, temp: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``row`` completed with client ``i``'s round: ``failed=1`` only if it failed, else its
    measurements (recorded in its profile state too), package and reward columns, ``extra``, ``failed=0``."""
    if i in rec.failed:
        return row | {"failed": 1}
    m = measured[i]
    fed.states[i].record(m["val"].pass_at_k["pass@1"], m["val"].codebleu, m["val_loss"], losses[i])
    row |= {"alpha_kd": round(alpha, 4), "temperature": round(temp, 4), "local_loss": round(losses[i], 6),
            "val_loss": round(m["val_loss"], 6), "val_pass1": round(m["val"].pass_at_k["pass@1"], 6),
            "val_codebleu": round(m["val"].codebleu, 6)}
    return row | measured_test_columns(rec, i, m) | package_columns(rec, i) | (extra or {}) | {"failed": 0}


def base_row(fed: Federation, t: int, i: int) -> dict[str, Any]:
    return {"round": t, "method": fed.config.method, "seed": fed.config.seed, "client": fed.agents[i].id}


def measured_test_columns(rec: RoundRecord, i: int, measured: dict[str, Any]) -> dict[str, Any]:
    """Greedy test Pass@1 (eval rounds) and, for a student, Pass@1 on the transfer set (Table 5),
    from what the client's worker measured (:meth:`~knexa_core.fl.worker.ClientWorker.measure`)."""
    if measured["test"] is None:
        return {"pass@1": "", "transfer_pass1": ""}
    rec.test_scores[i] = measured["test"]
    transfer = "" if measured["transfer"] is None else round(measured["transfer"], 6)
    return {"pass@1": round(measured["test"].pass_at_k["pass@1"], 6), "transfer_pass1": transfer}


def package_columns(rec: RoundRecord, i: int) -> dict[str, Any]:
    """The package a student received and the Eq. 3 reward it produced (blank for others)."""
    names = ("package_items", "package_flagged", "package_dropped", "sier", "package_kb", "package_pass1",
             "loss_pre", "loss_post", "reward", "reward_z")
    if i not in rec.packages or i not in rec.rewards:
        return dict.fromkeys(names, "")
    p, (pre, post, r, z) = rec.packages[i], rec.rewards[i]
    return {"package_items": p.report.total, "package_flagged": p.report.flagged, "package_dropped": p.report.dropped,
            "sier": round(p.report.sier, 6), "package_kb": round(p.kbytes, 4), "package_pass1": round(p.pass1, 6),
            "loss_pre": round(pre, 6), "loss_post": round(post, 6), "reward": round(r, 6), "reward_z": round(z, 6)}
