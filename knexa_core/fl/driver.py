"""The one driver of every method: build the federation, run the rounds, evaluate, write artifacts.

``run_federation(config, out_dir)`` is what ``knexa train`` and chapter ``02_federated_training``
call. Round 0 measures the untrained clients; rounds 1..R run :func:`knexa_core.fl.rounds.run_round`
(the peer-to-peer methods) or the server round of :mod:`knexa_core.fl.central` (the centralized
baselines, whose server lives here in the driver), both on the federation's executor, with a
checkpoint after every round;
the end evaluates every client on the global test set with ``final_samples`` sampled completions
per problem (Pass@1/5/10, CodeBLEU) and writes the run in the paper's artifact layout
(:mod:`knexa_core.artifacts.writers`), tagged ``seed<seed>`` so that several runs share a folder:

- ``knexa_fl/logs/seed<S>_KNEXA_FL_s6.log`` or ``baselines/summaries/seed<S>_<Method>_s6_summary.json``;
- beside it ``_parameters.json`` (the resolved config), ``_rounds.csv`` (one row per round and
  client), ``_clients.csv`` (final values per client) and ``_categories.csv`` (Pass@1 per client
  and category, before and after training);
- ``roster/`` and ``data/splits/`` of the split used.
Same config, same bytes.
"""
from __future__ import annotations

import fcntl
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from knexa_core.artifacts import layout
from knexa_core.artifacts.writers import write_knexa_log, write_method_summary
from knexa_core.cpm.reward import RewardNormalizer
from knexa_core.data.make_splits import write_split_artifacts
from knexa_core.errors import ConfigError, KnexaError
from knexa_core.fl import checkpoint as ckpt
from knexa_core.fl.central import make_server
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.executor import Failure
from knexa_core.fl.evaluate import Score, score
from knexa_core.fl.federation import Federation, build_federation
from knexa_core.fl.methods import METHODS, pairing_policy
from knexa_core.fl.rounds import RoundRecord, base_row, run_round
from knexa_core.io import check_writable, read_json, write_csv
from knexa_core.progress import progress


@dataclass
class FederationResult:
    """A finished run: its rows, final scores and the per-round records (for the chapter)."""

    config: FederationConfig
    rows: list[dict[str, Any]]
    initial: list[Score]
    final: list[Score]
    final_greedy: list[Score]
    records: list[RoundRecord] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    agent_stats: list[dict[str, float]] = field(default_factory=list)  # tokens and seconds per client
    federation: Federation | None = None  # the trained agents, for probes after the run (chapter 02)

    def averages(self) -> dict[str, float]:
        """Table 4's numbers: Pass@1/5/10 and CodeBLEU averaged over clients."""
        keys = list(self.final[0].pass_at_k)
        out = {k: sum(s.pass_at_k[k] for s in self.final) / len(self.final) for k in keys}
        out["codebleu"] = sum(s.codebleu for s in self.final) / len(self.final)
        return out


def initial_rows(fed: Federation) -> tuple[list[dict[str, Any]], list[Score]]:
    """Round 0: the untrained clients on the validation and test sets (a failure here stops the run)."""
    ex, every = fed.executor, {i: () for i in range(len(fed.agents))}
    measured = _all_or_error(ex.run("measure", {i: (0, True, False) for i in every}), fed, "before training")
    train_losses = _all_or_error(ex.run("train_loss", every), fed, "before training")
    rows, scores = [], []
    for i, state in enumerate(fed.states):
        val, loss, test = measured[i]["val"], measured[i]["val_loss"], measured[i]["test"]
        state.record(val.pass_at_k["pass@1"], val.codebleu, loss, train_losses[i], count_round=False)
        scores.append(test)
        rows.append(base_row(fed, 0, i) | {"role": "", "partner": "", "pass@1": round(test.pass_at_k["pass@1"], 6),
                                           "val_pass1": round(val.pass_at_k["pass@1"], 6), "val_loss": round(loss, 6)})
    return rows, scores


def _all_or_error(results: dict[int, Any], fed: Federation, when: str) -> dict[int, Any]:
    """``results`` if no client failed, else a one-line error naming the first failure."""
    bad = [v for v in results.values() if isinstance(v, Failure)]
    if bad:
        raise KnexaError(f"client {fed.agents[bad[0].client].id} failed {when}: {bad[0].error}")
    return results


