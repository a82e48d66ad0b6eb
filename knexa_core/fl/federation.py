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
from knexa_core.fl.agent import Agent
from knexa_core.fl.akd import ProfileState
from knexa_core.fl.backbones import family_of
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.guardrail import Guardrail
from knexa_core.fl.models import client_model, device_and_dtype
from knexa_core.fl.pretrain import pretrain_all
from knexa_core.progress import progress


def derived_seed(*parts: int) -> int:
    """A 31-bit seed derived from integers (run seed, round, client, purpose)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


@dataclass
class Federation:
    """Everything a run mutates: agents with their guardrails and profile states, and the split."""

    config: FederationConfig
    clients: tuple[Client, ...]
    split: FederationSplit
    manifest: dict[str, Any]
    agents: list[Agent]
    states: list[ProfileState]
    guardrails: list[Guardrail]

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


def build_federation(config: FederationConfig, roster: str | Path | None = None,
                     cache: Path | None = None) -> Federation:
    """Draw the split and build one agent per client (bases built or loaded, adapters fresh)."""
    import torch

    if config.threads:
        torch.set_num_threads(config.threads)
    clients, split, manifest = draw_federation_split(config, roster)
    device, _ = device_and_dtype()
    choice, train_config = config.backbone_choice(), config.train_config()
    if choice.kind == "tiny":
        pretrain_all([family_of(c.backbone) for c in clients], choice.size, choice.pretrain, cache)
    agents, states, guards = [], [], []
    for i, (client, part) in enumerate(progress(list(zip(clients, split.clients)), desc="build clients", unit="client")):
        seed = derived_seed(config.seed, client.seed)
        model, tokenizer = client_model(client.backbone, choice, seed, device, cache)
        agents.append(Agent(client.id, family_of(client.backbone), model, tokenizer, part.train, part.val,
                            train_config, seed, device))
        states.append(ProfileState(family_of(client.backbone), category_histogram(part.train + part.val)))
        guards.append(Guardrail([p.reference for p in part.train]))
    return Federation(config, tuple(clients), split, manifest, agents, states, guards)
