"""Tokenizers of the tiny backbones: byte-level BPE trained offline on local Python source.

Each tiny family gets its own vocabulary size (:data:`TINY_VOCAB`), so the four tokenizers split
the same code differently and tokenizer heterogeneity is real (teacher text is decoded and
re-encoded by the student, as in the paper's text-level distillation). Numbers are split into
single digits before BPE, so a constant never seen in training is still a sequence of known
tokens that the model can copy digit by digit (DESIGN.md, "CPU profile").

The corpus is the standard library's top-level ``.py`` files of the running interpreter: generic
code that contains none of the benchmarks. Chapter ``02_federated_training``, section "Backbones".
"""
from __future__ import annotations

import hashlib
import sysconfig
from pathlib import Path
from typing import Any, Sequence

from knexa_core.errors import ConfigError

TINY_VOCAB = {"qwen": 3072, "cerebras-gpt": 2048, "bloom": 3584, "pythia": 2560}  # 2,048-3,584: DESIGN.md
EOS = "<|endoftext|>"
PAD = "<|pad|>"


def corpus_files(limit: int | None = None) -> list[Path]:
    """The pretraining corpus: the standard library's top-level ``.py`` files, sorted by name."""
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    if not files:
        raise ConfigError("no standard-library sources found to pretrain the tiny backbones on; "
                          "use a Python installation that ships its .py files")
    return files[:limit] if limit else files


def corpus_texts(files: Sequence[Path]) -> list[str]:
    """The files' texts (undecodable bytes replaced), in order."""
    return [f.read_text(encoding="utf-8", errors="replace") for f in files]


def corpus_digest(texts: Sequence[str]) -> str:
    """sha256 of the corpus, part of the backbone cache key."""
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8", errors="replace"))
        h.update(b"\0")
    return h.hexdigest()


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Any:
    """Train a byte-level BPE with single-digit numbers; returns a ``PreTrainedTokenizerFast``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab_size < 300:
        raise ConfigError(f"tokenizer vocabulary {vocab_size} is too small: byte-level BPE needs > 256 + merges")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS, PAD], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS, pad_token=PAD,
                                   padding_side="left", clean_up_tokenization_spaces=False)
