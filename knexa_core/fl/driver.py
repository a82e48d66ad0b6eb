"""The one driver of every method: build the federation, run the rounds, evaluate, write artifacts.

``run_federation(config, out_dir)`` is what ``knexa train`` and chapter ``02_federated_training``
call. Round 0 measures the untrained clients; rounds 1..R run :func:`knexa_core.fl.rounds.run_round`;
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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from knexa_core.artifacts import layout
from knexa_core.artifacts.writers import write_knexa_log, write_method_summary
from knexa_core.cpm.reward import RewardNormalizer
from knexa_core.data.make_splits import write_split_artifacts
from knexa_core.fl.central import make_server
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.evaluate import Score, score
from knexa_core.fl.federation import Federation, build_federation, derived_seed
from knexa_core.fl.methods import METHODS, pairing_policy
from knexa_core.fl.rounds import GEN_FINAL, GEN_TEST, GEN_VAL, RoundRecord, base_row, run_round
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
    """Round 0: the untrained clients on the validation and test sets."""
    c, rows, scores = fed.config, [], []
    for i, (agent, state) in enumerate(zip(fed.agents, fed.states)):
        val = score(agent, agent.val_set, c.max_new_tokens, seed=derived_seed(c.seed, 0, i, GEN_VAL))
        loss = agent.loss(agent.val_set)
        state.record(val.pass_at_k["pass@1"], val.codebleu, loss, agent.loss(agent.train_set), count_round=False)
        test = score(agent, fed.test_set, c.max_new_tokens, seed=derived_seed(c.seed, 0, i, GEN_TEST),
                     codebleu=False)
        scores.append(test)
        rows.append(base_row(fed, 0, i) | {"role": "", "partner": "", "pass@1": round(test.pass_at_k["pass@1"], 6),
                                           "val_pass1": round(val.pass_at_k["pass@1"], 6), "val_loss": round(loss, 6)})
    return rows, scores


def run_federation(config: FederationConfig, out_dir: str | Path | None = None, roster: str | Path | None = None,
                   cache: Path | None = None, on_round: Callable[[RoundRecord], None] | None = None) -> FederationResult:
    """Run ``config`` end to end; write its artifacts under ``out_dir`` when given.

    An output folder that cannot be written is an error before any training.
    """
    if out_dir is not None:
        check_writable(Path(out_dir) / ".knexa-train.lock")
    clock = time.perf_counter()
    fed = build_federation(config, roster, cache)
    built = time.perf_counter() - clock
    matcher = pairing_policy(config.method, config.seed, config.bandit_context, config.bandit_lam, config.bandit_beta0,
                             config.bandit_beta_schedule)
    normalizer = RewardNormalizer()
    server = make_server(fed, cache)  # the centralized baselines' server; None for the P2P methods
    rows, initial = initial_rows(fed)
    records = []
    bar = progress(range(1, config.rounds + 1), desc=f"{config.method} seed {config.seed}", unit="round")
    for t in bar:
        evaluate = t % config.eval_every == 0 or t == config.rounds
        rec = server.run_round(fed, normalizer, t, evaluate) if server else run_round(fed, matcher, normalizer, t, evaluate)
        records.append(rec)
        rows.extend(rec.rows)
        bar.set_postfix(pairs=" ".join(f"{fed.agents[a].id}>{fed.agents[b].id}" for a, b in rec.pairs) or "-")
        if on_round:
            on_round(rec)
    rounds_done = time.perf_counter()
    final, greedy = final_scores(fed, records[-1])
    result = FederationResult(config, rows, initial, final, greedy, records,
                              {"build": built, "rounds": rounds_done - clock - built,
                               "final": time.perf_counter() - rounds_done},
                              agent_stats=[dict(a.stats) for a in fed.agents], federation=fed)
    if out_dir is not None:
        result.files = write_run(fed, result, Path(out_dir))
    result.seconds["total"] = time.perf_counter() - clock
    return result


def final_scores(fed: Federation, last: RoundRecord | None) -> tuple[list[Score], list[Score]]:
    """Every client on the global test set: ``final_samples`` sampled completions per problem
    (Pass@1/5/10, CodeBLEU), and the greedy scores of the last round (Pass@1 per category)."""
    c, final = fed.config, []
    for i, agent in enumerate(progress(fed.agents, desc="final evaluation", unit="client")):
        final.append(score(agent, fed.test_set, c.max_new_tokens, c.final_samples, c.final_temperature,
                           derived_seed(c.seed, c.rounds + 1, i, GEN_FINAL)))
    return final, [last.test_scores[i] for i in range(len(fed.agents))]


def uniform_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with the columns of the longest row, in its order (blank where not measured)."""
    columns = max((list(r) for r in rows), key=len)
    return [{k: r.get(k, "") for k in columns} for r in rows]


def client_rows(fed: Federation, result: FederationResult) -> list[dict[str, Any]]:
    """One row per client: final Pass@k and CodeBLEU, base and peak Pass@1, roles, packages."""
    out = []
    for i, (client, agent) in enumerate(zip(fed.clients, fed.agents)):
        mine = [r for r in result.rows if r["client"] == agent.id]
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
