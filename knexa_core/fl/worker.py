"""A client worker: one agent with its guardrail and its problem sets, and what a round asks of it.

An executor (:mod:`knexa_core.fl.executor`) holds one worker per client, in the driver's process
(``local``) or inside a Ray actor (``ray``). Every operation is self-contained and seeded from
``(run seed, round, client, purpose)`` (:func:`~knexa_core.fl.federation.derived_seed`), never
from what ran before it in the same process, so both executors give the same bytes:

* :meth:`ClientWorker.make_package`: the teacher's completions on transfer prompts, scored and
  passed through its guardrail; returns the package (which stays with the worker's executor and
  goes to the student) and a :class:`PackageSummary` (counts only) for the driver.
* :meth:`ClientWorker.predict`: the centralized baselines' upload, the client's completions on
  the round's shared transfer draw, through its guardrail, with their Pass@1.
* :meth:`ClientWorker.train`: one round of local training (AKD with a package); the global torch
  generator, which LoRA dropout draws from, is seeded first.
* :meth:`ClientWorker.measure`: validation Pass@1, CodeBLEU and loss, test and transfer Pass@1.
* :meth:`ClientWorker.state` / :meth:`ClientWorker.load_state`: what a checkpoint keeps.
Chapter ``02_federated_training``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np
import torch

from knexa_core.data.schema import Problem
from knexa_core.eval import evaluate_samples
from knexa_core.fl.agent import Agent
from knexa_core.fl.evaluate import Score, score
from knexa_core.fl.guardrail import Guardrail

GEN_PACKAGE, GEN_VAL, GEN_TEST, GEN_TRANSFER, GEN_FINAL = range(5)  # purposes of derived seeds
GEN_CENTRAL, GEN_SERVER = 5, 6   # the centralized baselines' (knexa_core.fl.central): uploads, the server
GEN_TRAIN = 7                    # local training (LoRA dropout)


def draw(problems: Sequence[Problem], size: int, seed: int) -> tuple[Problem, ...]:
    """``size`` of ``problems`` drawn with ``seed``, in their order (all of them when ``size`` is 0 or too large)."""
    if 0 < size < len(problems):
        pick = np.random.default_rng(seed).choice(len(problems), size, replace=False)
        return tuple(problems[i] for i in sorted(pick))
    return tuple(problems)


def pass_rate(problems: Sequence[Problem], texts: Sequence[str | None]) -> float:
    """Share of ``texts`` (one per problem; None fails) that pass their problem's tests."""
    pairs = [(p.task_id, t or "") for p, t in zip(problems, texts)]
    return evaluate_samples(problems, pairs, k=(1,), codebleu=False, progress=False).pass_at_k["pass@1"]


def adapter_state(model: Any) -> dict[str, Any]:
    """A copy of ``model``'s trainable weights (the LoRA adapter, and a trained final norm)."""
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_adapter(model: Any, state: dict[str, Any]) -> None:
    """Copy what :func:`adapter_state` returned into ``model`` (built the same way)."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value.to(params[name].device))


@dataclass
class Package:
    """A teacher's knowledge package after the guardrail (its contents: only the student reads them)."""

    teacher: int
    items: list[tuple[str, str]]     # (transfer prompt, teacher text) kept
    report: Any                      # GuardrailReport
    kbytes: float
    pass1: float                     # share of the raw package that passes the transfer tests

    def summary(self) -> "PackageSummary":
        return PackageSummary(self.teacher, len(self.items), self.report, self.kbytes, self.pass1)


class Prediction(NamedTuple):
    """A client's upload to a centralized baseline's server (:meth:`ClientWorker.predict`)."""

    texts: list[str | None]          # one per transfer prompt after the guardrail (None: dropped)
    report: Any                      # GuardrailReport
    pass1: float                     # Pass@1 of ``texts`` on their prompts


@dataclass(frozen=True)
class PackageSummary:
    """What the driver learns of a package: counts, SIER, size and Pass@1, never its text."""

    teacher: int
    kept: int
    report: Any                      # GuardrailReport (counts per rule)
    kbytes: float
    pass1: float


