"""The centralized baselines' round: every client → a server → one teacher text → every client distils.

* **Central-KD** (FedMD: Li & Wang, "FedMD: Heterogenous Federated Learning via Model
  Distillation", 2019): each round every client decodes its completions on the round's transfer
  prompts (through its own guardrail) and sends them to a server, which forms an ensemble teacher
  (:func:`knexa_core.fl.ensemble.consensus`, sequence level: the tokenizers differ) and broadcasts
  it; every client then trains with the AKD objective (Eq. 2) on it with the round's α_KD.
* **FedID-CentralKD** (FedID: Ma et al., "Federated Interactive Distillation for Large-Scale
  Pretraining Language Models", EMNLP 2023): the server holds a central model (LoRA on the Qwen
  family, tiny in ``smoke``/``cpu``) that learns from a confidence-weighted majority vote over the
  clients' normalized code (:func:`knexa_core.fl.ensemble.majority_vote`; a client's confidence is
  its last measured validation Pass@1 plus :data:`VOTE_FLOOR`), then decodes its own completions,
  checked by a server guardrail, which every client distils. FedID also corrects the central model
  with labelled data kept on the server; the paper's baseline names none, so our server has none.
No pairing and no CPM: the Eq. 3 reward is measured for every client (the per-round table shows
it) and reported to nobody. Agents are used only through ``generate``, ``train_round`` and
``loss``. Chapter ``02_federated_training``, section "The centralized baselines"; their per-client
collapse (supplementary Table 4) in chapter ``04_recompute_artifacts``.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from knexa_core.cpm.reward import RewardNormalizer
from knexa_core.data.schema import Problem
from knexa_core.eval import evaluate_samples
from knexa_core.fl.agent import Agent
from knexa_core.fl.akd import eq3_reward
from knexa_core.fl.ensemble import consensus, majority_vote
from knexa_core.fl.evaluate import score
from knexa_core.fl.federation import Federation, derived_seed
from knexa_core.fl.guardrail import Guardrail, GuardrailReport
from knexa_core.fl.rounds import GEN_VAL, Package, RoundRecord, base_row, package_columns, schedule, test_columns
from knexa_core.fl.worker import GEN_TRAIN

GEN_CENTRAL, GEN_SERVER = 5, 6   # purposes of derived seeds, after those of knexa_core.fl.rounds
SERVER = "server"                # the partner named in a client's per-round row
CENTRAL_BACKBONE = "Qwen/Qwen1.5-0.5B"  # FedID-CentralKD's central model: the Qwen family (roster C0)
VOTE_FLOOR = 0.05                # a client at validation Pass@1 0 still votes (a little)


def transfer_draw(fed: Federation, t: int) -> tuple[Problem, ...]:
    """Round ``t``'s transfer prompts (``package_size`` of them, one draw shared by every client)."""
    transfer, size = fed.split.transfer, fed.config.package_size
    if 0 < size < len(transfer):
        pick = np.random.default_rng(derived_seed(fed.config.seed, t, GEN_CENTRAL)).choice(len(transfer), size, replace=False)
        transfer = tuple(transfer[i] for i in sorted(pick))
    return tuple(transfer)


def pass_rate(problems: Sequence[Problem], texts: Sequence[str | None]) -> float:
    """Share of ``texts`` (one per problem; None fails) that pass their problem's tests."""
    pairs = [(p.task_id, t or "") for p, t in zip(problems, texts)]
    return evaluate_samples(problems, pairs, k=(1,), codebleu=False, progress=False).pass_at_k["pass@1"]


def client_predictions(fed: Federation, prompts: Sequence[Problem], t: int,
                       temperature: float) -> tuple[list[list[str | None]], list[GuardrailReport]]:
    """Every client's completions on ``prompts`` after its guardrail (None: dropped), and its report."""
    texts, reports = [], []
    for i, agent in enumerate(fed.agents):
        raw = [c[0] for c in agent.generate(prompts, fed.config.max_new_tokens, temperature, 1,
                                            derived_seed(fed.config.seed, t, i, GEN_CENTRAL))]
        kept, report = fed.guardrails[i].check(raw)
        texts.append(kept)
        reports.append(report)
    return texts, reports


