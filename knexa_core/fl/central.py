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
it) and reported to nobody.

The clients' work runs on the federation's executor, as in the peer-to-peer rounds
(:mod:`knexa_core.fl.rounds`): ``predict`` (:meth:`~knexa_core.fl.worker.ClientWorker.predict`),
``val_loss``, ``train`` with the broadcast package (sent once: :meth:`~knexa_core.fl.executor.Executor.share`)
and ``measure``. The server stays in the driver and reads the clients' predictions: in FedMD and
FedID the server receives them by design (unlike a peer-to-peer package, which the driver never
reads). A client whose operation fails is reported on one line and left out of the rest of its
round (its row: ``failed=1``, no reward); if its prediction failed it is not in the round's vote or
consensus (a client that fails later has already voted). The run goes on.
FedID's server state, the central model's adapter (its Agent and optimizer are new every round),
is in every checkpoint (:meth:`CentralServer.state`). Chapter ``02_federated_training``, section
"The centralized baselines"; their per-client collapse (supplementary Table 4) in chapter
``04_recompute_artifacts``.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from knexa_core.cpm.reward import RewardNormalizer
from knexa_core.data.schema import Problem
from knexa_core.fl.agent import Agent
from knexa_core.fl.akd import eq3_reward
from knexa_core.fl.ensemble import consensus, majority_vote
from knexa_core.fl.federation import Federation, derived_seed
from knexa_core.fl.guardrail import Guardrail, GuardrailReport
from knexa_core.fl.rounds import Package, RoundRecord, base_row, client_row, every_client_failed, schedule, successes
from knexa_core.fl.worker import GEN_CENTRAL, GEN_SERVER, Prediction, adapter_state, draw, load_adapter, pass_rate

SERVER = "server"                # the partner named in a client's per-round row
CENTRAL_BACKBONE = "Qwen/Qwen1.5-0.5B"  # FedID-CentralKD's central model: the Qwen family (roster C0)
VOTE_FLOOR = 0.05                # a client at validation Pass@1 0 still votes (a little)


def transfer_draw(fed: Federation, t: int) -> tuple[Problem, ...]:
    """Round ``t``'s transfer prompts (``package_size`` of them, one draw shared by every client)."""
    return draw(fed.split.transfer, fed.config.package_size, derived_seed(fed.config.seed, t, GEN_CENTRAL))


class CentralServer:
    """Central-KD's server: the consensus of the clients' predictions is everyone's package."""

    def teacher_texts(self, fed: Federation, prompts: Sequence[Problem], preds: dict[int, Prediction], t: int,
                      temperature: float) -> tuple[list, GuardrailReport, dict]:
        """Per prompt the broadcast text (None: nothing), the package's guardrail counts, round notes."""
        choices = [consensus([p.texts[j] for p in preds.values()]) for j in range(len(prompts))]
        texts = [c.text if c else None for c in choices]
        support = [c.support for c in choices if c]
        notes = {"ensemble_pass1": pass_rate(prompts, texts), "ensemble_support": float(np.mean(support)) if support else 0.0}
        return texts, sum((p.report for p in preds.values()), GuardrailReport()), notes

    def package(self, fed: Federation, prompts: Sequence[Problem], preds: dict[int, Prediction], t: int,
                temperature: float) -> tuple[Package, dict[str, float]]:
        """The round's broadcast package (teacher -1: the server) and the server's notes for the rows."""
        texts, report, notes = self.teacher_texts(fed, prompts, preds, t, temperature)
        items = [(p.prompt, x) for p, x in zip(prompts, texts) if x is not None]
        kbytes = sum(len(x.encode()) for _, x in items) / 1024.0
        return Package(-1, items, report, kbytes, pass_rate(prompts, texts)), notes

    def state(self) -> Any:
        """What a checkpoint keeps of the server (Central-KD's keeps nothing between rounds)."""
        return None

    def load_state(self, state: Any) -> None:
        """Restore what :meth:`state` returned."""

    def run_round(self, fed: Federation, normalizer: RewardNormalizer, t: int, evaluate_test: bool) -> RoundRecord:
        """Round ``t``: predictions → server → package → AKD for every client → Eq. 3 → measurements."""
        ex, n, clock = fed.executor, len(fed.agents), time.perf_counter()
        rec = RoundRecord(t, np.stack([s.profile() for s in fed.states]), [])
        rec.failed |= {i: "the client's worker is dead" for i in range(n) if i in ex.dead}
        alpha, temp = schedule(fed, t)
        prompts = transfer_draw(fed, t)
        preds = successes(fed, rec, ex.run("predict", {i: (t, temp) for i in range(n) if i not in rec.failed}))
        every_client_failed(rec, n)
        package, notes = self.package(fed, prompts, preds, t, temp)
        rec.seconds["packages"] = time.perf_counter() - clock
        pre = successes(fed, rec, ex.run("val_loss", {i: () for i in preds}))
        rec.packages = dict.fromkeys(pre, package)
        shared = ex.share(package)
        losses = successes(fed, rec, ex.run("train", {i: (shared, alpha, t) for i in pre}))
        rec.seconds["training"] = time.perf_counter() - clock - rec.seconds["packages"]
        measured = successes(fed, rec, ex.run("measure", {i: (t, evaluate_test, evaluate_test) for i in losses}))
        every_client_failed(rec, n)
        for i, m in measured.items():
            r = eq3_reward(pre[i], m["val_loss"], int(package.kbytes * 1024), fed.config.gamma, fed.config.delta)
            rec.rewards[i] = (pre[i], m["val_loss"], r, normalizer(r))
        rec.rows = _rows(fed, rec, preds, losses, measured, alpha, temp, notes)
        rec.seconds["total"] = time.perf_counter() - clock
        return rec


