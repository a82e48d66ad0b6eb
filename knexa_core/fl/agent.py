"""A federated agent: one LoRA adapter on its backbone, its private data, and what it can do.

* :meth:`Agent.train_round`: one local epoch (supplementary Table 1: AdamW β = (0.9, 0.98),
  ε = 1e-6, linear warm-up over the first 2 % of steps, micro-batches accumulated), the loss on
  completion tokens only; with a knowledge package, the AKD objective of Eq. 2,
  ``(1 − α_KD)·L_local + α_KD·CE(re-encoded teacher text)`` (:mod:`knexa_core.fl.akd`).
* :meth:`Agent.generate`: batched decoding of completions for prompts (knowledge packages,
  evaluation); the text is decoded and cleaned, so another tokenizer can re-encode it. Two savings
  that leave the drawn tokens as they were (up to float rounding): the samples of a prompt share
  one prefill (:meth:`Agent._prefill`), and on CPU the LoRA deltas are merged for the call
  (:func:`knexa_core.fl.models.merged_lora`). Sampling draws by inverse transform
  (:class:`InverseCdfSampler`), not ``torch.multinomial``.
* :meth:`Agent.loss`: mean completion-token cross-entropy on problems (validation loss of Eq. 3,
  log-perplexity of the profile).
Chapter ``02_federated_training``, section "One round, step by step".
"""
from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from knexa_core.data.schema import Problem
from knexa_core.eval.postprocess import BODY_STOPS, PROGRAM_STOPS, clean_completion, completion_kind, truncate_at_stops
from knexa_core.fl.models import merged_lora

DECODE_CHUNK = 16  # tokens decoded between two prunings of finished sequences (see Agent._decode)


class InverseCdfSampler:
    """A logits processor that draws each next token from ``softmax(logits / temperature)`` by
    inverse transform sampling (one uniform number per row against the cumulative probabilities)
    and returns scores under which greedy decoding picks exactly that token.

    Why: ``generate``'s own sampling calls ``torch.multinomial``, which on CPU took ~40 ms for
    640 rows of a 3,072-token vocabulary (10 of the ~200 s of a ``cpu`` run); this takes ~3 ms.
    The distribution is the same: temperature only (no top-k, no top-p, whatever a checkpoint's
    ``generation_config`` says; the paper's base checkpoints set none). The random stream is not:
    sampled texts differ from those of ``torch.multinomial``. Uniforms come from the global
    generator, which :meth:`Agent.generate` seeds. On CPU, ``cumsum`` accumulates float32 in
    double, so a long tail of small probabilities keeps its mass; on GPU it adds in float32,
    which can lose that tail with a paper-size vocabulary, so there the sums are in float64.
    """

    def __init__(self, temperature: float) -> None:
        self.temperature = float(temperature)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        dtype = torch.float32 if scores.device.type == "cpu" else torch.float64
        cdf = torch.softmax(scores.to(dtype) / self.temperature, dim=-1).cumsum(-1)
        if not bool(torch.isfinite(cdf[:, -1]).all()):
            raise FloatingPointError("the model produced non-finite logits for a whole row; nothing can be sampled")
        u = torch.rand(cdf.shape[0], 1, device=cdf.device, dtype=dtype) * cdf[:, -1:]
        token = torch.searchsorted(cdf, u, right=True).clamp_(max=scores.shape[-1] - 1)
        return torch.full_like(scores, float("-inf")).scatter_(1, token, 0.0)


def _cut(text: str, kind: str) -> bool:
    """True when ``clean_completion`` would cut ``text`` (a stop line): later tokens cannot matter."""
    return truncate_at_stops(text, BODY_STOPS if kind == "body" else PROGRAM_STOPS) != text


@dataclass(frozen=True)
class TrainConfig:
    """Local-training hyperparameters (defaults: supplementary Table 1; profiles may change them)."""

    lr: float = 3e-5
    micro_batch: int = 8
    accumulate: int = 4           # 8 x 4 = the paper's effective batch of 32
    local_epochs: int = 1
    warmup: float = 0.02          # share of all local steps of the run with a linear warm-up
    max_len: int = 256            # tokens of prompt + completion kept (the prompt is cut on the left)
    total_rounds: int = 20        # for the warm-up schedule over the whole run


