"""Agent.generate's two savings (shared prefill of the samples, merged LoRA on CPU) change nothing
but speed: the same tokens on all four families, the base weights bit for bit, an adapter that trains."""
from __future__ import annotations

import contextlib

import pytest
import torch

from knexa_core.data import synthetic_problems
from knexa_core.fl import agent as agent_module
from knexa_core.fl.agent import Agent, TrainConfig
from knexa_core.fl.backbones import LORA_TARGETS, PAPER_BACKBONES
from knexa_core.fl.config import FederationConfig
from knexa_core.fl.models import client_model, merged_lora

FAMILIES = sorted(LORA_TARGETS)
# prompts of many lengths, so that rows are left-padded (position ids and masks matter)
PROBLEMS = synthetic_problems(1, 0)


@pytest.fixture(scope="module")
def agents() -> dict[str, Agent]:
    """A trained agent per family on the smoke profile's tiny bases (cached, as the other smoke tests
    use them); trained so that LoRA B is non-zero and merging changes the weights."""
    choice, out = FederationConfig.for_profile("smoke").backbone_choice(), {}
    for backbone, family in ((b, f) for b, (f, _) in PAPER_BACKBONES.items()):
        model, tok = client_model(backbone, choice, seed=0)
        agent = Agent("t", family, model, tok, PROBLEMS[:6], PROBLEMS[:2], TrainConfig(lr=1e-2, micro_batch=2), 0)
        for _ in range(4):
            agent.train_round()
        out[family] = agent
    return out


def plain(monkeypatch, prefill: bool = False, merge: bool = False) -> None:
    """Switch the savings off: each sample prefilled on its own, LoRA applied unmerged."""
    if not prefill:
        monkeypatch.setattr(Agent, "_prefill", lambda self, ids, mask, repeats: None)
    if not merge:
        monkeypatch.setattr(agent_module, "merged_lora", lambda model, enabled=True: contextlib.nullcontext())


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_text_is_that_of_the_plain_path(agents, family, monkeypatch) -> None:
    agent = agents[family]
    fast = agent.generate(PROBLEMS[:24], 24, batch_size=8)
    plain(monkeypatch)
    assert agent.generate(PROBLEMS[:24], 24, batch_size=8) == fast


@pytest.mark.parametrize("family", FAMILIES)
def test_merged_weights_compute_the_adapted_model(agents, family) -> None:
    """Inside ``merged_lora`` the model gives the adapter's logits (not the base's), so the greedy
    comparison above compares two computations of the same model."""
    agent = agents[family]
    enc = agent.tokenizer([p.prompt for p in PROBLEMS[:6]], return_tensors="pt", padding=True, add_special_tokens=False)
    agent.model.eval()
    with torch.no_grad():
        adapted = agent.model(**enc).logits
        with agent.model.disable_adapter():
            base = agent.model(**enc).logits
        with merged_lora(agent.model):
            merged = agent.model(**enc).logits
    keep = enc["attention_mask"].bool()
    assert (adapted - base)[keep].abs().max() > 1e-2  # the trained adapter changes the model
    assert torch.allclose(merged[keep], adapted[keep], atol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_samples_sharing_one_prefill_draw_the_same_tokens(agents, family, monkeypatch) -> None:
    """Same seed, same draws: the shared prefill reproduces generate's own (position ids from the
    left-padded mask, BLOOM's ALiBi from the mask) and consumes no random numbers. Position ids
    from ``arange`` fail here on cerebras-gpt (GPT-2's learned positions); the rotary families are
    invariant to that shift, so they pass either way (checked by hand)."""
    agent = agents[family]
    plain(monkeypatch, merge=True)
    unshared = agent.generate(PROBLEMS[:12], 16, 0.8, 4, seed=3, batch_size=6)
    monkeypatch.undo()
    shared = agent.generate(PROBLEMS[:12], 16, 0.8, 4, seed=3, batch_size=6)
    assert shared == unshared
    assert sum(len(set(s)) for s in shared) > len(shared)  # samples of a prompt differ: sampling is on


@pytest.mark.parametrize("family", FAMILIES)
def test_generate_restores_the_base_weights_bit_for_bit(agents, family) -> None:
    agent = agents[family]
    before = {k: v.clone() for k, v in agent.model.state_dict().items()}
    agent.generate(PROBLEMS[:4], 8, 0.8, 2)
    after = agent.model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_the_adapter_still_trains_after_generation(agents) -> None:
    agent = agents["cerebras-gpt"]  # GPT-2's Conv1D: the fan_in_fan_out case of merging
    agent.generate(PROBLEMS[:4], 8)
    lora = {n: p.detach().clone() for n, p in agent.model.named_parameters() if "lora_B" in n}
    loss = agent.loss(PROBLEMS[:6])
    agent.train_round()
    assert agent.loss(PROBLEMS[:6]) != loss
    assert all(not torch.equal(p, lora[n]) for n, p in agent.model.named_parameters() if n in lora)


def test_inverse_cdf_sampler_draws_from_the_tempered_softmax() -> None:
    """200,000 draws from one row of logits: each token's frequency is its probability under
    softmax(logits / T) within 0.005, and a token of logit -inf is never drawn."""
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0, float("-inf"), 0.5]])
    temperature, n = 0.7, 200_000
    torch.manual_seed(11)
    scores = agent_module.InverseCdfSampler(temperature)(None, logits.repeat(n, 1))
    token = scores.argmax(-1)
    assert bool((scores.gather(1, token[:, None]) == 0).all()) and bool(torch.isinf(scores).sum(-1).eq(5).all())
    freq = torch.bincount(token, minlength=6).double() / n
    expected = torch.softmax(logits[0].double() / temperature, -1)
    assert freq[4] == 0
    assert torch.allclose(freq, expected, atol=0.005), (freq, expected)


def test_inverse_cdf_sampler_is_reproducible_from_the_seed() -> None:
    logits = torch.randn(64, 50, generator=torch.Generator().manual_seed(0))
    draws = []
    for seed in (3, 3, 4):
        torch.manual_seed(seed)
        draws.append(agent_module.InverseCdfSampler(1.3)(None, logits).argmax(-1))
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])


def test_decode_samples_at_the_requested_temperature_and_greedy_draws_nothing(agents, monkeypatch) -> None:
    """The sampler gets the temperature asked for and the model's logits (one row per sample);
    greedy decoding does not use it."""
    seen = []

    class Spy(agent_module.InverseCdfSampler):
        def __call__(self, input_ids, scores):
            seen.append((self.temperature, tuple(scores.shape)))
            return super().__call__(input_ids, scores)

    monkeypatch.setattr(agent_module, "InverseCdfSampler", Spy)
    agent = agents["qwen"]
    agent.generate(PROBLEMS[:3], 4)
    assert seen == []
    agent.generate(PROBLEMS[:3], 4, 0.8, 2, seed=1)
    vocab = agent.model.get_base_model().get_output_embeddings().weight.shape[0]
    assert seen and {t for t, _ in seen} == {0.8} and seen[0][1] == (6, vocab)
