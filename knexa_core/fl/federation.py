"""Setting up a federation: the split, one agent per roster client, its guardrail and profile state.

Data: ``study`` is the paper's pool (HumanEval + MBPP, :func:`knexa_core.data.make_splits.setup_study`),
``synthetic`` the CPU benchmark (:func:`~knexa_core.data.make_splits.setup_synthetic`); both go
through the same Dirichlet split with the roster's counts. The split is drawn with ``split_seed``
(fixed across run seeds, so seeds vary training, not data). Chapter ``02_federated_training``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knexa_core.data import load_roster
from knexa_core.data.categories import category_histogram
from knexa_core.data.make_splits import draw_split, setup_study, setup_synthetic
from knexa_core.data.roster import Client, default_roster_path
from knexa_core.data.splits import FederationSplit
from knexa_core.fl.akd import ProfileState
from knexa_core.fl.backbones import family_of
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.executor import make_executor
from knexa_core.fl.pretrain import pretrain_all


def derived_seed(*parts: int) -> int:
    """A 31-bit seed derived from integers (run seed, round, client, purpose)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


@dataclass
class Federation:
    """Everything a run mutates: the clients' agents (on an executor), their profile states, the split.

    ``agents`` are the agents themselves under the local executor and thin proxies with the same
    methods under Ray (:mod:`knexa_core.fl.executor`); ``executor`` runs a round's client work.
    """

    config: FederationConfig
    clients: tuple[Client, ...]
    split: FederationSplit
    manifest: dict[str, Any]
    agents: list[Any]
    states: list[ProfileState]
    executor: Any

    @property
    def test_set(self):
        """The global test problems evaluated (the first ``eval_problems`` of them, or all)."""
        return self.split.global_test[: self.config.eval_problems or None]


def draw_federation_split(config: FederationConfig, roster: str | Path | None = None):
    """The split and manifest of ``config``'s data (``study`` or ``synthetic``)."""
    roster_path = Path(roster) if roster else default_roster_path()
    clients = load_roster(roster_path)
    if config.data == "synthetic":
        setup = setup_synthetic(clients, config.split_seed)
    else:
        setup = setup_study(clients, config.mbpp_path or None)
    split, manifest = draw_split(setup, roster_path, config.split_seed, config.alpha)
    return setup.clients, split, manifest


def build_federation(config: FederationConfig, roster: str | Path | None = None, cache: Path | None = None,
                     executor: str = "local", address: str | None = None) -> Federation:
    """Draw the split, build the tiny bases if needed, and start one worker per client on ``executor``.

    ``executor`` is ``"local"`` (this process) or ``"ray"`` (one actor per client; ``address`` of
    an existing cluster, else a local one is started).
    """
    import torch

    if config.threads:
        torch.set_num_threads(config.threads)
    clients, split, manifest = draw_federation_split(config, roster)
    choice = config.backbone_choice()
    if choice.kind == "tiny":
        pretrain_all([family_of(c.backbone) for c in clients], choice.size, choice.pretrain, cache)
    test = split.global_test[: config.eval_problems or None]
    runner = make_executor(executor, config, clients, split, test, cache, address)
    states = [ProfileState(family_of(c.backbone), category_histogram(p.train + p.val))
              for c, p in zip(clients, split.clients)]
    return Federation(config, tuple(clients), split, manifest, runner.agents, states, runner)
