"""Load a client's model: its base (a tiny pretrained base or the paper's checkpoint) plus a fresh LoRA adapter.

Both routes go through ``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer.from_pretrained``:
the ``paper`` profile with the Hugging Face ids of the roster (GPU machine with network), the
``smoke`` and ``cpu`` profiles with the folders of :func:`knexa_core.fl.pretrain.tiny_base`. A
duplicate client (C4, C5) loads its own copy and gets its own adapter, seeded by the client.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from knexa_core.errors import ConfigError
from knexa_core.fl.backbones import PAPER_BACKBONES, TinySize, family_of, lora_config
from knexa_core.fl.pretrain import PretrainSpec, tiny_base


@dataclass(frozen=True)
class BackboneChoice:
    """Which bases a run uses: ``"tiny"`` (built here) or ``"paper"`` (the roster's checkpoints)."""

    kind: str = "tiny"
    tiny_rank: int = 16                  # LoRA rank of the tiny models (r = 16, α = 32: DESIGN.md)
    size: TinySize = TinySize()
    pretrain: PretrainSpec = PretrainSpec()
    train_final_norm: bool = True        # tiny bases: also train the final layer norm (DESIGN.md)


def device_and_dtype() -> tuple[str, Any]:
    """CUDA with FP16 autocast when a GPU is present (paper), else CPU in float32."""
    import torch

    return ("cuda", torch.float16) if torch.cuda.is_available() else ("cpu", torch.float32)


def base_location(backbone: str, choice: BackboneChoice, cache: Path | None = None) -> str:
    """What ``from_pretrained`` loads for a roster backbone under ``choice``."""
    if choice.kind == "paper":
        if backbone not in PAPER_BACKBONES:
            raise ConfigError(f"unknown backbone {backbone!r}: the paper's roster uses {', '.join(PAPER_BACKBONES)}")
        return backbone
    if choice.kind == "tiny":
        return str(tiny_base(family_of(backbone), choice.size, choice.pretrain, cache))
    raise ConfigError(f"backbones must be 'tiny' or 'paper', got {choice.kind!r}")


def load_lora_model(location: str, family: str, rank: int, seed: int, train_final_norm: bool = False,
                    device: str = "cpu") -> tuple[Any, Any]:
    """``from_pretrained(location)`` + a LoRA adapter (seeded by ``seed``); returns (model, tokenizer)."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # no "loading weights" bars or config notices on the book's pages
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32)
    except OSError as exc:  # no network and no local cache, a wrong name, a broken folder
        raise ConfigError(f"cannot load the backbone {location!r} ({str(exc).splitlines()[0]}); the paper profile "
                          "needs the Hugging Face hub or its cache (HF_HOME); smoke and cpu build tiny models here") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    torch.manual_seed(seed)
    model = get_peft_model(model, lora_config(family, rank, train_final_norm)).to(device)
    model.eval()
    return model, tokenizer


def client_model(backbone: str, choice: BackboneChoice, seed: int, device: str = "cpu",
                 cache: Path | None = None) -> tuple[Any, Any]:
    """The (LoRA model, tokenizer) of a client with roster backbone ``backbone``."""
    family = family_of(backbone)
    rank = PAPER_BACKBONES[backbone][1] if choice.kind == "paper" else choice.tiny_rank
    final_norm = choice.train_final_norm and choice.kind == "tiny"
    return load_lora_model(base_location(backbone, choice, cache), family, rank, seed, final_norm, device)


@contextmanager
def merged_lora(model: Any, enabled: bool = True) -> Iterator[None]:
    """Run the body with every LoRA delta merged into its base weight, then restore the base bit for bit.

    A merged layer costs one matmul instead of three (generation is inference only: no grad, eval
    mode, so dropout is off). peft transposes the delta of GPT-2's ``Conv1D`` (``fan_in_fan_out``);
    trainable non-LoRA modules (``modules_to_save``, the tiny bases' final norm) are not merged and
    still apply. ``unmerge_adapter`` alone subtracts the delta again and leaves rounding drift in the
    frozen weights, which checkpoints (adapter only) do not hold: a resumed run would differ, so the
    base weights are copied before and copied back after. ``enabled=False`` (GPU: the copy of a
    paper-size model costs memory) runs the body unmerged.
    """
    import torch
    from peft.tuners.lora import LoraLayer

    layers = [m for m in model.modules() if isinstance(m, LoraLayer)] if enabled else []
    saved = [m.get_base_layer().weight.detach().clone() for m in layers]
    try:
        if layers:
            model.merge_adapter()
        yield
    finally:
        if layers:
            model.unmerge_adapter()
            with torch.no_grad():
                for m, w in zip(layers, saved):
                    m.get_base_layer().weight.copy_(w)