@dataclass(frozen=True)
class Example:
    """A tokenized (prompt, completion) pair; ``labels`` is -100 on the prompt."""

    input_ids: list[int]
    labels: list[int]


class Agent:
    """A client: LoRA model, tokenizer, private train/val problems, optimizer and history."""

    def __init__(self, client_id: str, family: str, model: Any, tokenizer: Any, train: Sequence[Problem],
                 val: Sequence[Problem], config: TrainConfig, seed: int, device: str = "cpu") -> None:
        self.id, self.family, self.model, self.tokenizer = client_id, family, model, tokenizer
        self.train_set, self.val_set, self.config, self.seed, self.device = tuple(train), tuple(val), config, seed, device
        params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=config.lr, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.0)
        # FP16 autocast on GPU needs loss scaling (small LoRA gradients underflow); a no-op on CPU
        self.scaler = torch.amp.GradScaler("cuda", enabled=device.startswith("cuda"))
        self.steps_done = 0
        self.stats = {"train_tokens": 0, "train_seconds": 0.0, "generated_tokens": 0, "generate_seconds": 0.0}
        self.rng = torch.Generator().manual_seed(seed)
        self._train_examples = [self.encode(p.prompt, p.reference) for p in self.train_set]

    # -- data ---------------------------------------------------------------------------------
    def encode(self, prompt: str, completion: str) -> Example:
        """Token ids of ``prompt + completion + EOS``, labels only on the completion."""
        tok = self.tokenizer
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        c = tok(completion, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        c = c[: self.config.max_len // 2] if len(c) > self.config.max_len // 2 else c
        p = p[-(self.config.max_len - len(c)):]
        return Example(p + c, [-100] * len(p) + c)

    def _collate(self, examples: Sequence[Example]) -> dict[str, torch.Tensor]:
        width = max(len(e.input_ids) for e in examples)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(examples), width), pad, dtype=torch.long)
        labels = torch.full((len(examples), width), -100, dtype=torch.long)
        mask = torch.zeros((len(examples), width), dtype=torch.long)
        for i, e in enumerate(examples):
            ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
            labels[i, : len(e.labels)] = torch.tensor(e.labels)
            mask[i, : len(e.input_ids)] = 1
        return {"input_ids": ids.to(self.device), "labels": labels.to(self.device), "attention_mask": mask.to(self.device)}

    def _batches(self, examples: Sequence[Example], shuffle: bool) -> list[list[Example]]:
        order = torch.randperm(len(examples), generator=self.rng).tolist() if shuffle else range(len(examples))
        items = [examples[i] for i in order]
        size = self.config.micro_batch
        return [items[i:i + size] for i in range(0, len(items), size)]

    # -- training -----------------------------------------------------------------------------
    def _lr_factor(self) -> float:
        per_round = math.ceil(math.ceil(len(self._train_examples) / self.config.micro_batch) / self.config.accumulate)
        warm = max(1, round(self.config.warmup * per_round * self.config.local_epochs * self.config.total_rounds))
        return min(1.0, (self.steps_done + 1) / warm)

    def _ce(self, batch: Sequence[Example]) -> torch.Tensor:
        """Mean cross-entropy of the completion tokens of ``batch`` (the causal-LM loss).

        The output layer runs only on the positions that predict a completion token: ~60 % of the
        tokens are prompt, whose logits the loss ignores, and on the ``cpu`` profile's bases the
        output layer (vocabulary x hidden) is about a third of the compute; a training step is
        ~15 % faster, and the loss is the model's own ``labels=`` loss up to float rounding
        (tests/test_fl_agent.py).
        """
        data = self._collate(batch)
        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.device.startswith("cuda")):
            hidden = base.get_decoder()(input_ids=data["input_ids"], attention_mask=data["attention_mask"]).last_hidden_state
            target = data["labels"][:, 1:]
            keep = target != -100
            logits = base.get_output_embeddings()(hidden[:, :-1][keep])
        return torch.nn.functional.cross_entropy(logits.float(), target[keep])

    def train_round(self, package: Sequence[tuple[str, str]] = (), alpha_kd: float = 0.0) -> float:
        """One round of local training, with AKD on ``package`` (prompt, teacher text) if given.

        Each local micro-batch is paired with ``k = ceil(distill batches / local batches)`` package
        micro-batches (cycling), so every epoch covers the whole package; the loss of a step is Eq. 2,
        ``(1 − α_KD)·CE(local) + α_KD·CE(package)``. Returns the mean local loss of the round.
        """
        clock = time.perf_counter()
        self.model.train()
        distill = self._batches([self.encode(p, t) for p, t in package], shuffle=True) if package else []
        losses, micro = [], 0
        for _ in range(self.config.local_epochs):
            local_batches = self._batches(self._train_examples, shuffle=True)
            k = math.ceil(len(distill) / len(local_batches)) if distill else 0
            for batch in local_batches:
                local = self._ce(batch)
                loss = local
                if distill:
                    kd_batches = [distill[(micro * k + i) % len(distill)] for i in range(k)]
                    kd = sum(self._ce(b) for b in kd_batches) / k
                    loss = (1.0 - alpha_kd) * local + alpha_kd * kd
                    self.stats["train_tokens"] += sum(len(e.input_ids) for b in kd_batches for e in b)
                self.scaler.scale(loss / self.config.accumulate).backward()
                losses.append(float(local.detach()))
                self.stats["train_tokens"] += sum(len(e.input_ids) for e in batch)
                micro += 1
                if micro % self.config.accumulate == 0:
                    self._step()
        if micro % self.config.accumulate:
            self._step(self.config.accumulate / (micro % self.config.accumulate))  # a full-weight last step
        self.model.eval()
        self.stats["train_seconds"] += time.perf_counter() - clock
        return sum(losses) / max(1, len(losses))

    def _step(self, grad_scale: float = 1.0) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr * self._lr_factor()
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.scaler.unscale_(self.optimizer)
        if grad_scale != 1.0:
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(grad_scale)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.steps_done += 1

    # -- measuring ----------------------------------------------------------------------------
    @torch.no_grad()
    def loss(self, problems: Sequence[Problem]) -> float:
        """Mean completion-token cross-entropy on the reference solutions of ``problems``."""
        self.model.eval()
        examples = [self.encode(p.prompt, p.reference) for p in problems]
        total, tokens = 0.0, 0
        for batch in self._batches(examples, shuffle=False):
            n = sum(sum(1 for x in e.labels if x != -100) for e in batch)
            total += float(self._ce(batch)) * n
            tokens += n
        return total / max(1, tokens)

    @torch.no_grad()
    def generate(self, problems: Sequence[Problem], max_new_tokens: int, temperature: float = 0.0,
                 samples: int = 1, seed: int = 0, batch_size: int = 64) -> list[list[str]]:
        """``samples`` cleaned completions per problem (greedy when ``temperature`` is 0)."""
        self.model.eval()
        clock = time.perf_counter()
        torch.manual_seed(seed)
        out: list[list[str]] = []
        with merged_lora(self.model, enabled=self.device == "cpu"):  # on GPU the weight copy costs memory
            for i in range(0, len(problems), batch_size):
                out.extend(self._generate_batch(problems[i:i + batch_size], max_new_tokens, temperature, samples))
        self.stats["generate_seconds"] += time.perf_counter() - clock
        return out

    def _generate_batch(self, chunk: Sequence[Problem], max_new_tokens: int, temperature: float,
                        samples: int) -> list[list[str]]:
        tok = self.tokenizer
        enc = tok([p.prompt for p in chunk], return_tensors="pt", padding=True, add_special_tokens=False)
        keep = self.config.max_len // 2 + self.config.max_len // 4
        ids, mask = (enc[k][:, -keep:].to(self.device) for k in ("input_ids", "attention_mask"))
        kinds = [completion_kind(p.source) for p in chunk for _ in range(samples)]
        cache = self._prefill(ids[:, :-1], mask[:, :-1], samples) if samples > 1 and ids.shape[1] > 1 else None
        new = self._decode(ids.repeat_interleave(samples, 0), mask.repeat_interleave(samples, 0), kinds,
                           max_new_tokens, temperature, DECODE_CHUNK, cache)
        self.stats["generated_tokens"] += sum(len(row) for row in new)
        texts = [clean_completion(t, k) for t, k in zip(tok.batch_decode(new, skip_special_tokens=True), kinds)]
        return [texts[j * samples:(j + 1) * samples] for j in range(len(chunk))]

    def _prefill(self, ids: torch.Tensor, mask: torch.Tensor, repeats: int) -> Any:
        """The KV cache of ``ids`` computed once per prompt, each row then repeated ``repeats`` times.

        ``ids`` are the prompts without their last token, so ``model.generate`` continues from the
        cache exactly as from its own prefill: the same position ids (transformers 5.x,
        ``GenerationMixin._prepare_position_ids_for_generation``: ``cumsum(mask) − 1``, 0 on the left
        padding; BLOOM takes none and derives ALiBi from the mask), the mask dropped when it is all
        ones, as ``generate`` does. No random numbers are drawn, so sampling stays as it was.
        """
        from transformers import DynamicCache

        model = self.model.get_base_model()
        extra = {}
        if "position_ids" in inspect.signature(model.forward).parameters:
            extra["position_ids"] = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
        cache = DynamicCache(config=model.config.get_text_config(decoder=True))
        model(input_ids=ids, attention_mask=None if bool(mask.all()) else mask, cache=cache, use_cache=True,
              logits_to_keep=1, **extra)
        cache.batch_repeat_interleave(repeats)
        return cache

    def _decode(self, ids: torch.Tensor, mask: torch.Tensor, kinds: Sequence[str], max_new_tokens: int,
                temperature: float, chunk: int, cache: Any = None) -> list[list[int]]:
        """New token ids per sequence, decoded ``chunk`` tokens at a time; after each chunk the
        sequences that are done (EOS, or a line that :func:`clean_completion` cuts at) leave the
        batch, their rows of the KV cache too, so finished completions stop costing compute.
        ``cache``, if given, holds all of ``ids`` but the last token (:meth:`_prefill`)."""
        from transformers import LogitsProcessorList

        tok, eos = self.tokenizer, self.tokenizer.eos_token_id
        kwargs = {"do_sample": False}
        if temperature > 0:  # sampled by the processor, picked by greedy decoding
            kwargs["logits_processor"] = LogitsProcessorList([InverseCdfSampler(temperature)])
        new: list[list[int]] = [[] for _ in range(len(ids))]
        active, left = list(range(len(ids))), max_new_tokens
        while active and left > 0:
            gen = self.model.generate(input_ids=ids, attention_mask=mask, cache=cache, max_new_tokens=min(chunk, left),
                                      pad_token_id=tok.pad_token_id, eos_token_id=eos, return_dict_in_generate=True, **kwargs)
            rows, left = gen.sequences[:, ids.shape[1]:].tolist(), left - min(chunk, left)
            keep = []
            for r, (j, row) in enumerate(zip(active, rows)):
                new[j] += row[: row.index(eos)] if eos in row else row
                if eos not in row and not _cut(tok.decode(new[j], skip_special_tokens=True), kinds[j]):
                    keep.append(r)
            if not keep or left == 0:
                break
            index = torch.tensor(keep, device=ids.device)
            gen.past_key_values.batch_select_indices(index)
            ids, cache, active = gen.sequences[index], gen.past_key_values, [active[r] for r in keep]
            mask = torch.cat([mask[index], torch.ones_like(ids[:, mask.shape[1]:])], 1)
        return new