def run_federation(config: FederationConfig, out_dir: str | Path | None = None, roster: str | Path | None = None,
                   cache: Path | None = None, on_round: Callable[[RoundRecord], None] | None = None,
                   executor: str = "local", resume: bool = False, address: str | None = None) -> FederationResult:
    """Run ``config`` end to end; write its artifacts under ``out_dir`` when given.

    With ``out_dir``, a checkpoint is written after every round (:mod:`knexa_core.fl.checkpoint`)
    and ``resume=True`` continues from the newest one. ``executor`` is ``"local"`` or ``"ray"``
    (``address``: an existing Ray cluster). An output folder that cannot be written, or a resume
    without a checkpoint, is an error before any training.
    """
    root = None if out_dir is None else ckpt.run_dir(out_dir, config.seed, config.method)
    if out_dir is not None:
        check_writable(Path(out_dir) / ".knexa-train.lock")
    if resume and root is None:
        raise ConfigError("resume needs the output folder that holds the checkpoints (--out)")
    start = ckpt.latest(root, config.to_dict()) if resume else 0
    clock = time.perf_counter()
    fed = build_federation(config, roster, cache, executor, address)
    built = time.perf_counter() - clock
    run, server_state = _resumed(fed, root, start) if start else (_fresh(fed, root), None)
    server = make_server(fed, cache, server_state)  # the centralized baselines' server; None for the P2P methods
    bar = progress(range(start + 1, config.rounds + 1), desc=f"{config.method} seed {config.seed}", unit="round",
                   initial=start, total=config.rounds)
    for t in bar:
        _revive(fed, root)
        evaluate = t % config.eval_every == 0 or t == config.rounds
        rec = (server.run_round(fed, run.normalizer, t, evaluate) if server
               else run_round(fed, run.matcher, run.normalizer, t, evaluate))
        run.records.append(rec)
        run.rows.extend(rec.rows)
        bar.set_postfix(pairs=" ".join(f"{fed.agents[a].id}>{fed.agents[b].id}" for a, b in rec.pairs) or "-")
        if root is not None:
            _checkpoint(fed, root, run, t, server)
        if on_round:
            on_round(rec)
    return _finish(fed, run, out_dir, root, {"build": built, "start": clock})


@dataclass
class _Run:
    """The driver's state between rounds (what a checkpoint keeps besides the clients)."""

    matcher: Any
    normalizer: RewardNormalizer
    rows: list[dict[str, Any]]
    initial: list[Score]
    records: list[RoundRecord] = field(default_factory=list)


def _fresh(fed: Federation, root: Path | None) -> _Run:
    c = fed.config
    if root is not None:
        ckpt.clear(root)  # a new run: checkpoints of an earlier one with this seed and method are stale
    matcher = pairing_policy(c.method, c.seed, c.bandit_context, c.bandit_lam, c.bandit_beta0, c.bandit_beta_schedule)
    rows, initial = initial_rows(fed)
    return _Run(matcher, RewardNormalizer(), rows, initial)


def _resumed(fed: Federation, root: Path, t: int) -> tuple[_Run, Any]:
    """The driver's state from the checkpoint of round ``t`` and the server's (None: no server)."""
    driver, clients = ckpt.load(root, t)
    _all_or_error(fed.executor.run("load_state", {i: (s,) for i, s in clients.items()}), fed, "to load its checkpoint")
    fed.states[:] = driver["states"]
    return driver["run"], driver.get("server")


def _checkpoint(fed: Federation, root: Path, run: _Run, t: int, server: Any) -> None:
    _revive(fed, root)
    states = _all_or_error(fed.executor.run("state", {i: () for i in range(len(fed.agents))}), fed,
                           f"while its round-{t} checkpoint was taken")
    server_state = server.state() if server is not None else None
    ckpt.save(root, t, fed.config.to_dict(), {"run": run, "states": fed.states, "server": server_state}, states)


def _revive(fed: Federation, root: Path | None) -> None:
    """Replace dead workers (Ray actors), from the newest checkpoint when there is one."""
    if not fed.executor.dead:
        return
    saved = ckpt.rounds_saved(root) if root is not None else []
    clients = ckpt.load_clients(root, saved[-1]) if saved else {}
    for i in fed.executor.revive({i: clients.get(i) for i in fed.executor.dead}):
        sys.stderr.write(f"warning: client {fed.agents[i].id}'s worker was restarted "
                         f"{f'from the round-{saved[-1]} checkpoint' if saved else 'with a fresh adapter'}\n")


def _finish(fed: Federation, run: _Run, out_dir, root: Path | None, clock: dict[str, float]) -> FederationResult:
    rounds_done = time.perf_counter()
    _revive(fed, root)
    final, greedy = final_scores(fed, run.records[-1])
    stats = _all_or_error(fed.executor.run("stats", {i: () for i in range(len(fed.agents))}), fed, "(stats)")
    result = FederationResult(fed.config, run.rows, run.initial, final, greedy, run.records,
                              {"build": clock["build"], "rounds": rounds_done - clock["start"] - clock["build"],
                               "final": time.perf_counter() - rounds_done},
                              agent_stats=[stats[i] for i in range(len(fed.agents))], federation=fed)
    if out_dir is not None:
        result.files = write_run(fed, result, Path(out_dir))
        ckpt.clear(root)
    result.seconds["total"] = time.perf_counter() - clock["start"]
    return result