class ClientWorker:
    """One client's agent, guardrail and problem sets (``train``, ``val``, ``test``, ``transfer``)."""

    def __init__(self, index: int, agent: Agent, guardrail: Guardrail, sets: dict[str, Sequence[Problem]],
                 config: Any) -> None:
        self.index, self.agent, self.guardrail, self.config = index, agent, guardrail, config
        self.sets = {k: tuple(v) for k, v in sets.items()}

    @classmethod
    def build(cls, config: Any, index: int, client: Any, part: Any, transfer: Sequence[Problem],
              test: Sequence[Problem], cache: Path | None = None) -> "ClientWorker":
        """Build the client's model (base cached on disk, fresh adapter seeded by the run) and worker."""
        from knexa_core.fl.backbones import family_of
        from knexa_core.fl.federation import derived_seed
        from knexa_core.fl.models import client_model, device_and_dtype

        if config.threads:
            torch.set_num_threads(config.threads)
        device, _ = device_and_dtype()
        seed = derived_seed(config.seed, client.seed)
        model, tokenizer = client_model(client.backbone, config.backbone_choice(), seed, device, cache)
        agent = Agent(client.id, family_of(client.backbone), model, tokenizer, part.train, part.val,
                      config.train_config(), seed, device)
        sets = {"val": part.val, "test": test, "transfer": transfer}
        return cls(index, agent, Guardrail([p.reference for p in part.train]), sets, config)

    def _seed(self, t: int, purpose: int) -> int:
        from knexa_core.fl.federation import derived_seed

        return derived_seed(self.config.seed, t, self.index, purpose)

    # -- a round's operations -------------------------------------------------------------------
    def make_package(self, t: int, temperature: float) -> tuple[Package, PackageSummary]:
        """Completions on ``package_size`` transfer prompts (drawn per round), through the guardrail."""
        seed = self._seed(t, GEN_PACKAGE)
        transfer = draw(self.sets["transfer"], self.config.package_size, seed)
        texts = [c[0] for c in self.agent.generate(transfer, self.config.max_new_tokens, temperature, 1, seed)]
        kept, report = self.guardrail.check(texts)
        items = [(p.prompt, x) for p, x in zip(transfer, kept) if x is not None]
        package = Package(self.index, items, report, sum(len(x.encode()) for _, x in items) / 1024.0,
                          pass_rate(transfer, texts))
        return package, package.summary()

    def predict(self, t: int, temperature: float) -> Prediction:
        """The centralized baselines' upload: completions on round ``t``'s transfer draw (one draw for
        every client, :func:`knexa_core.fl.central.transfer_draw`) after the guardrail (None: dropped),
        the :class:`~knexa_core.fl.guardrail.GuardrailReport`, and the Pass@1 of what is sent."""
        from knexa_core.fl.federation import derived_seed

        c = self.config
        prompts = draw(self.sets["transfer"], c.package_size, derived_seed(c.seed, t, GEN_CENTRAL))
        raw = [x[0] for x in self.agent.generate(prompts, c.max_new_tokens, temperature, 1, self._seed(t, GEN_CENTRAL))]
        kept, report = self.guardrail.check(raw)
        return Prediction(kept, report, pass_rate(prompts, kept))

    def train(self, package: Package | None, alpha: float, t: int) -> float:
        """One round of local training (AKD on ``package`` if any); returns the mean local loss."""
        torch.manual_seed(self._seed(t, GEN_TRAIN))  # LoRA dropout draws from the global generator
        return self.agent.train_round(package.items if package is not None else (), alpha)

    def val_loss(self) -> float:
        return self.agent.loss(self.agent.val_set)

    def measure(self, t: int, test: bool, transfer: bool) -> dict[str, Any]:
        """Validation score and loss; greedy test Score (``test``); transfer Pass@1 (``transfer``)."""
        c = self.config
        out: dict[str, Any] = {"val": score(self.agent, self.sets["val"], c.max_new_tokens, seed=self._seed(t, GEN_VAL)),
                               "val_loss": self.val_loss(), "test": None, "transfer": None}
        if test:
            out["test"] = self.test_score(t)
        if transfer:
            problems = self.sets["transfer"][: c.eval_problems or None]
            out["transfer"] = score(self.agent, problems, c.max_new_tokens, codebleu=False,
                                    seed=self._seed(t, GEN_TRANSFER)).pass_at_k["pass@1"]
        return out

    def test_score(self, t: int) -> Score:
        """Greedy Pass@1 on the global test set (round ``t``'s seed)."""
        return score(self.agent, self.sets["test"], self.config.max_new_tokens, seed=self._seed(t, GEN_TEST),
                     codebleu=False)

    def final_score(self) -> Score:
        """``final_samples`` sampled completions per problem on the test set: Pass@1/5/10, CodeBLEU."""
        c = self.config
        return score(self.agent, self.sets["test"], c.max_new_tokens, c.final_samples, c.final_temperature,
                     self._seed(c.rounds + 1, GEN_FINAL))

    def train_loss(self) -> float:
        return self.agent.loss(self.agent.train_set)

    def stats(self) -> dict[str, float]:
        return dict(self.agent.stats)

    # -- checkpoints ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Adapter weights, optimizer and scaler state, step count, stats and every RNG state.

        The learning rate has no scheduler object: it is a function of ``steps_done``.
        """
        a = self.agent
        return {"adapter": adapter_state(a.model),
                "optimizer": a.optimizer.state_dict(), "scaler": a.scaler.state_dict(), "steps_done": a.steps_done,
                "stats": dict(a.stats), "rng": a.rng.get_state(), "torch_rng": torch.get_rng_state(),
                "numpy_rng": np.random.get_state(), "python_rng": random.getstate()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state` returned (the model must have been built the same way)."""
        a = self.agent
        load_adapter(a.model, state["adapter"])
        a.optimizer.load_state_dict(state["optimizer"])
        a.scaler.load_state_dict(state["scaler"])
        a.steps_done, a.stats = state["steps_done"], dict(state["stats"])
        a.rng.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["numpy_rng"])
        random.setstate(state["python_rng"])

    # -- the agent's own operations, for code that drives agents directly (proxies under Ray) ----
    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``agent.<name>(*args, **kwargs)``; only the agent's public operations."""
        if name not in AGENT_OPERATIONS:
            raise AttributeError(f"agent operation {name!r} is not one of {AGENT_OPERATIONS}")
        return getattr(self.agent, name)(*args, **kwargs)

    def attribute(self, name: str) -> Any:
        return getattr(self.agent, name)


AGENT_OPERATIONS = ("generate", "train_round", "loss", "encode")
