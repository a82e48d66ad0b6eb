"""Backbones: the paper's four LLMs by name, tiny models of the same four families, LoRA configs.

The paper's roster (DESIGN.md, "Six clients") uses Qwen1.5-0.5B, Cerebras-GPT-590M, bloom-560m and
pythia-410m with LoRA ranks chosen so that the trainable share matches Table 3 (2.39, 2.34, 2.20,
3.01 %): r = 24 for Qwen and 32 for the others, α = 2r, dropout 0.05, on every attention and MLP
projection of the architecture (:data:`LORA_TARGETS`). The ``paper`` profile loads them with
``from_pretrained``; ``smoke`` and ``cpu`` build *tiny* models of the same four architectures
(:func:`tiny_config`) with their own tokenizers (:mod:`knexa_core.fl.tokenizer`), pretrained on
local code (:mod:`knexa_core.fl.pretrain`). Chapter ``02_federated_training``, section "Backbones".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knexa_core.errors import ConfigError

# Hugging Face id -> (family of the CPM profile, LoRA rank that hits Table 3's share)
PAPER_BACKBONES: dict[str, tuple[str, int]] = {
    "Qwen/Qwen1.5-0.5B": ("qwen", 24),
    "cerebras/Cerebras-GPT-590M": ("cerebras-gpt", 32),
    "bigscience/bloom-560m": ("bloom", 32),
    "EleutherAI/pythia-410m": ("pythia", 32),
}
TABLE3_SHARE = {"qwen": 2.39, "cerebras-gpt": 2.34, "bloom": 2.20, "pythia": 3.01}  # trainable %, Table 3
LORA_TARGETS: dict[str, tuple[str, ...]] = {
    "qwen": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "cerebras-gpt": ("c_attn", "c_proj", "c_fc"),
    "bloom": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
    "pythia": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
}
# the module that holds the final layer norm, trained with the adapter on tiny random-ish bases
FINAL_NORM = {"qwen": "norm", "cerebras-gpt": "ln_f", "bloom": "ln_f", "pythia": "final_layer_norm"}
LORA_DROPOUT = 0.05


@dataclass(frozen=True)
class TinySize:
    """Dimensions of a tiny backbone (the same for all families: only architecture and tokenizer differ)."""

    hidden: int = 256
    layers: int = 4
    heads: int = 4
    ffn: int = 1024
    max_positions: int = 512


def family_of(backbone: str) -> str:
    """The CPM family of a roster backbone name (``"Qwen/Qwen1.5-0.5B"`` -> ``"qwen"``)."""
    if backbone in PAPER_BACKBONES:
        return PAPER_BACKBONES[backbone][0]
    raise ConfigError(f"unknown backbone {backbone!r}: the roster uses {', '.join(PAPER_BACKBONES)}")


def paper_config(family: str) -> Any:
    """The real architecture config of the paper's backbone of ``family`` (no weights, no network).

    Values are those of the published ``config.json`` files (DESIGN.md, "CPU profile"); used to
    check Table 3's trainable shares on the meta device.
    """
    from transformers import BloomConfig, GPT2Config, GPTNeoXConfig, Qwen2Config

    if family == "qwen":
        return Qwen2Config(vocab_size=151936, hidden_size=1024, intermediate_size=2816, num_hidden_layers=24,
                           num_attention_heads=16, num_key_value_heads=16, tie_word_embeddings=True)
    if family == "cerebras-gpt":
        return GPT2Config(vocab_size=50257, n_embd=1536, n_layer=18, n_head=12, n_inner=6144, n_positions=2048)
    if family == "bloom":
        return BloomConfig(vocab_size=250880, hidden_size=1024, n_layer=24, n_head=16)
    if family == "pythia":
        return GPTNeoXConfig(vocab_size=50304, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                             intermediate_size=4096, rotary_pct=0.25, tie_word_embeddings=False)
    raise ConfigError(f"unknown family {family!r}: choose one of {', '.join(LORA_TARGETS)}")


def tiny_config(family: str, vocab_size: int, size: TinySize, bos: int, eos: int, pad: int) -> Any:
    """A tiny model config of ``family``'s architecture with ``size``'s dimensions."""
    from transformers import BloomConfig, GPT2Config, GPTNeoXConfig, Qwen2Config

    common = {"vocab_size": vocab_size, "bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad}
    if family == "qwen":
        return Qwen2Config(hidden_size=size.hidden, intermediate_size=size.ffn, num_hidden_layers=size.layers,
                           num_attention_heads=size.heads, num_key_value_heads=size.heads,
                           max_position_embeddings=size.max_positions, tie_word_embeddings=True, **common)
    if family == "cerebras-gpt":
        return GPT2Config(n_embd=size.hidden, n_layer=size.layers, n_head=size.heads, n_inner=size.ffn,
                          n_positions=size.max_positions, **common)
    if family == "bloom":
        return BloomConfig(hidden_size=size.hidden, n_layer=size.layers, n_head=size.heads, **common)
    if family == "pythia":
        return GPTNeoXConfig(hidden_size=size.hidden, num_hidden_layers=size.layers, num_attention_heads=size.heads,
                             intermediate_size=size.ffn, rotary_pct=0.25, max_position_embeddings=size.max_positions,
                             tie_word_embeddings=True, **common)
    raise ConfigError(f"unknown family {family!r}: choose one of {', '.join(LORA_TARGETS)}")


def lora_config(family: str, rank: int, train_final_norm: bool = False) -> Any:
    """``peft.LoraConfig`` for ``family``: all projections, α = 2r, dropout 0.05.

    ``train_final_norm`` also trains the final layer norm (``modules_to_save``): on tiny bases the
    loss stalls without it (DESIGN.md, "CPU profile"); the paper's profile leaves it off.
    """
    from peft import LoraConfig

    if family not in LORA_TARGETS:
        raise ConfigError(f"unknown family {family!r}: choose one of {', '.join(LORA_TARGETS)}")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ConfigError(f"LoRA rank must be a positive integer, got {rank!r}")
    return LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=LORA_DROPOUT, task_type="CAUSAL_LM",
                      target_modules=list(LORA_TARGETS[family]),
                      modules_to_save=[FINAL_NORM[family]] if train_final_norm else None)


def trainable_share(model: Any) -> float:
    """Trainable parameters / all parameters (LoRA included), in percent."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return 100.0 * trainable / sum(p.numel() for p in model.parameters())


def meta_share(family: str, rank: int | None = None) -> float:
    """Table 3's trainable share of the paper's backbone of ``family``, built on the meta device."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    rank = rank or next(r for f, r in PAPER_BACKBONES.values() if f == family)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(paper_config(family))
    return trainable_share(get_peft_model(model, lora_config(family, rank)))