def _rows(fed: Federation, rec: RoundRecord, preds: dict[int, Prediction], losses: dict[int, float],
          measured: dict[int, Any], alpha: float, temp: float, notes: dict[str, float]) -> list[dict[str, Any]]:
    """The round's rows (all clients are students of the server): the columns of
    :mod:`knexa_core.fl.rounds`, then the client's own predictions' Pass@1 and SIER, then the
    server's notes (the same for all)."""
    shared = {k: round(v, 6) for k, v in notes.items()}
    rows = []
    for i in range(len(fed.agents)):
        sent = {"sent_pass1": round(preds[i].pass1, 6), "sent_sier": round(preds[i].report.sier, 6)} if i in preds else {}
        row = base_row(fed, rec.round, i) | {"role": "student", "partner": SERVER}
        rows.append(client_row(fed, rec, i, row, losses, measured, alpha, temp, sent | shared))
    return rows


class FedIDServer(CentralServer):
    """FedID-CentralKD's server: a central LoRA model learns the weighted vote, then teaches."""

    def __init__(self, fed: Federation, cache: Path | None = None) -> None:
        from knexa_core.fl.models import client_model, device_and_dtype

        self.device = device_and_dtype()[0]
        seed = derived_seed(fed.config.seed, GEN_SERVER)
        self.model, self.tokenizer = client_model(CENTRAL_BACKBONE, fed.config.backbone_choice(), seed, self.device, cache)
        self.guardrail = Guardrail([])  # the server holds no private solutions: secret and PII rules only

    def teacher_texts(self, fed, prompts, preds, t, temperature):
        weights = [VOTE_FLOOR + (fed.states[i].pass1[-1] if fed.states[i].pass1 else 0.0) for i in preds]
        votes = [majority_vote([p.texts[j] for p in preds.values()], weights) for j in range(len(prompts))]
        labels = [dataclasses.replace(p, reference=v.text) for p, v in zip(prompts, votes) if v]
        c, seed = fed.config, derived_seed(fed.config.seed, t, GEN_SERVER)
        if labels:  # a fresh Agent and optimizer each round on the round's pseudo-labels; the adapter persists
            import torch

            torch.manual_seed(derived_seed(c.seed, t, len(fed.agents), GEN_SERVER))  # LoRA dropout of the central model
            Agent(SERVER, "qwen", self.model, self.tokenizer, labels, (), c.train_config(), seed, self.device).train_round()
        central = Agent(SERVER, "qwen", self.model, self.tokenizer, (), (), c.train_config(), seed, self.device)
        raw = [x[0] for x in central.generate(prompts, c.max_new_tokens, temperature, 1, seed)]
        kept, report = self.guardrail.check(raw)
        support = [v.support for v in votes if v]
        return kept, report, {"ensemble_pass1": pass_rate(prompts, [v.text if v else None for v in votes]),
                              "ensemble_support": float(np.mean(support)) if support else 0.0}

    def state(self) -> dict[str, Any]:
        """The central model's adapter: all the server keeps between rounds (every draw it makes is
        seeded by (seed, round, purpose), and its Agent and optimizer are new every round)."""
        return adapter_state(self.model)

    def load_state(self, state: dict[str, Any]) -> None:
        load_adapter(self.model, state)


SERVERS = {"central_kd": CentralServer, "fedid_central_kd": FedIDServer}


def make_server(fed: Federation, cache: Path | None = None, state: Any = None) -> CentralServer | None:
    """The server of a centralized method (None for the peer-to-peer methods), with ``state``
    (a checkpoint's :meth:`CentralServer.state`) when resuming."""
    kind = SERVERS.get(fed.config.method)
    if kind is None:
        return None
    server = FedIDServer(fed, cache) if kind is FedIDServer else kind()
    if state is not None:
        server.load_state(state)
    return server
