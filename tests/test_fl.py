"""Federated LoRA training (chapter 02): backbones, tokenizers, schedules, reward, profile, config, agent."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from knexa_core.cpm import D_P, PERFORMANCE_FEATURES
from knexa_core.errors import ConfigError
from knexa_core.fl.akd import ProfileState, eq3_reward, linear
from knexa_core.fl.backbones import LORA_TARGETS, TABLE3_SHARE, lora_config, meta_share
from knexa_core.fl.config import PROFILES, FederationConfig
from knexa_core.fl.tokenizer import corpus_files, corpus_texts, train_tokenizer


@pytest.mark.parametrize("family", sorted(TABLE3_SHARE))
def test_table3_trainable_shares_on_the_real_configs(family: str) -> None:
    assert meta_share(family) == pytest.approx(TABLE3_SHARE[family], abs=0.005)


def test_lora_config_targets_every_projection_with_alpha_2r() -> None:
    cfg = lora_config("bloom", 8)
    assert set(cfg.target_modules) == set(LORA_TARGETS["bloom"]) and cfg.lora_alpha == 16 and cfg.lora_dropout == 0.05
    with pytest.raises(ConfigError, match="rank"):
        lora_config("bloom", 0)
    with pytest.raises(ConfigError, match="unknown family"):
        lora_config("gpt-j", 8)


def test_tokenizers_split_digits_and_differ_by_vocabulary() -> None:
    texts = corpus_texts(corpus_files(8))
    small, large = train_tokenizer(texts, 400), train_tokenizer(texts, 900)
    code = "def f(xs):\n    return sum(xs) + 4096\n"
    ids = small(code)["input_ids"]
    assert [small.decode([i]) for i in ids][-5:-1] == ["4", "0", "9", "6"]
    assert small.decode(ids) == code and large.decode(large(code)["input_ids"]) == code
    assert len(large(code)["input_ids"]) < len(ids)


def test_schedules_are_linear_over_the_rounds() -> None:
    assert linear(0.2, 0.5, 1, 20) == 0.2 and linear(0.2, 0.5, 20, 20) == 0.5
    assert linear(1.5, 2.5, 11, 21) == pytest.approx(2.0)
    assert linear(0.2, 0.5, 1, 1) == 0.2
    with pytest.raises(ConfigError):
        linear(0.2, 0.5, 0, 20)


def test_eq3_reward_by_hand() -> None:
    # γ (L_pre − L_post) − δ KB = 2 (1.5 − 1.2) − 0.01 · 2048/1024
    assert eq3_reward(1.5, 1.2, 2048, gamma=2.0, delta=0.01) == pytest.approx(0.58)
    assert eq3_reward(1.0, 1.1, 0) == pytest.approx(-0.1)


def test_profile_state_measures_every_feature() -> None:
    state = ProfileState("pythia", [1] * 6 + [0] * 6)
    state.record(0.0, 0.1, 2.0, 2.5, count_round=False)
    state.record(0.25, 0.3, 1.5, 1.8)
    state.add_reward("teacher", 1.0)
    state.record(0.5, 0.4, 1.0, 1.2)
    state.add_reward("student", -0.5)
    f = state.features()
    assert set(f) == set(PERFORMANCE_FEATURES)
    assert f["pass1"] == 0.5 and f["pass1_delta"] == 0.25 and f["codebleu_delta"] == pytest.approx(0.1)
    assert f["log_perplexity"] == 1.0 and f["train_loss_delta"] == pytest.approx(-0.6)
    assert f["reward_as_teacher"] == 1.0 and f["reward_as_student"] == -0.5
    assert f["teach_rate"] == 0.5 and f["learn_rate"] == 0.5
    profile = state.profile()
    assert profile.shape == (D_P,) and profile[3] == 1.0 and profile[-12:].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("values, message", [
    ({"lr_rate": 0.1}, "unknown training parameter"),
    ({"rounds": "ten"}, "rounds must be int"),
    ({"rounds": 0}, "out of range"),
    ({"final_samples": 5}, "Pass@10"),
    ({"method": "fedavg"}, "unknown method"),
    ({"data": "imagenet"}, "data must be one of"),
])
def test_config_rejects_bad_values_with_one_line(values, message) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        FederationConfig.from_mapping(values)
    assert "\n" not in str(info.value)


def test_profiles_are_valid_and_paper_is_table1() -> None:
    for name in PROFILES:
        FederationConfig.for_profile(name)
    paper = FederationConfig.for_profile("paper")
    assert (paper.lr, paper.micro_batch * paper.accumulate, paper.rounds, paper.final_samples) == (3e-5, 32, 20, 10)
    assert (paper.kd_alpha_start, paper.kd_alpha_end, paper.kd_t_start, paper.kd_t_end) == (0.2, 0.5, 1.5, 2.5)
    assert paper.backbones == "paper" and paper.data == "study"
    with pytest.raises(ConfigError, match="unknown training profile"):
        FederationConfig.for_profile("gpu")


def test_paper_loading_path_on_a_tiny_model_saved_locally(tmp_path) -> None:
    """The paper profile's route (``from_pretrained`` of a checkpoint + LoRA at the paper's rank)
    on a tiny GPT-NeoX saved to a folder, as a hub checkpoint would be cached."""
    from knexa_core.fl.backbones import TinySize, trainable_share
    from knexa_core.fl.models import BackboneChoice, base_location, load_lora_model
    from knexa_core.fl.pretrain import PretrainSpec, tiny_base

    assert base_location("EleutherAI/pythia-410m", BackboneChoice(kind="paper")) == "EleutherAI/pythia-410m"
    with pytest.raises(ConfigError, match="unknown backbone"):
        base_location("gpt2", BackboneChoice(kind="paper"))
    saved = tiny_base("pythia", TinySize(hidden=64, layers=2, heads=4, ffn=128), PretrainSpec(steps=1, corpus_files=4),
                      root=tmp_path)
    model, tok = load_lora_model(str(saved), "pythia", 32, seed=0)
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert names and all("lora_" in n for n in names) and 0 < trainable_share(model) < 100
    prompt = tok("def f(x):\n", return_tensors="pt")
    out = model.generate(**prompt, max_new_tokens=3, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 3


def test_chunked_decoding_drops_finished_sequences_without_changing_greedy_text(tmp_path) -> None:
    """Greedy text is the same whether finished sequences leave the batch every 2 tokens (their
    KV-cache rows pruned, generation continued from the cache) or never (one chunk), for every
    family's cache layout."""
    from knexa_core.data import synthetic_problems
    from knexa_core.fl.agent import Agent, TrainConfig
    from knexa_core.fl.backbones import TinySize
    from knexa_core.fl.models import load_lora_model
    from knexa_core.fl.pretrain import PretrainSpec, tiny_base

    problems, mixed = synthetic_problems(2, 0), 0
    for family in sorted(LORA_TARGETS):
        base = tiny_base(family, TinySize(hidden=64, layers=2, heads=4, ffn=128), PretrainSpec(steps=20, corpus_files=4),
                         root=tmp_path)
        model, tok = load_lora_model(str(base), family, 4, seed=0)
        agent = Agent("t", family, model, tok, problems[:6], problems[:2], TrainConfig(lr=1e-2, micro_batch=2), 0)
        for _ in range(20):
            agent.train_round()  # it learns some bodies and their EOS: those sequences end early
        ids = tok([p.prompt for p in problems], return_tensors="pt", padding=True, add_special_tokens=False)
        outs = [agent._decode(ids["input_ids"], ids["attention_mask"], ["body"] * len(problems), 24, 0.0, chunk)
                for chunk in (2, 24)]
        assert outs[0] == outs[1], family
        lengths = sorted(map(len, outs[0]))
        mixed += 2 < lengths[-1] and lengths[0] < lengths[-1]  # pruned after a chunk, others decoded on
    assert mixed >= 2
