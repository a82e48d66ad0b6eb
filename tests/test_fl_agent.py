"""Agent._ce computes the output layer only where a completion token is predicted: its loss and
its gradients are those of the model's own ``labels=`` loss, on all four families."""
from __future__ import annotations

import pytest
import torch

from knexa_core.data import synthetic_problems
from knexa_core.fl.agent import Agent, TrainConfig
from knexa_core.fl.backbones import PAPER_BACKBONES
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.models import client_model

PROBLEMS = synthetic_problems(1, 0)[:10]


@pytest.mark.parametrize("backbone", sorted(PAPER_BACKBONES))
def test_completion_loss_and_gradients_are_the_models_own(backbone) -> None:
    model, tok = client_model(backbone, FederationConfig.for_profile("smoke").backbone_choice(), seed=0)
    agent = Agent("t", PAPER_BACKBONES[backbone][0], model, tok, PROBLEMS, PROBLEMS[:2], TrainConfig(micro_batch=5), 0)
    with torch.no_grad():  # a non-zero LoRA B, so the adapter takes part in the loss
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05, generator=torch.Generator().manual_seed(len(name)))
    model.eval()  # no dropout: both losses see the same network
    batch = agent._train_examples[:5]  # prompts and completions of different lengths: right padding
    params = [p for p in model.parameters() if p.requires_grad]
    ours = agent._ce(batch)
    mine = torch.autograd.grad(ours, params)
    reference = model(**agent._collate(batch)).loss
    theirs = torch.autograd.grad(reference, params)
    assert abs(float(ours) - float(reference)) < 1e-5, (float(ours), float(reference))
    for a, b in zip(mine, theirs):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)