def final_scores(fed: Federation, last: RoundRecord | None) -> tuple[list[Score], list[Score]]:
    """Every client on the global test set: ``final_samples`` sampled completions per problem
    (Pass@1/5/10, CodeBLEU), and the greedy scores of the last round (Pass@1 per category; measured
    now for a client that failed in the last round)."""
    n, ex = len(fed.agents), fed.executor
    final = _all_or_error(ex.run("final_score", {i: () for i in range(n)}), fed, "in the final evaluation")
    missing = {i: (fed.config.rounds,) for i in range(n) if i not in last.test_scores}
    greedy = last.test_scores | _all_or_error(ex.run("test_score", missing), fed, "in the final evaluation")
    return [final[i] for i in range(n)], [greedy[i] for i in range(n)]


def uniform_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with the columns of the longest row, in its order (blank where not measured)."""
    columns = max((list(r) for r in rows), key=len)
    return [{k: r.get(k, "") for k in columns} for r in rows]


def client_rows(fed: Federation, result: FederationResult) -> list[dict[str, Any]]:
    """One row per client: final Pass@k and CodeBLEU, base and peak Pass@1, roles, packages."""
    out = []
    for i, (client, agent) in enumerate(zip(fed.clients, fed.agents)):
        mine = [r for r in uniform_rows(result.rows) if r["client"] == agent.id]
        tested = [r["pass@1"] for r in mine if r["pass@1"] != ""]
        transfer = [r["transfer_pass1"] for r in mine if r.get("transfer_pass1", "") != ""]
        sent = [rec.packages[s].report.sier for rec in result.records for te, s in rec.pairs if te == i]
        row = {"client": agent.id, "backbone": client.backbone, "family": agent.family,
               "train": len(agent.train_set), "val": len(agent.val_set)}
        row |= {k: round(v, 6) for k, v in result.final[i].pass_at_k.items()}
        row |= {"codebleu": round(result.final[i].codebleu, 6),
                "greedy_pass1": round(result.final_greedy[i].pass_at_k["pass@1"], 6),
                "base_pass1": round(result.initial[i].pass_at_k["pass@1"], 6),
                "peak_pass1": round(max(tested), 6), "peak_transfer_pass1": round(max(transfer), 6) if transfer else "",
                "times_teacher": sum(r["role"] == "teacher" for r in mine),
                "times_student": sum(r["role"] == "student" for r in mine),
                "sier_sent": round(sum(sent) / len(sent), 6) if sent else ""}
        out.append(row)
    return out


def category_rows(fed: Federation, result: FederationResult) -> list[dict[str, Any]]:
    """Greedy Pass@1 per client and category, before and after training, with the client's share of it."""
    from knexa_core.data.categories import CATEGORIES, category_histogram

    tests = {p.category for p in fed.test_set}
    out = []
    for i, agent in enumerate(fed.agents):
        held = fed.states[i].histogram  # train + val: the profile's histogram
        trained = category_histogram(agent.train_set)
        for k, cat in enumerate(CATEGORIES):
            if cat in tests:
                out.append({"client": agent.id, "category": cat, "held_share": round(float(held[k]) / float(sum(held)), 6),
                            "train_share": round(float(trained[k]) / float(sum(trained)), 6),
                            "base_pass1": round(result.initial[i].by_category[cat], 6),
                            "final_pass1": round(result.final_greedy[i].by_category[cat], 6)})
    return out


def write_run(fed: Federation, result: FederationResult, out: Path) -> dict[str, Path]:
    """Write the run's artifacts under ``out`` (see the module docstring); return the main paths.

    Several runs (the book's batch runs two at once) share ``out``: a lock file serializes their
    writes, the split is written only when it differs from the one there, and each run's own files
    are written with its main file (summary or log, what readers count) last.
    """
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".knexa-train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _write_run(fed, result, out)


def _write_run(fed: Federation, result: FederationResult, out: Path) -> dict[str, Path]:
    c, name = fed.config, METHODS[fed.config.method][1]
    manifest = out / layout.splits_dir("") / "split_manifest.json"
    if not manifest.is_file() or read_json(manifest) != fed.manifest:
        write_split_artifacts(fed.split, fed.manifest, out, None)
    averages = result.averages()
    pass_at_k = {k: averages[k] for k in ("pass@1", "pass@5", "pass@10")}
    kwargs = dict(num_clients=len(fed.agents), num_rounds=c.rounds, pass_at_k=pass_at_k,
                  codebleu=averages["codebleu"], parameters=c.to_dict(), per_round=uniform_rows(result.rows),
                  per_client=client_rows(fed, result), tag=f"seed{c.seed}")
    main_path = layout.run_file(out, name, len(fed.agents), f"seed{c.seed}")
    main_path.unlink(missing_ok=True)  # a crash below leaves no main file beside new richer files
    cats_rows = category_rows(fed, result)  # written before the main file, which readers count last
    cats = write_csv(layout.sidecar(main_path, "_categories.csv"), cats_rows, list(cats_rows[0]))
    if c.method == "knexa_fl":
        main = write_knexa_log(out, **kwargs)
    else:
        main = write_method_summary(out, name, **kwargs)
    return {"main": main, "categories": cats}