class CentralServer:
    """Central-KD's server: the consensus of the clients' predictions is everyone's package."""

    def teacher_texts(self, fed: Federation, prompts: Sequence[Problem], preds: list[list[str | None]],
                      reports: list[GuardrailReport], t: int, temperature: float) -> tuple[list, GuardrailReport, dict]:
        """Per prompt the broadcast text (None: nothing), the package's guardrail counts, round notes."""
        choices = [consensus([p[j] for p in preds]) for j in range(len(prompts))]
        texts = [c.text if c else None for c in choices]
        support = [c.support for c in choices if c]
        notes = {"ensemble_pass1": pass_rate(prompts, texts), "ensemble_support": float(np.mean(support)) if support else 0.0}
        return texts, sum(reports, GuardrailReport()), notes

    def run_round(self, fed: Federation, normalizer: RewardNormalizer, t: int, evaluate_test: bool) -> RoundRecord:
        """Round ``t``: predictions → server → package → AKD for every client → Eq. 3 → measurements."""
        agents, clock = fed.agents, time.perf_counter()
        rec = RoundRecord(t, np.stack([s.profile() for s in fed.states]), [])
        alpha, temp = schedule(fed, t)
        prompts = transfer_draw(fed, t)
        preds, reports = client_predictions(fed, prompts, t, temp)
        texts, report, notes = self.teacher_texts(fed, prompts, preds, reports, t, temp)
        items = [(p.prompt, x) for p, x in zip(prompts, texts) if x is not None]
        package = Package(-1, items, report, sum(len(x.encode()) for _, x in items) / 1024.0, pass_rate(prompts, texts))
        rec.packages = dict.fromkeys(range(len(agents)), package)
        rec.seconds["packages"] = time.perf_counter() - clock
        pre = [a.loss(a.val_set) for a in agents]
        losses = []
        for i, a in enumerate(agents):
            _seeded(fed, t, i, GEN_TRAIN)  # LoRA dropout, as the workers of the peer-to-peer methods
            losses.append(a.train_round(package.items, alpha))
        rec.seconds["training"] = time.perf_counter() - clock - rec.seconds["packages"]
        for i, a in enumerate(agents):
            post = a.loss(a.val_set)
            r = eq3_reward(pre[i], post, int(package.kbytes * 1024), fed.config.gamma, fed.config.delta)
            rec.rewards[i] = (pre[i], post, r, normalizer(r))
        # per client: its own predictions' Pass@1 and SIER, then the server's (same for all)
        shared = {k: round(v, 6) for k, v in notes.items()}
        extra = [{"sent_pass1": round(pass_rate(prompts, p), 6), "sent_sier": round(rep.sier, 6)} | shared
                 for p, rep in zip(preds, reports)]
        _measure(fed, rec, losses, alpha, temp, evaluate_test, extra)
        rec.seconds["total"] = time.perf_counter() - clock
        return rec


class FedIDServer(CentralServer):
    """FedID-CentralKD's server: a central LoRA model learns the weighted vote, then teaches."""

    def __init__(self, fed: Federation, cache: Path | None = None) -> None:
        from knexa_core.fl.models import client_model, device_and_dtype

        self.device = device_and_dtype()[0]
        seed = derived_seed(fed.config.seed, GEN_SERVER)
        self.model, self.tokenizer = client_model(CENTRAL_BACKBONE, fed.config.backbone_choice(), seed, self.device, cache)
        self.guardrail = Guardrail([])  # the server holds no private solutions: secret and PII rules only

    def teacher_texts(self, fed, prompts, preds, reports, t, temperature):
        weights = [VOTE_FLOOR + (s.pass1[-1] if s.pass1 else 0.0) for s in fed.states]
        votes = [majority_vote([p[j] for p in preds], weights) for j in range(len(prompts))]
        labels = [dataclasses.replace(p, reference=v.text) for p, v in zip(prompts, votes) if v]
        seed = derived_seed(fed.config.seed, t, GEN_SERVER)
        if labels:  # a fresh optimizer each round on the round's pseudo-labels; the adapter persists
            _seeded(fed, t, len(fed.agents), GEN_SERVER)  # LoRA dropout of the central model
            Agent(SERVER, "qwen", self.model, self.tokenizer, labels, (), fed.config.train_config(), seed,
                  self.device).train_round()
        central = Agent(SERVER, "qwen", self.model, self.tokenizer, (), (), fed.config.train_config(), seed, self.device)
        raw = [c[0] for c in central.generate(prompts, fed.config.max_new_tokens, temperature, 1, seed)]
        kept, report = self.guardrail.check(raw)
        support = [v.support for v in votes if v]
        return kept, report, {"ensemble_pass1": pass_rate(prompts, [v.text if v else None for v in votes]),
                              "ensemble_support": float(np.mean(support)) if support else 0.0}


def _measure(fed: Federation, rec: RoundRecord, losses: list[float], alpha: float, temp: float,
             evaluate_test: bool, extra: list[dict[str, Any]]) -> None:
    """The per-round rows (the columns of :mod:`knexa_core.fl.rounds`, then ``extra``): all are students."""
    c, t = fed.config, rec.round
    for i, (agent, state) in enumerate(zip(fed.agents, fed.states)):
        val = score(agent, agent.val_set, c.max_new_tokens, seed=derived_seed(c.seed, t, i, GEN_VAL))
        val_loss = rec.rewards[i][1]
        state.record(val.pass_at_k["pass@1"], val.codebleu, val_loss, losses[i])
        row = base_row(fed, t, i) | {"role": "student", "partner": SERVER, "alpha_kd": round(alpha, 4),
                                     "temperature": round(temp, 4), "local_loss": round(losses[i], 6),
                                     "val_loss": round(val_loss, 6), "val_pass1": round(val.pass_at_k["pass@1"], 6),
                                     "val_codebleu": round(val.codebleu, 6)}
        row |= test_columns(fed, rec, i, evaluate_test, student=True)
        rec.rows.append(row | package_columns(rec, i) | extra[i])


def _seeded(fed: Federation, t: int, i: int, purpose: int) -> None:
    """Seed the global torch generator (LoRA dropout) for client ``i``'s training in round ``t``,
    as :class:`~knexa_core.fl.worker.ClientWorker` does for the peer-to-peer methods."""
    import torch

    torch.manual_seed(derived_seed(fed.config.seed, t, i, purpose))


SERVERS = {"central_kd": CentralServer, "fedid_central_kd": FedIDServer}


def make_server(fed: Federation, cache: Path | None = None) -> CentralServer | None:
    """The server of a centralized method (None for the peer-to-peer methods)."""
    kind = SERVERS.get(fed.config.method)
    if kind is FedIDServer:
        return FedIDServer(fed, cache)
    return kind() if kind else None
