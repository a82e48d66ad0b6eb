"""Tiny bases: build a tiny model of each family, pretrain it on local code, cache it on disk.

A random transformer knows no Python, so before federated LoRA training each tiny base is
pretrained (full-parameter, next-token prediction) on the standard library's source
(:mod:`knexa_core.fl.tokenizer`), a generic code corpus that contains none of the benchmarks.
The result is saved with ``save_pretrained`` in a folder named by the hash of everything that
defines it (family, sizes, steps, seed, corpus, library versions), and loaded back with the same
``from_pretrained`` code path as the paper's Hugging Face backbones. Chapter ``02_federated_training``.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from knexa_core.fl.backbones import TinySize, tiny_config
from knexa_core.fl.tokenizer import TINY_VOCAB, corpus_digest, corpus_files, corpus_texts, train_tokenizer
from knexa_core.progress import progress


@dataclass(frozen=True)
class PretrainSpec:
    """How a tiny base is pretrained (part of its cache key)."""

    steps: int = 300        # optimizer steps on the corpus; 0 = a random base
    batch: int = 16
    seq_len: int = 128
    lr: float = 3e-3        # measured: 3e-3 beat 1e-3 and 6e-3 for the tiny bases (benchmarks/bench_tiny_learning.py)
    seed: int = 0
    corpus_files: int = 0   # 0 = every top-level stdlib file; smaller for the smoke profile


def cache_root() -> Path:
    """``$KNEXA_CACHE`` or ``~/.cache/knexa``: where tiny bases are kept between runs."""
    return Path(os.environ.get("KNEXA_CACHE") or Path.home() / ".cache" / "knexa")


def cache_key(family: str, size: TinySize, spec: PretrainSpec, digest: str) -> str:
    import tokenizers
    import torch
    import transformers

    record = {"family": family, "vocab": TINY_VOCAB[family], "size": asdict(size), "pretrain": asdict(spec),
              "corpus": digest, "versions": [torch.__version__, transformers.__version__, tokenizers.__version__]}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def _corpus(n_files: int) -> tuple[tuple[str, ...], str]:
    """The corpus texts and their sha256, read once per process (every client and probe asks)."""
    texts = tuple(corpus_texts(corpus_files(n_files or None)))
    return texts, corpus_digest(texts)


def base_dir(family: str, size: TinySize, spec: PretrainSpec, root: Path | None = None) -> Path:
    """Where the tiny base of ``family`` is cached (named by :func:`cache_key`)."""
    return (root or cache_root()) / f"tiny-{family}-{cache_key(family, size, spec, _corpus(spec.corpus_files)[1])}"


def tiny_base(family: str, size: TinySize = TinySize(), spec: PretrainSpec = PretrainSpec(),
              root: Path | None = None) -> Path:
    """The folder of the pretrained tiny base of ``family`` (built and cached on first use)."""
    dest = base_dir(family, size, spec, root)
    if (dest / "config.json").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.with_name(dest.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent run building the same base: wait, then load it
        if not (dest / "config.json").is_file():
            _build(family, size, spec, _corpus(spec.corpus_files)[0], dest)
    return dest


def pretrain_all(families: list[str], size: TinySize, spec: PretrainSpec, root: Path | None = None) -> None:
    """Build the bases of ``families``, first those no concurrent process is building (non-blocking
    locks), so two book workers pretrain different families at the same time."""
    for family in dict.fromkeys(families):
        dest = base_dir(family, size, spec, root)
        if (dest / "config.json").is_file():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest.with_name(dest.name + ".lock"), "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another process builds it; tiny_base waits for it later
            if not (dest / "config.json").is_file():
                _build(family, size, spec, _corpus(spec.corpus_files)[0], dest)


def _build(family: str, size: TinySize, spec: PretrainSpec, texts: tuple[str, ...], dest: Path) -> None:
    tokenizer = train_tokenizer(texts, TINY_VOCAB[family])
    model = _pretrain(family, size, spec, tokenizer, texts)
    staging = dest.with_name(dest.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    staging.replace(dest)


def _pretrain(family, size, spec, tokenizer, texts):
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(spec.seed)
    config = tiny_config(family, len(tokenizer), size, tokenizer.eos_token_id, tokenizer.eos_token_id,
                         tokenizer.pad_token_id)
    model = AutoModelForCausalLM.from_config(config)
    if spec.steps == 0:
        return model
    ids = torch.tensor([t for text in texts for t in tokenizer(text)["input_ids"] + [tokenizer.eos_token_id]])
    gen = torch.Generator().manual_seed(spec.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, spec.steps // 10)))
    model.train()
    bar = progress(range(spec.steps), desc=f"pretrain tiny {family}", unit="step")
    for _ in bar:
        starts = torch.randint(0, len(ids) - spec.seq_len - 1, (spec.batch,), generator=gen)
        batch = torch.stack([ids[s:s + spec.seq_len] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(), sched.step(), opt.zero_grad(set_to_none=True)
        bar.set_postfix(loss=f"{loss.item():.2f}")
    return model.eval()
